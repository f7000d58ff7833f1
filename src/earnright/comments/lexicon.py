"""Lexicon features of a comment's sentiment, beside the static model's vectors.

Words carry a valence from VADER's lexicon (Hutto and Gilbert, ICWSM 2014, MIT License; shipped
as ``model/lexicon.tsv``, token and mean valence). As VADER does: a valence is flipped and damped
(× −0.74) when one of the three words before it negates, raised by a booster ("very",
"really" …) just before it, and halved before a "but" and raised by half after it. "no" keeps its
own (negative) valence only as an answer, last in its clause ("No."); before a word it is a
determiner whose only effect is to negate what follows: "no queue", "no problems" (VADER drops it
only before a word of its lexicon, so "no queue" read negative). Six features
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

__all__ = ["LEXICON_FEATURES", "lexicon_features", "word_valences"]

LEXICON_FEATURES = 6
TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,!?;:]")
NEGATORS = frozenset(["not", "no", "never", "nothing", "nobody", "none", "neither", "nor",
                      "without", "hardly", "barely", "cannot", "cant", "aint"])  # fmt: skip
BOOST = 0.293  # VADER's booster increment
BOOSTERS = dict.fromkeys(
    ["very", "really", "so", "extremely", "absolutely", "too", "totally", "incredibly", "super"],
    BOOST,
) | {"quite": 0.1}
NEGATED = -0.74


@lru_cache(maxsize=1)
def word_valences() -> dict[str, float]:
    """VADER's lexicon as shipped: word (or emoticon) → mean valence, read once."""
    path = resources.files("earnright.comments") / "model" / "lexicon.tsv"
    pairs = (line.split("\t") for line in path.read_text(encoding="utf-8").splitlines())
    return {word: float(value) for word, value in pairs}


def _negates(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def _determiners(tokens: list[str]) -> set[int]:
    """Positions (among the words) of a "no" followed by a word in its clause."""
    out, j = set(), -1
    for i, token in enumerate(tokens):
        if not token[0].isalpha():
            continue
        j += 1
        if token == "no" and i + 1 < len(tokens) and tokens[i + 1][0].isalpha():
            out.add(j)
    return out


def _valences(words: list[str], determiners: set[int]) -> list[float]:
    lexicon = word_valences()
    found: list[tuple[int, float]] = []
    for j, word in enumerate(words):
        value = lexicon.get(word)
        if value is None or j in determiners:
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
        tokens = TOKEN.findall(text.lower())
        words = [t for t in tokens if t[0].isalpha()]
        if not words:
            continue
        values = _valences(words, _determiners(tokens))
        total = sum(values)
        positive = sum(v for v in values if v > 0)
        negative = sum(v for v in values if v < 0)
        spread = positive - negative + 1.0
        out[i] = (total / math.sqrt(total * total + 15), positive / spread, negative / spread,
                  len(values) / len(words), "!" in text, total / len(words))  # fmt: skip
    return out
