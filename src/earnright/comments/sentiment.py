"""Sentiment of customer comments: negative, neutral or positive, with a score in [-1, 1].

A small classifier head (multinomial logistic regression, numpy weights in ``model/head.npz``)
reads two blocks of features per comment, from the shipped static model
(:mod:`earnright.comments.embed`): the sum of all its tokens' vectors and the sum of the vectors of
tokens in a negated stretch (after "not", "no", "never", "n't" … up to the next punctuation or
"but"), both divided by the norm of the first. A mean of static vectors cannot tell "good" from
"not good"; the second block lets the head do so. A third block, six lexicon features
(:mod:`earnright.comments.lexicon`, VADER's valences with its negation, booster and "but" rules,
scaled by ``LEXICON_SCALE``), carries what reviews taught the vectors less well. It was
trained offline (``scripts/distil_head.py``) on public labelled reviews; see docs/comments.md for
the data, the held-out figures and the limits. The score is P(positive) − P(negative): a
positive label always has a positive score and a negative label a negative one. A text with no
words (blank, ``None``, only symbols the vocabulary lacks) is neutral with score 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from earnright.comments.embed import MAX_TOKENS, StaticModel, load_model
from earnright.comments.lexicon import LEXICON_FEATURES, lexicon_features

__all__ = ["LABELS", "Head", "Sentiment", "features", "load_head", "score"]

LABELS = ("negative", "neutral", "positive")
BATCH = 4096  # texts embedded at once: bounds memory on a million comments
# "don't" is split as don ' t
NEGATORS = frozenset(["not", "no", "never", "nothing", "nobody", "none", "neither", "nor",
                      "without", "hardly", "barely", "cannot", "t", "nt"])  # fmt: skip
SCOPE_ENDS = frozenset([*".,!?;:", "but", "however", "although", "though"])
LEXICON_SCALE = 3.0  # the lexicon block against the unit-norm vector blocks
# the head reads at least this many rows at once (zero rows pad a smaller batch): for a few rows
# OpenBLAS takes other float32 kernels, whose sums differ in the last bit, so a text's score
# would hang on how many texts came with it (labelling each distinct text once relies on this)
MIN_ROWS = 1024


@dataclass(frozen=True)
class Sentiment:
    """Per text: ``labels`` (negative / neutral / positive), ``scores`` in [-1, 1] and the class
    probabilities (columns in the order of :data:`LABELS`)."""

    labels: np.ndarray
    scores: np.ndarray
    probabilities: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels.tolist(), "scores": self.scores.tolist()}


@dataclass(frozen=True)
class Head:
    """Weights of the classifier head: probabilities = softmax(x @ weights + bias)."""

    weights: np.ndarray  # (dimension, 3)
    bias: np.ndarray  # (3,)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


def _token_ids(model: StaticModel, text: str | None) -> tuple[list[int], list[int]]:
    """A text's token ids, and those of them in a negated stretch."""
    if not text or not isinstance(text, str):
        return [], []
    ids: list[int] = []
    negated: list[int] = []
    scope = False
    for word in model.tokenizer.words(text):
        if word in SCOPE_ENDS:
            scope = False
        pieces = model.tokenizer.pieces(word)
        ids.extend(pieces)
        if scope:
            negated.extend(pieces)
        if word in NEGATORS:
            scope = True
        if len(ids) >= MAX_TOKENS:
            break
    return ids[:MAX_TOKENS], negated


def features(texts: Sequence[str | None]) -> np.ndarray:
    """The head's input: (len(texts), 2 × dimension + LEXICON_FEATURES) float32; zero for a
    text with no token."""
    model = load_model()
    d = model.vectors.shape[1]
    out = np.zeros((len(texts), 2 * d + LEXICON_FEATURES), dtype=np.float32)
    out[:, 2 * d :] = LEXICON_SCALE * lexicon_features(texts)
    for i, text in enumerate(texts):
        ids, negated = _token_ids(model, text)
        if not ids:
            continue
        total = model.vectors[ids].sum(axis=0)
        norm = float(np.linalg.norm(total)) or 1.0
        out[i, :d] = total / norm
        if negated:
            out[i, d : 2 * d] = model.vectors[negated].sum(axis=0) / norm
    return out


@lru_cache(maxsize=1)
def load_head() -> Head:
    """The shipped head, read on first use and cached."""
    path = resources.files("earnright.comments") / "model" / "head.npz"
    with path.open("rb") as handle, np.load(handle) as data:
        return Head(data["weights"].astype(np.float32), data["bias"].astype(np.float32))


def score(texts: Sequence[str | None]) -> Sentiment:
    """The sentiment of every text, in order."""
    texts = list(texts)
    head = load_head()
    probs = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    empty = np.zeros(len(texts), dtype=bool)
    for start in range(0, len(texts), BATCH):
        x = features(texts[start : start + BATCH])
        padded = x
        if len(x) < MIN_ROWS:
            padded = np.zeros((MIN_ROWS, x.shape[1]), dtype=x.dtype)
            padded[: len(x)] = x
        probs[start : start + len(x)] = head.probabilities(padded)[: len(x)]
        empty[start : start + len(x)] = ~x.any(axis=1)
    probs[empty] = (0.0, 1.0, 0.0)
    labels = np.asarray(LABELS, dtype=object)[probs.argmax(axis=1)]
    scores = np.clip(probs[:, 2] - probs[:, 0], -1.0, 1.0).astype(np.float64)
    return Sentiment(labels=labels, scores=scores, probabilities=probs)
