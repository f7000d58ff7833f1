"""Sentiment of customer comments: negative, neutral or positive, with a score in [-1, 1].

A small classifier head (multinomial logistic regression, numpy weights in ``model/head.npz``)
reads the shipped static embedding of each comment (:mod:`earnright.comments.embed`). It was
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

from earnright.comments.embed import embed

__all__ = ["LABELS", "Head", "Sentiment", "load_head", "score"]

LABELS = ("negative", "neutral", "positive")
BATCH = 4096  # texts embedded at once: bounds memory on a million comments


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
        x = embed(texts[start : start + BATCH])
        probs[start : start + len(x)] = head.probabilities(x)
        empty[start : start + len(x)] = ~x.any(axis=1)
    probs[empty] = (0.0, 1.0, 0.0)
    labels = np.asarray(LABELS, dtype=object)[probs.argmax(axis=1)]
    scores = np.clip(probs[:, 2] - probs[:, 0], -1.0, 1.0).astype(np.float64)
    return Sentiment(labels=labels, scores=scores, probabilities=probs)
