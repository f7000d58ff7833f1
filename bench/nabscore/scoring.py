"""Scoring anomaly detectors the way the Numenta Anomaly Benchmark (NAB) does.

Implemented from NAB's public description (Lavin & Ahmad 2015; the method in
``shared/data/README.md``), for the part of the NAB corpus stored on this machine:

- every row gets a detector score in [0, 1]; a row is a *detection* when its score is at or
  above the threshold;
- inside a labelled window of ``w`` rows ending at row ``r``, only the earliest detection counts,
  and it earns ``A_TP · σ(y) / σ(−1)`` with ``y = −(r − i + 1) / w`` and the scaled sigmoid
  ``σ(y) = 2 / (1 + e^{5y}) − 1`` (``−1`` for ``y > 3``); a window without detection costs
  ``−A_FN``;
- a detection outside every window earns ``A_FP · σ(y)`` (negative) with
  ``y = |i − r_prev| / (w_prev − 1)`` measured from the previous window, or ``−A_FP`` before
  the first window;
- the first ``min(⌊0.15·n⌋, 750)`` rows of a file are a probation period and are not scored;
- per cost profile one threshold is chosen for the whole corpus, the one that maximises the
  profile's total; the total is normalised as ``100 · (S − S_null) / (S_perfect − S_null)``.

Everything here works on aggregates of whole files (numpy), never row by row in Python.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "CostProfile",
    "FileScore",
    "LabelledSeries",
    "NabReport",
    "ProfileScore",
    "load_corpus",
    "load_profiles",
    "null_scores",
    "perfect_scores",
    "probation_length",
    "scaled_sigmoid",
    "score_at",
    "score_corpus",
    "score_file",
    "sweep_thresholds",
    "windowed_gaussian_scores",
]

PROBATION_PERCENT = 0.15
PROBATION_CAP = 750
OUTSIDE = -1


@dataclass(frozen=True)
class CostProfile:
    """One NAB application profile: the weights of a true positive, false positive, miss."""

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


@dataclass(frozen=True)
class LabelledSeries:
    """One NAB data file: its values and its anomaly windows as inclusive row ranges."""

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    windows: tuple[tuple[int, int], ...]

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass(frozen=True)
class FileScore:
    """A file's raw score at a threshold, with its detections counted."""

    name: str
    group: str
    raw: float
    windows: int
    detected: int
    false_positives: int


@dataclass(frozen=True)
class ProfileScore:
    """A detector's result on one cost profile over the corpus."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float
    windows: int
    detected: int
    false_positives: int
    groups: dict[str, float | None]
    files: list[FileScore] = field(default_factory=list)


@dataclass(frozen=True)
class NabReport:
    """A detector's NAB result on every profile; ``to_dict`` is JSON-ready."""

    files: int
    rows: int
    profiles: list[ProfileScore]

    def score(self, profile: str) -> float:
        return next(p.score for p in self.profiles if p.profile == profile)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scaled_sigmoid(y: np.ndarray | float) -> np.ndarray:
    """NAB's ``σ(y) = 2 / (1 + e^{5y}) − 1``, and ``−1`` beyond ``y > 3``."""
    y = np.asarray(y, dtype=float)
    sig = 2.0 / (1.0 + np.exp(np.minimum(5.0 * y, 700.0))) - 1.0
    return np.where(y > 3.0, -1.0, sig)


def probation_length(n: int) -> int:
    """Rows at the start of an ``n``-row file that are not scored: ``min(⌊0.15 n⌋, 750)``."""
    return int(min(math.floor(PROBATION_PERCENT * n), PROBATION_CAP))


def _row_weights(
    n: int, windows: Sequence[tuple[int, int]], profile: CostProfile
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: what a detection there earns, and its window number (``OUTSIDE`` if none)."""
    idx = np.arange(n, dtype=float)
    window_id = np.full(n, OUTSIDE, dtype=np.int64)
    pos = np.full(n, 3.5)  # before the first window: y > 3, σ = −1
    inside = np.zeros(n, dtype=bool)
    for k, (left, right) in enumerate(windows):
        width = right - left + 1
        sl = slice(left, right + 1)
        window_id[sl] = k
        inside[sl] = True
        pos[sl] = -(right - idx[sl] + 1) / width
        after = slice(right + 1, windows[k + 1][0] if k + 1 < len(windows) else n)
        pos[after] = np.abs(idx[after] - right) / max(width - 1, 1)
    sig = scaled_sigmoid(pos)
    max_tp = float(scaled_sigmoid(-1.0))
    weight = np.where(inside, profile.tp_weight * sig / max_tp, profile.fp_weight * sig)
    return weight, window_id


def _scorable(series: LabelledSeries, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    n = len(series.values)
    if len(scores) != n:
        raise ValueError(f"{series.name}: {len(scores)} scores for {n} rows")
    return np.arange(probation_length(n), n), np.asarray(scores, dtype=float)


def score_file(
    series: LabelledSeries, scores: np.ndarray, profile: CostProfile, threshold: float
) -> FileScore:
    """A file's raw NAB score when rows with ``score >= threshold`` are detections."""
    rows, scores = _scorable(series, scores)
    weight, window_id = _row_weights(len(series.values), series.windows, profile)
    hit = rows[scores[rows] >= threshold]
    outside = hit[window_id[hit] == OUTSIDE]
    raw = float(weight[outside].sum())
    scored = set(window_id[rows].tolist()) - {OUTSIDE}
    detected = 0
    for k in sorted(scored):
        in_k = hit[window_id[hit] == k]
        if len(in_k):
            raw += float(weight[in_k.min()])  # the earliest detection earns the most
            detected += 1
        else:
            raw -= profile.fn_weight
    return FileScore(series.name, series.group, raw, len(scored), detected, len(outside))


def sweep_thresholds(
    corpus: Sequence[LabelledSeries],
    scores: Mapping[str, np.ndarray],
    profile: CostProfile,
) -> tuple[np.ndarray, np.ndarray]:
    """The corpus total at every distinct threshold, highest threshold first.

    The first entry (threshold ``1.1``) detects nothing. Returns ``(thresholds, totals)``.
    """
    parts_s, parts_w, parts_id = [], [], []
    offset, n_windows = 0, 0
    for series in corpus:
        rows, s = _scorable(series, scores[series.name])
        weight, window_id = _row_weights(len(series.values), series.windows, profile)
        ids = window_id[rows]
        n_windows += len(set(ids.tolist()) - {OUTSIDE})
        parts_s.append(s[rows])
        parts_w.append(weight[rows])
        parts_id.append(np.where(ids == OUTSIDE, OUTSIDE, ids + offset))
        offset += len(series.windows)
    s, w, wid = (np.concatenate(p) for p in (parts_s, parts_w, parts_id))
    order = np.argsort(-s, kind="stable")
    s, w, wid = s[order], w[order], wid[order]
    delta = np.where(wid == OUTSIDE, w, 0.0)
    inside = wid != OUTSIDE
    if inside.any():
        best = pd.Series(w[inside]).groupby(wid[inside]).cummax().to_numpy()
        before = pd.Series(best).groupby(wid[inside]).shift(1).to_numpy()
        before = np.where(np.isnan(before), -profile.fn_weight, before)
        delta[inside] = best - before
    totals = -profile.fn_weight * n_windows + np.cumsum(delta)
    last_of_tie = np.r_[s[1:] != s[:-1], True]
    thresholds = np.r_[1.1, s[last_of_tie]]
    return thresholds, np.r_[-profile.fn_weight * n_windows, totals[last_of_tie]]


def score_corpus(
    corpus: Sequence[LabelledSeries],
    scores: Mapping[str, np.ndarray],
    profiles: Iterable[CostProfile],
) -> NabReport:
    """Optimise each profile's threshold over the corpus, then score and normalise."""
    results = []
    for profile in profiles:
        thresholds, totals = sweep_thresholds(corpus, scores, profile)
        k = int(np.argmax(totals))  # the first maximum: the highest of equal thresholds
        results.append(score_at(corpus, scores, profile, float(thresholds[k])))
    rows = sum(len(x.values) for x in corpus)
    return NabReport(files=len(corpus), rows=rows, profiles=results)


def score_at(
    corpus: Sequence[LabelledSeries],
    scores: Mapping[str, np.ndarray],
    profile: CostProfile,
    threshold: float,
) -> ProfileScore:
    """The profile's normalised score at a given threshold (not optimised on these files)."""
    files = [score_file(x, scores[x.name], profile, threshold) for x in corpus]
    null = [score_file(x, null_scores(x), profile, 0.5) for x in corpus]
    perfect = [score_file(x, perfect_scores(x), profile, 0.5) for x in corpus]
    return _profile_score(profile, threshold, files, null, perfect)


def _normalised(raw: float, null: float, perfect: float) -> float | None:
    return None if perfect == null else 100.0 * (raw - null) / (perfect - null)


def _profile_score(
    profile: CostProfile,
    threshold: float,
    files: list[FileScore],
    null: list[FileScore],
    perfect: list[FileScore],
) -> ProfileScore:
    groups: dict[str, float | None] = {}
    for group in sorted({f.group for f in files}):
        pick = [i for i, f in enumerate(files) if f.group == group]
        groups[group] = _normalised(
            sum(files[i].raw for i in pick),
            sum(null[i].raw for i in pick),
            sum(perfect[i].raw for i in pick),
        )
    raw, s_null, s_perfect = (sum(f.raw for f in fs) for fs in (files, null, perfect))
    return ProfileScore(
        profile=profile.name,
        threshold=threshold,
        raw=raw,
        null=s_null,
        perfect=s_perfect,
        score=_normalised(raw, s_null, s_perfect) or 0.0,
        windows=sum(f.windows for f in files),
        detected=sum(f.detected for f in files),
        false_positives=sum(f.false_positives for f in files),
        groups=groups,
        files=files,
    )


def null_scores(series: LabelledSeries) -> np.ndarray:
    """The null detector: it reports nothing (all zeros)."""
    return np.zeros(len(series.values))


def perfect_scores(series: LabelledSeries) -> np.ndarray:
    """The perfect detector: one detection at the left edge of every window."""
    out = np.zeros(len(series.values))
    for left, _ in series.windows:
        out[left] = 1.0
    return out


def windowed_gaussian_scores(values: np.ndarray, window: int = 1000) -> np.ndarray:
    """NAB's "windowed Gaussian" baseline, restated: streaming, causal, vectorised.

    Each row is scored against the mean and (population) standard deviation of the up to
    ``window`` rows before it (a zero deviation counts as 1e-6): the score is
    ``1 − Q(|z|) = 1 − erfc(|z| / 1.4142) / 2``, two-sided, 0.5 at the mean. The first row
    scores 0. This matches the scores in NAB's published result files for the baseline (full
    corpus: 39.6 standard, at an optimised threshold of 1.0, that is, only the rows whose score
    rounds to exactly 1.0 in double precision).
    """
    x = np.asarray(values, dtype=float)
    mean, std = np.zeros(len(x)), np.ones(len(x))
    head = min(window, len(x))
    if head > 1:  # the window fills up: moments of x[:i], centred for accuracy
        c = x[:head] - x[0]
        count = np.arange(1, head)
        m = np.cumsum(c)[:-1] / count
        var = np.maximum(np.cumsum(c * c)[:-1] / count - m * m, 0.0)
        mean[1:head], std[1:head] = m + x[0], np.sqrt(var)
    if len(x) > window:
        views = np.lib.stride_tricks.sliding_window_view(x[:-1], window)
        for start in range(0, len(views), 2048):  # chunks keep the temporaries small
            block = views[start : start + 2048]
            rows = slice(window + start, window + start + len(block))
            mean[rows], std[rows] = block.mean(axis=1), block.std(axis=1)
    std = np.where(std == 0.0, 1e-6, std)
    out = 1.0 - 0.5 * special.erfc(np.abs(x - mean) / std / 1.4142)
    out[0] = 0.0
    return out


def load_profiles(path: Path) -> list[CostProfile]:
    """NAB's ``config/profiles.json``: one CostProfile per application profile."""
    data = json.loads(Path(path).read_text())
    return [
        CostProfile(
            name=name,
            tp_weight=float(spec["CostMatrix"]["tpWeight"]),
            fp_weight=float(spec["CostMatrix"]["fpWeight"]),
            fn_weight=float(spec["CostMatrix"]["fnWeight"]),
        )
        for name, spec in data.items()
    ]


def load_corpus(root: Path) -> list[LabelledSeries]:
    """The files of ``root/data`` that have labels in ``root/labels/combined_windows.json``.

    Windows are mapped to rows by timestamp (the window runs from the first row whose time is
    inside it to the last such row; NAB's files are in time order but for one late stretch).
    Files listed in the labels but absent on disk are left out: only the files present are
    scored.
    """
    root = Path(root)
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    corpus = []
    for name in sorted(labels):
        path = root / "data" / name
        if not path.is_file():
            continue
        frame = pd.read_csv(path)
        stamps = pd.to_datetime(frame["timestamp"]).to_numpy()
        windows = []
        for start, end in labels[name]:  # by mask: a file's times may go back (late rows)
            inside = (stamps >= np.datetime64(pd.Timestamp(start))) & (
                stamps <= np.datetime64(pd.Timestamp(end))
            )
            rows = np.flatnonzero(inside)
            windows.append((int(rows[0]), int(rows[-1])))
        values = frame["value"].to_numpy(dtype=float)
        corpus.append(LabelledSeries(name, stamps, values, tuple(windows)))
    return corpus
