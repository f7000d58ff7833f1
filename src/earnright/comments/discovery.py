"""Discovery: themes the codeframe lacks, proposed from the comments that fit none of its themes.

The unthemed comments are embedded (:mod:`earnright.comments.embed`) and clustered by k-means on
the unit sphere (k-means++ starts, ``seed``), for every k from 2 to ``max_proposals``; the k whose
clustering has the highest mean silhouette (cosine distance, on a sample of at most 2,000
comments) is kept. A cluster becomes a *proposal* when it holds at least ``min_size`` comments
and is tight (its comments' mean cosine to their centre is at least ``min_cohesion``). Each
proposal is named by its typical words: the words (no stop words) most over-represented in it
against all unthemed comments, weighted by how many of its comments use them (a smoothed lift);
it comes with the comments nearest its centre (no two starting with the same sentence), for a
person to read and, if it is a real theme, add to the config's ``[[themes]]`` with a
description. Nothing is added by itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2

__all__ = ["STOP_WORDS", "Proposal", "discover_themes", "typical_words"]

_STOP_TEXT = """
    a about after again all also always am an and any are as at back be been before being but by
    came can come could day did do does doing don't even ever every for from get go going got had
    has have having he her here him his how i i'm if in into is it it's its just many me more most
    much my no not of on once one only or other our out over own really so some still such than
    that the their them then there these they this three time times to today too two under until
    up very was we went were what when where which while who why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[a-zà-ÿ][a-zà-ÿ'-]+")
SAMPLE = 2000  # comments the silhouette is measured on


@dataclass(frozen=True)
class Proposal:
    """A theme the codeframe may lack: its typical words, size and representative comments."""

    name: str
    words: list[str]
    size: int
    share: float  # of the unthemed comments
    cohesion: float  # mean cosine of its comments to their centre
    examples: list[str] = field(default_factory=list)
    members: list[int] = field(default_factory=list)  # indexes into the texts given

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "words": self.words,
            "size": self.size,
            "share": round(self.share, 4),
            "cohesion": round(self.cohesion, 4),
            "examples": self.examples,
        }


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 2}


def typical_words(members: Sequence[str], everyone: Sequence[str], top: int = 4) -> list[str]:
    """The words most typical of ``members`` against ``everyone``: document frequency in the
    group times the log of its smoothed lift over the whole."""
    inside = Counter(w for t in members for w in _words(t))
    overall = Counter(w for t in everyone for w in _words(t))
    n_in, n_all = max(len(members), 1), max(len(everyone), 1)
    scored = []
    for word, k in inside.items():
        if k < 2 and n_in > 3:
            continue
        lift = ((k + 0.5) / (n_in + 1)) / ((overall[word] + 0.5) / (n_all + 1))
        scored.append((k / n_in * np.log(max(lift, 1.0)), word))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [w for s, w in scored[:top] if s > 0]


def _silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette with cosine distance (rows of ``x`` are unit vectors)."""
    d = 1.0 - x @ x.T
    ks = np.unique(labels)
    if len(ks) < 2:
        return -1.0
    mean_to = np.stack([d[:, labels == k].mean(axis=1) for k in ks], axis=1)
    sizes = np.array([(labels == k).sum() for k in ks])
    own = np.searchsorted(ks, labels)
    rows = np.arange(len(x))
    a = mean_to[rows, own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    mean_to[rows, own] = np.inf
    b = mean_to.min(axis=1)
    s = np.where(sizes[own] > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def _cluster(x: np.ndarray, max_k: int, seed: int) -> np.ndarray:
    """Labels of the k-means clustering (k in 2..max_k) with the best silhouette."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x), size=min(len(x), SAMPLE), replace=False)
    best, best_labels = -2.0, np.zeros(len(x), dtype=np.int64)
    for k in range(2, max(2, min(max_k, len(x) - 1)) + 1):
        centres, _ = kmeans2(x.astype(np.float64), k, minit="++", seed=seed, iter=30)
        norms = np.linalg.norm(centres, axis=1, keepdims=True)
        labels = np.argmax(x @ (centres / np.maximum(norms, 1e-12)).T, axis=1)
        score = _silhouette(x[sample], labels[sample])
        if score > best:
            best, best_labels = score, labels
    return best_labels


def _distinct(texts: Sequence[str], limit: int) -> list[str]:
    """The first ``limit`` texts whose first sentence differs (no near-copies as examples)."""
    from earnright.comments.themes import sentences

    seen: set[str] = set()
    out = []
    for text in texts:
        first = (sentences(text) or [text])[0].lower()
        if first not in seen:
            seen.add(first)
            out.append(text)
        if len(out) == limit:
            break
    return out


def discover_themes(
    texts: Sequence[str | None],
    *,
    max_proposals: int = 8,
    min_size: int = 5,
    min_cohesion: float = 0.5,
    examples: int = 3,
    seed: int = 7,
) -> list[Proposal]:
    """Proposals of themes among ``texts`` (the comments that fit no theme), largest first."""
    from earnright.comments.embed import embed

    kept = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
    if len(kept) < max(2 * min_size, 4):
        return []
    x = np.asarray(embed([texts[i] for i in kept]), dtype=np.float32)
    nonzero = np.flatnonzero(x.any(axis=1))
    kept, x = [kept[i] for i in nonzero], x[nonzero]
    if len(kept) < max(2 * min_size, 4):
        return []
    labels = _cluster(x, max_proposals, seed)
    everyone = [str(texts[i]) for i in kept]
    out = []
    for k in np.unique(labels):
        idx = np.flatnonzero(labels == k)
        centre = x[idx].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        closeness = x[idx] @ centre
        cohesion = float(closeness.mean())
        if len(idx) < min_size or cohesion < min_cohesion:
            continue
        members = [everyone[i] for i in idx]
        words = typical_words(members, everyone)
        nearest = idx[np.argsort(-closeness, kind="stable")]
        shown = _distinct([everyone[i] for i in nearest], examples)
        out.append(
            Proposal(
                name=" / ".join(words[:3]) or f"group {k + 1}",
                words=words,
                size=len(idx),
                share=len(idx) / len(kept),
                cohesion=cohesion,
                examples=shown,
                members=[kept[i] for i in idx],
            )
        )
    return sorted(out, key=lambda p: (-p.size, p.name))
