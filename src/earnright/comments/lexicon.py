"""Lexicon features of a comment's sentiment, beside the static model's vectors.

Words carry a valence from VADER's lexicon (Hutto and Gilbert, ICWSM 2014, MIT License; shipped
as ``model/lexicon.tsv``, token and mean valence). As VADER does: a valence is flipped and damped
(× −0.74) when one of the three words before it negates, raised by a booster ("very",
"really" …) just before it, and halved before a "but" and raised by half after it. Six features
per text: the normalised sum (s / √(s² + 15), VADER's compound), the positive and negative shares
of the valence, the share of words that carry one, an exclamation mark, and the sum per word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["LEXICON_FEATURES", "lexicon_features"]

LEXICON_FEATURES = 6
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
NEGATORS = frozenset(["not", "no", "never", "nothing", "nobody", "none", "neither", "nor",
                      "without", "hardly", "barely", "cannot", "cant", "aint"])  # fmt: skip
BOOST = 0.293  # VADER's booster increment
BOOSTERS = dict.fromkeys(
    ["very", "really", "so", "extremely", "absolutely", "too", "totally", "incredibly", "super"],
    BOOST,
) | {"quite": 0.1}
NEGATED = -0.74


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    path = resources.files("earnright.comments") / "model" / "lexicon.tsv"
    pairs = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines())
    return {word: float(value) for word, value in pairs}


def _negates(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def _valences(words: list[str]) -> list[float]:
    lexicon = _lexicon()
    found: list[tuple[int, float]] = []
    for j, word in enumerate(words):
        value = lexicon.get(word)
        if value is None:
            continue
        if j and words[j - 1] in BOOSTERS:
            value += math.copysign(BOOSTERS[words[j - 1]], value)
        if any(_negates(w) for w in words[max(0, j - 3) : j]):
            value *= NEGATED
        found.append((j, value))
    if "but" in words:
        turn = words.index("but")
        found = [(j, v * (0.5 if j < turn else 1.5)) for j, v in found]
    return [v for _, v in found]


def lexicon_features(texts: Sequence[str | None]) -> np.ndarray:
    """(len(texts), LEXICON_FEATURES) float32 (module doc); zero for a text with no word."""
    out = np.zeros((len(texts), LEXICON_FEATURES), dtype=np.float32)
    for i, text in enumerate(texts):
        if not text or not isinstance(text, str):
            continue
        words = WORD.findall(text.lower())
        if not words:
            continue
        values = _valences(words)
        total = sum(values)
        positive = sum(v for v in values if v > 0)
        negative = sum(v for v in values if v < 0)
        spread = positive - negative + 1.0
        out[i] = (total / math.sqrt(total * total + 15), positive / spread, negative / spread,
                  len(values) / len(words), "!" in text, total / len(words))  # fmt: skip
    return out
