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

from datetime import datetime
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from earnright.config import Config, Indicator
from earnright.reliability.episode import BASELINE, in_segments
from earnright.reliability.indicators import indicator_events
from earnright.reliability.localize import localize, parse_cause
from earnright.reliability.records import CAUSE_SEPARATOR
from earnright.warehouse import Warehouse

if TYPE_CHECKING:
    from earnright.reliability.leafcube import LeafCube

__all__ = ["COUNT_ALPHA", "leaf_dims", "leaf_sums", "localize_episode"]

COUNT_ALPHA = 0.01


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


def _expected(leaves: pd.DataFrame, real: str, base: str) -> tuple[pd.Series, pd.Series]:
    """Each leaf's ``real`` column and what its baseline rate predicts for its events."""
    overall = leaves[base].sum() / max(leaves.total_base.sum(), 1)
    return leaves[real], (leaves[base] / leaves.total_base).fillna(overall) * leaves.total


def _search(leaves: pd.DataFrame, real: str, base: str, dims: list[str]) -> list[tuple[str, float]]:
    """The causes (and their z) of the leaves' ``real`` against their baseline ``base`` rate."""
    frame = leaves.copy()
    frame["real"], frame["predict"] = _expected(frame, real, base)
    frame = frame.replace([np.inf, -np.inf], np.nan).dropna(subset=["real", "predict"])
    return [(c.cause, c.z) for c in localize(frame.fillna({d: "null" for d in dims}), dims)]


def _count_significant(leaves: pd.DataFrame, cause: str) -> bool:
    """Are the cause's bad events more than its leaves' baseline rate explains (Poisson)?"""
    hit = leaves[in_segments(leaves, [parse_cause(cause)])]
    bad, expected = _expected(hit, "bad", "bad_base")
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
    if any (see :func:`leaf_sums`); ``split``: :func:`leaf_dims`, when the caller holds it."""
    levels, metric_dims = split or leaf_dims(wh, config, indicator)
    if not levels and not metric_dims:
        return None
    leaves = leaf_sums(wh, config, indicator, metric_dims, window, cube)
    leaves = leaves.merge(ancestors, on="unit_id", how="left")
    for dim in metric_dims:
        leaves = leaves[leaves[dim] != "all"]
    dims = [*levels, *metric_dims]
    if indicator.measure == "threshold":  # a threshold indicator's total is its readings
        causes = _search(leaves, "value", "value_base", dims)
        worse_is_up = indicator.good_when == "below"
        return CAUSE_SEPARATOR.join(c for c, z in causes if (z > 0) == worse_is_up)
    leaves = leaves.assign(
        bad=leaves.total - leaves.good, bad_base=leaves.total_base - leaves.good_base
    )
    found = [c for c, z in _search(leaves, "bad", "bad_base", dims) if z > 0]
    if not found:
        good = _search(leaves, "good", "good_base", dims)
        found = [c for c, z in good if z < 0 and _count_significant(leaves, c)]
    return CAUSE_SEPARATOR.join(found)
