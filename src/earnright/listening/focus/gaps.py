"""Focus gaps: each unit's mean answer against its peers', with a Welch interval and a p-value.

A unit's peers are the other units under its nearest ancestor whose other units answered at least
min_n times, pooled over their answers. The gap's 95% Welch interval comes from both sides' n and
sd (the unit's variance moderated by ``SMOOTHING`` pseudo-answers at the peers' variance); a gap is
credible when it lies more than a margin below the peers: one-sided Welch t-tests of
``gap ≥ −margin``, Benjamini–Hochberg across the unit's drivers at 2.5%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from earnright.config import Config, Question
from earnright.errors import QueryError
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain
from earnright.stats import benjamini_hochberg
from earnright.units import unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "LEVEL",
    "MARGIN",
    "SMOOTHING",
    "Measured",
    "credible",
    "measure_gaps",
    "peer_groups",
]

MARGIN = 0.025  # of the scale's range (0.1 on 1-5): smaller gaps are not worth a store's focus
SMOOTHING = 5  # pseudo-answers at the peers' variance in a unit's variance
LEVEL = 0.95


def peer_groups(
    units: pd.DataFrame, levels: list[str], level: str, answered: pd.Series, min_n: int
) -> Any:
    """Each unit's peer group: its nearest ancestor above ``level`` whose other units at the level
    gave at least ``min_n`` survey responses (``answered``: responses per unit) in the window.

    Columns unit_id, peer_id, peer_level; the group is every unit under ``peer_id``.
    """
    above = levels[: levels.index(level)]
    if not above:
        raise QueryError(
            f"'{level}' is the top level: it has no peers to compare with", argument="level"
        )
    active = answered[answered > 0]
    chosen = pd.DataFrame({"peer_id": None, "peer_level": None}, index=active.index, dtype=object)
    for at in reversed(above):
        mapping = unit_ancestors(units, levels, at).astype(str).set_index("unit_id").ancestor_id
        group = mapping.reindex(active.index)
        others = active.groupby(group).transform("sum") - active  # numeric, even when empty
        free = chosen.peer_id.isna() & (others >= min_n)
        chosen.loc[free, "peer_id"], chosen.loc[free, "peer_level"] = group[free], at
    return chosen.rename_axis("unit_id").reset_index()


def _peer_sums(
    sums: pd.DataFrame, peers: pd.DataFrame, units: pd.DataFrame, levels: list[str]
) -> Any:
    """n, Σx, Σx² of each unit's peers (its peer group's active units but itself), per driver."""
    out = []
    for at, group in peers.dropna(subset=["peer_level"]).groupby("peer_level"):
        mapping = unit_ancestors(units, levels, str(at)).astype(str).set_index("unit_id")
        members = sums.assign(peer_id=sums.unit_id.map(mapping.ancestor_id))
        totals = members.groupby(["peer_id", "driver"], as_index=False)[["n", "s1", "s2"]].sum()
        mine = sums[sums.unit_id.isin(group.unit_id)].merge(group, on="unit_id")
        mine = mine.merge(totals, on=["peer_id", "driver"], suffixes=("", "_group"))
        for c in ("n", "s1", "s2"):
            mine[f"p{c}"] = mine[f"{c}_group"] - mine[c]
        out.append(mine.drop(columns=["n_group", "s1_group", "s2_group"]))
    if not out:
        return sums.assign(peer_id=None, peer_level=None, pn=0.0, ps1=0.0, ps2=0.0)
    return pd.concat(out, ignore_index=True)


def _window_sums(scorecard: pd.DataFrame, drivers: list[str]) -> pd.DataFrame:
    """n, Σx, Σx² per unit and driver over the window's periods (long format)."""
    parts = []
    for q in drivers:
        n = scorecard[f"{q}_n"].astype(float)
        mean, sd = scorecard[f"{q}_mean"].fillna(0.0), scorecard[f"{q}_sd"].fillna(0.0)
        parts.append(
            pd.DataFrame(
                {"unit_id": scorecard.unit_id, "driver": q, "n": n, "s1": n * mean}
            ).assign(s2=(n - 1).clip(lower=0) * sd**2 + n * mean**2)
        )
    return pd.concat(parts).groupby(["unit_id", "driver"], as_index=False).sum()


def _gaps(g: pd.DataFrame, margins: dict[str, float]) -> pd.DataFrame:
    """Per unit and driver: means, the Welch gap and interval, and the one-sided p of the margin."""
    pn = g.pn
    with np.errstate(invalid="ignore", divide="ignore"):
        mean, peer_mean = g.s1 / g.n, g.ps1 / pn
        peer_var = np.maximum(g.ps2 - pn * peer_mean**2, 0.0) / (pn - 1)
        ss = np.maximum(g.s2 - g.n * mean**2, 0.0)
        var = (ss + SMOOTHING * peer_var) / (g.n - 1 + SMOOTHING)
        a, b = var / g.n, peer_var / pn
        se = np.sqrt(a + b)
        dof = (a + b) ** 2 / (a**2 / (g.n - 1 + SMOOTHING) + b**2 / np.maximum(pn - 1, 1))
        dof = np.maximum(dof.fillna(1.0), 1.0)
        half = special.stdtrit(dof, 0.5 + LEVEL / 2) * se
        gap = mean - peer_mean
        p = special.stdtr(dof, (gap + g.driver.map(margins)) / se)
    return g.assign(
        mean=mean, sd=np.sqrt(ss / (g.n - 1)), peer_n=pn, peer_mean=peer_mean, gap=gap,
        gap_low=gap - half, gap_high=gap + half, p=p,
    )  # fmt: skip


def credible(gaps: pd.DataFrame, min_n: int, fdr: bool) -> pd.Series:
    """Gaps with n ≥ ``min_n`` on both sides credibly more than the margin below the peers."""
    tested = (gaps.n >= min_n) & (gaps.peer_n >= min_n) & gaps.p.notna()
    p = gaps.p.where(tested)
    if fdr:
        p = p.groupby(gaps.unit_id).transform(benjamini_hochberg)
    return tested & (p <= (1 - LEVEL) / 2)


def _margins(
    config: Config, drivers: list[str], margin: float | None
) -> tuple[dict[str, float], str]:
    questions = {q: config.question(q) or Question(id=q) for q in drivers}
    margins = {
        q: MARGIN * (x.max - x.min) if margin is None else margin for q, x in questions.items()
    }
    distinct = sorted(set(margins.values()))
    words = f"{distinct[0]:.2g} points" if len(distinct) == 1 else "2.5% of its scale"
    return margins, words


@dataclass(frozen=True)
class Measured:
    """The window's gaps (one row per unit and driver), totals and peer groups by unit."""

    gaps: pd.DataFrame  # per unit and driver: n, mean, sd, peer_n, peer_mean, gap, interval, p
    totals: pd.DataFrame  # n, promoters, detractors, responses per unit in the window
    peers: pd.Series  # unit -> peer group id
    margin: str  # the margin in words: "0.1 points"


def measure_gaps(
    view: Warehouse,
    config: Config,
    frame: pd.DataFrame,
    level: str,
    grain: Grain,
    margin: float | None,
) -> Measured:
    """The window's scorecard, the peer groups, and every unit's gaps with their p-values."""
    card = compute_scorecard(view, config, level=level, grain=grain)
    drivers = [c[: -len("_mean")] for c in card.columns if c.endswith("_mean")]
    if not drivers:
        raise QueryError("the feedback table has no driver questions to focus on")
    totals = card.groupby("unit_id")[["n", "promoters", "detractors", "responses"]].sum()
    totals.index = totals.index.astype(str)
    peers = peer_groups(frame, config.units.levels, level, totals.responses, config.listening.min_n)
    margins, words = _margins(config, drivers, margin)
    sums = _peer_sums(_window_sums(card, drivers), peers, frame, config.units.levels)
    return Measured(_gaps(sums, margins), totals, peers.set_index("unit_id").peer_id, words)
