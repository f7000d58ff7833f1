"""Which customers an incident hurts: its indicator's leaves localised over the episode.

The leaves are unit × metric dimensions, each with its events in the episode and its level over
the ``BASELINE`` before (:func:`leaf_sums`); :func:`localize_episode` has
:func:`earnright.reliability.localize.localize` search them for the segments behind the change.

Count-based (events) indicators are searched twice when they must be. Their bad events are the
signal, but a leaf has only a few of them a day, so a several-fold jump at one store (0.5% → 7%
of a few hundred checkouts) is lost in the relative noise of every other leaf's 0-3 bad events,
and the search names nothing: the candidate was then dismissed as a chronic miss. When the bad
events name nothing, the good events are searched: a failure cuts the good share of every leaf
under it by about the same relative amount (the ripple effect the search assumes) and the good
counts are large, so the relative noise is small. Each cause found that way must also pass a
count test on its own bad events — Poisson, against the leaves' baseline rate, at
``COUNT_ALPHA`` over the leaves (Bonferroni) — so one leaf's unlucky day is no cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config, Indicator
from earnright.reliability.episode import BASELINE
from earnright.reliability.indicators import indicator_events
from earnright.reliability.leafcube import Coding
from earnright.reliability.localize import MISSING, dimension_codes, localize_codes, parse_cause
from earnright.reliability.records import CAUSE_SEPARATOR
from earnright.warehouse import Warehouse

if TYPE_CHECKING:
    from earnright.reliability.leafcube import LeafCube

__all__ = ["COUNT_ALPHA", "leaf_dims", "leaf_sums", "localize_episode"]

COUNT_ALPHA = 0.01
NAMES = ("value", "good", "total", "value_base", "good_base", "total_base")


def leaf_dims(wh: Warehouse, config: Config, indicator: Indicator) -> tuple[list[str], list[str]]:
    """The indicator's dimensions split into unit levels and metric dimension columns."""
    metric_dims = set(wh.open_columns("metrics"))
    levels = [d for d in indicator.dimensions if d in config.units.levels]
    return levels, [d for d in indicator.dimensions if d in metric_dims]


def leaf_sums(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    dims: list[str],
    window: tuple[datetime, datetime],
    cube: LeafCube | None = None,
) -> pd.DataFrame:
    """Per leaf (unit × metric dimensions) with events in ``window``: value sum, good and total
    events there (``value, good, total``) and over the ``BASELINE`` before it (``*_base``),
    from one engine scan (or from ``cube``, the pass's leaves in memory, when it covers them)."""
    if cube is not None and (held := cube.leaf_sums(window, BASELINE)) is not None:
        return held
    start, end = window
    ev = indicator_events(wh, indicator, config.reliability.step, (start - BASELINE, end))
    now = ev.observed_at >= start
    sums = {}
    for name, col in (("value", ev._vsum), ("good", ev._good), ("total", ev._total)):
        sums[name] = ibis.ifelse(now, col, 0.0).sum()
        sums[f"{name}_base"] = ibis.ifelse(now, 0.0, col).sum()
    leaves = ev.group_by(["unit_id", *dims]).aggregate(**sums).execute()
    return leaves[leaves.total > 0]


@dataclass
class _Leaves:
    """An episode's leaves as arrays: ``sums`` per name (``value``, ``good``, ``total``, their
    ``*_base``; ``bad`` and ``bad_base`` too after :meth:`with_bad`) one value per leaf, and
    each localisation dimension's codes per leaf (into its sorted labels)."""

    sums: dict[str, np.ndarray]
    coding: Coding
    dims: list[str]

    @classmethod
    def of_frame(cls, leaves: pd.DataFrame, dims: list[str]) -> _Leaves:
        sums = {name: leaves[name].to_numpy(float, na_value=np.nan) for name in NAMES}
        coded = [dimension_codes(leaves[d].fillna(MISSING)) for d in dims]
        coding = Coding(np.arange(len(leaves)), [c for c, _ in coded], [x for _, x in coded])
        return cls(sums, coding, dims)

    @classmethod
    def of_cube(
        cls, cube: LeafCube, dims: list[str], window: tuple[datetime, datetime]
    ) -> _Leaves | None:
        """The cube's usable leaves with events in ``window``, in its order (what
        :func:`leaf_sums` returns from it, less the leaves a metric dimension does not apply
        to), or None when the cube does not cover the window."""
        held = cube.window_sums(window, BASELINE)
        if held is None:
            return None
        coding = cube.coding(dims)
        keep = np.flatnonzero(held["total"][coding.rows] > 0)
        rows = coding.rows[keep]
        codes, labels = coding.subset(keep)
        subset = Coding(np.arange(len(rows)), codes, labels)
        return cls({name: held[name][rows] for name in NAMES}, subset, dims)

    def with_bad(self) -> _Leaves:
        bad = {"bad": self.sums["total"] - self.sums["good"]}
        bad["bad_base"] = self.sums["total_base"] - self.sums["good_base"]
        return _Leaves(self.sums | bad, self.coding, self.dims)

    def __len__(self) -> int:
        return len(self.sums["total"])

    def expected(
        self, real: str, base: str, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each leaf's ``real`` and what its baseline rate predicts for its events (the overall
        rate where a leaf had no baseline events); of ``rows`` only, if given."""
        pick = slice(None) if rows is None else rows
        sums = {name: self.sums[name][pick] for name in (real, base, "total", "total_base")}
        overall = np.nansum(sums[base]) / max(np.nansum(sums["total_base"]), 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = sums[base] / sums["total_base"]
        return sums[real], np.where(np.isnan(rate), overall, rate) * sums["total"]

    def members(self, cause: str) -> np.ndarray:
        """The leaves (indices) in ``cause``."""
        hit = np.ones(len(self), dtype=bool)
        for dim, value in parse_cause(cause).items():
            j = self.dims.index(dim)
            labels = self.coding.labels[j]
            hit &= self.coding.codes[j] == (labels.index(value) if value in labels else -1)
        return np.flatnonzero(hit)


def _search(leaves: _Leaves, real: str, base: str) -> list[tuple[str, float]]:
    """The causes (and their z) of the leaves' ``real`` against their baseline ``base`` rate
    (leaves without a finite value or prediction left out)."""
    v, f = leaves.expected(real, base)
    keep = np.flatnonzero(np.isfinite(v) & np.isfinite(f))
    coded = leaves.coding.subset(keep)
    return [(c.cause, c.z) for c in localize_codes(coded, (v[keep], f[keep]), leaves.dims)]


def _count_significant(leaves: _Leaves, cause: str) -> bool:
    """Are the cause's bad events more than its leaves' baseline rate explains (Poisson)?"""
    bad, expected = leaves.expected("bad", "bad_base", leaves.members(cause))
    k, mu = float(bad.sum()), max(float(expected.sum()), 1e-9)
    return bool(stats.poisson.sf(k - 1, mu) < COUNT_ALPHA / max(len(leaves), 1))


def localize_episode(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    window: tuple[datetime, datetime],
    ancestors: pd.DataFrame,
    cube: LeafCube | None = None,
    split: tuple[list[str], list[str]] | None = None,
) -> str | None:
    """The root causes of the indicator in ``window`` ("" when every leaf moved alike, or none
    departed), or None when there is nothing to search. ``cube``: the pass's leaves in memory,
    if any (their coding is shared by every window); ``split``: :func:`leaf_dims`, when the
    caller holds it."""
    levels, metric_dims = split or leaf_dims(wh, config, indicator)
    if not levels and not metric_dims:
        return None
    dims = [*levels, *metric_dims]
    held = _Leaves.of_cube(cube, dims, window) if cube is not None else None
    if held is None:
        frame = leaf_sums(wh, config, indicator, metric_dims, window)
        frame = frame.merge(ancestors, on="unit_id", how="left")
        for dim in metric_dims:
            frame = frame[frame[dim] != "all"]
        held = _Leaves.of_frame(frame, dims)
    if indicator.measure == "threshold":  # a threshold indicator's total is its readings
        causes = _search(held, "value", "value_base")
        worse_is_up = indicator.good_when == "below"
        return CAUSE_SEPARATOR.join(c for c, z in causes if (z > 0) == worse_is_up)
    leaves = held.with_bad()
    found = [c for c, z in _search(leaves, "bad", "bad_base") if z > 0]
    if not found:
        good = _search(leaves, "good", "good_base")
        found = [c for c, z in good if z < 0 and _count_significant(leaves, c)]
    return CAUSE_SEPARATOR.join(found)
