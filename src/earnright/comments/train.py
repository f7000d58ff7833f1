"""Training and measuring a sentiment head on embeddings: used offline by scripts/distil_head.py
and by bench/comments.py (which trains the same kind of head on another model's embeddings).

The head is a multinomial logistic regression with an L2 penalty, each class weighted by the
inverse of its frequency (so a rare neutral class counts as much as the others), fitted by L-BFGS.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from earnright.comments.labelled import read_service
from earnright.comments.lexicon import word_valences
from earnright.comments.sentiment import LABELS, Head, features

__all__ = [
    "NEGATION_WEIGHT", "fit_head", "macro_f1", "negation_examples", "predict", "spearman",
    "training_extras",
]  # fmt: skip

NEGATION_WEIGHT = 0.3  # a negation example's weight in training against a labelled text's
STRONG = 1.5  # the least |valence| of a lexicon word made into negation examples


def _loss(
    params: np.ndarray, x: np.ndarray, onehot: np.ndarray, w: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    d, k = x.shape[1], onehot.shape[1]
    weights, bias = params[: d * k].reshape(d, k), params[d * k :]
    logits = x @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = -(w * (onehot * log_p).sum(axis=1)).sum() + 0.5 * l2 * (weights**2).sum()
    residual = (np.exp(log_p) - onehot) * w[:, None]
    grad_w = x.T @ residual + l2 * weights
    return float(loss), np.concatenate([grad_w.ravel(), residual.sum(axis=0)])


def fit_head(
    x: np.ndarray,
    labels: Sequence[str],
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
) -> Head:
    """A head fitted on embeddings ``x`` and their labels (negative / neutral / positive).

    Classes absent from ``labels`` get a bias that keeps them improbable. ``sample_weight``
    (default 1 each) scales a row's weight in the loss; classes are balanced over the weights."""
    y = np.asarray([LABELS.index(label) for label in labels])
    x = np.asarray(x, dtype=np.float64)
    onehot = np.eye(len(LABELS))[y]
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    counts = (onehot * sw[:, None]).sum(axis=0)
    present = counts > 0
    per_class = np.where(present, sw.sum() / (present.sum() * np.maximum(counts, 1e-12)), 0.0)
    w = per_class[y] * sw
    start = np.zeros(x.shape[1] * len(LABELS) + len(LABELS))
    fit = optimize.minimize(_loss, start, args=(x, onehot, w, l2), jac=True, method="L-BFGS-B",
                            options={"maxiter": 2000})  # fmt: skip
    d = x.shape[1]
    weights = fit.x[: d * len(LABELS)].reshape(d, len(LABELS))
    bias = fit.x[d * len(LABELS) :]
    bias[~present] = -30.0
    return Head(weights.astype(np.float32), bias.astype(np.float32))


def predict(head: Head, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores (P(positive) − P(negative)) of embeddings under ``head``."""
    p = head.probabilities(np.asarray(x, dtype=np.float32))
    return np.asarray(LABELS, dtype=object)[p.argmax(axis=1)], p[:, 2] - p[:, 0]


def macro_f1(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> float:
    """The mean over ``classes`` of each class's F1 (0 for a class never predicted nor true)."""
    t, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    f1 = []
    for c in classes:
        tp = float(np.sum((t == c) & (p == c)))
        denominator = float(np.sum(t == c) + np.sum(p == c))
        f1.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(f1))


def spearman(scores: Sequence[float], stars: Sequence[float]) -> float:
    """Spearman's rank correlation of scores with star ratings (ties get mean ranks)."""
    return float(stats.spearmanr(scores, stars).statistic)


def negation_examples(strong: float = STRONG) -> tuple[list[str], list[str]]:
    """Short training texts made from the shipped lexicon's words of |valence| ≥ ``strong``:
    the word alone in its own tone, and negated in the other ("no problems", "no problems at
    all" positive; "not helpful", "never helpful" negative).

    Reviews negate mostly to complain, so a head trained on them alone learns that a negated
    stretch is negative whatever it negates, and reads "no problems at all" as a complaint;
    these examples teach it that negating a negative word is praise. Used with a small weight
    (``NEGATION_WEIGHT``) beside the labelled texts."""
    texts: list[str] = []
    labels: list[str] = []
    for word, value in sorted(word_valences().items()):
        if abs(value) < strong or not re.fullmatch(r"[a-z]+", word):
            continue
        tone, flipped = ("positive", "negative") if value > 0 else ("negative", "positive")
        negated = ("not {w}", "never {w}") if value > 0 else ("no {w}", "no {w} at all")
        texts += [word, *(t.format(w=word) for t in negated)]
        labels += [tone, flipped, flipped]
    return texts, labels


def training_extras(service: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and weights of what the head trains on beside the public sets: the
    tuning half of our service comments at ``service`` (weight 1; the held-out half never) and
    the lexicon's negation examples (weight ``NEGATION_WEIGHT``)."""
    rows = read_service(service)
    rows = rows[~rows.held_out]
    texts, labels = negation_examples()
    x = features([*rows.text, *texts])
    weights = np.r_[np.ones(len(rows)), np.full(len(texts), NEGATION_WEIGHT)]
    return x, np.asarray([*rows.label, *labels], dtype=object), weights
