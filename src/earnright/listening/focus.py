"""Focus: the few things each store should fix, with the gap, its worth in NPS and the evidence.

For every unit at a level (stores by default), over a trailing window of periods ending with
``period`` (by default three months), and every driver question:

1. **Gap** — the unit's mean answer minus its peers' (the other units under its nearest ancestor
   whose other units answered at least min_n times, pooled over their answers), with a 95% Welch
   interval from both sides' n and sd. Statistics come from one ``compute_scorecard`` over the
   window (a view of the warehouse restricted to it).
2. **Credible** — n ≥ ``config.listening.min_n`` on both sides and the gap credibly more than a
   ``margin`` below the peers: one-sided Welch t-tests of ``gap ≥ −margin``, Benjamini–Hochberg
   across the unit's drivers at 2.5% (with one driver: the 95% interval lies below −margin).
3. **Worth** — one ``compute_drivers`` fit at the unit's level (shrunk toward its parent) gives
   the driver's importance and standardized beta; ``beta × sd(ltr) / sd(driver)`` is the slope
   in ltr points per answer point; closing the gap moves ltr by slope × gap, the latent score by
   that ÷ (1 − share of 10s) (a top-coded outcome's slope is attenuated by that share), and the
   unit's own ltr distribution (a smooth monotone reading of its answers) turns that shift into
   NPS points (``nps_after_shift``). The fit covers ``importance_window`` periods (a year).
4. **Evidence** — up to ``comments`` comments per item from the unit's responses that scored the
   driver at or below the scale's midpoint and mention its theme (keywords from the question's
   label and a small synonym list) more than any other driver's; one filtered, limited query.

docs/focus.md explains the choices and the precision measured against the demo's planted truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from scipy import special

from earnright.config import Config, Question
from earnright.errors import QueryError
from earnright.listening.drivers import compute_drivers
from earnright.listening.scorecard import compute_scorecard, latest_period
from earnright.periods import Grain, choose_period, parse_period, period_label
from earnright.stats import benjamini_hochberg
from earnright.units import (
    attach_ancestors,
    pick_level,
    read_units,
    unit_ancestors,
    unit_placements,
)
from earnright.warehouse import Warehouse

__all__ = [
    "FRAME_COLUMNS",
    "SYNONYMS",
    "FocusComment",
    "FocusItem",
    "FocusList",
    "MomentRef",
    "compute_focus",
    "driver_keywords",
    "focus_frame",
    "nps_after_shift",
    "peer_groups",
    "smooth_cdf",
]

WINDOW = {Grain.month: 3, Grain.week: 13, Grain.quarter: 1}  # the last quarter, at any grain
IMPORTANCE_WINDOW = {Grain.month: 12, Grain.week: 52, Grain.quarter: 4}  # the last year
MARGIN = 0.025  # of the scale's range (0.1 on 1-5): smaller gaps are not worth a store's focus
SMOOTHING = 5  # pseudo-answers at the peers' variance in a unit's variance
LEVEL = 0.95
MIN_UNCEILED = 0.1  # the share of answers below 10 used at most to undo the ceiling

# Themes customers use for common driver questions. A question's label selects every group one
# of whose words shares its stem with a label word; the group's words then join the label's.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("staff", "employee", "team", "colleague", "cashier", "assistant", "pharmacist", "friendly",
     "unfriendly", "rude", "helpful", "help", "dismissive", "ignored", "advice", "welcome"),
    ("wait", "queue", "line", "till", "checkout", "slow", "quick", "fast", "pay", "paying"),
    ("stock", "shelf", "shelves", "product", "brand", "range", "missing", "empty", "run out",
     "out of", "available"),
    ("prescription", "pharmacy", "medication", "medicine", "refill", "repeat", "dispensed"),
    ("clean", "dirty", "tidy", "untidy", "messy", "filthy", "spotless", "sticky", "toilet",
     "bins", "dust", "neglected", "cluttered"),
    ("app", "online", "website", "order", "crash", "login", "log in", "error", "buggy", "froze",
     "click and collect"),
    ("price", "expensive", "cheap", "cost", "value", "offer", "discount"),
    ("parking", "park", "car park", "access", "entrance"),
    ("delivery", "deliver", "courier", "parcel", "late", "arrived"),
)  # fmt: skip
STOPWORDS = frozenset((
    "a", "an", "and", "are", "at", "be", "by", "for", "from", "how", "i", "in", "is", "it", "me",
    "my", "of", "on", "or", "our", "the", "their", "this", "to", "was", "were", "what", "when",
    "with", "you", "your", "overall", "store", "shop", "time", "experience", "quality",
))  # fmt: skip
SUFFIXES = ("liness", "iness", "ness", "ings", "ing", "ers", "ed", "ly", "es", "s")


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class MomentRef(_Result):
    """A journey moment that asks the driver: its id, name and owning team."""

    id: str
    name: str
    owner: str


class FocusComment(_Result):
    """A customer's comment on the driver: the response, when, the driver answer and ltr."""

    response_id: str
    responded_at: str
    answer: float
    ltr: float | None
    text: str


class FocusItem(_Result):
    """One thing to fix: a driver the unit is credibly behind its peers on, and its worth.

    ``gap`` = unit mean − peer mean (answer points; negative is behind) with a 95% Welch interval;
    ``importance`` the driver's share of the explained variance of ltr at the unit (LMG share);
    ``slope`` ltr points per answer point; ``expected_nps_gain`` NPS points if the gap closed.
    """

    driver: str
    label: str
    moments: list[MomentRef]
    owner: str
    gap: float
    gap_low: float
    gap_high: float
    store_mean: float
    peer_mean: float
    n: int
    peer_n: int
    p_value: float
    importance: float | None
    slope: float | None
    expected_nps_gain: float | None
    comments: list[FocusComment]
    sentence: str


class FocusList(_Result):
    """What one unit should focus on in a window; ``message`` says why when ``items`` is empty."""

    unit_id: str
    name: str | None
    level: str
    period: str
    window_start: str
    window_end: str
    peer_id: str | None
    peer_name: str | None
    n: int
    nps: float | None
    items: list[FocusItem]
    message: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything a page or a report needs to show the list."""
        return self.model_dump(mode="json")


# -- the window --------------------------------------------------------------------------------
def _window(wh: Warehouse, start: datetime, end: datetime) -> Warehouse:
    """The warehouse seen through [start, end): feedback and invitations of the window only."""

    def within(column: str) -> Callable[[ir.Table], ir.Table]:
        return lambda t: t.filter((t[column] >= start) & (t[column] < end))

    return wh.view({"feedback": within("responded_at"), "invitations": within("sent_at")})


@dataclass(frozen=True)
class _Span:
    period: str
    first: str
    start: datetime
    end: datetime


def _span(wh: Warehouse, grain: Grain, period: str | None, window: int) -> _Span:
    period = period or latest_period(wh, grain)
    start, end = parse_period(period, grain)
    if grain is Grain.week:
        first_start = pd.Timestamp(start) - pd.Timedelta(weeks=window - 1)
    else:
        months = (window - 1) * (3 if grain is Grain.quarter else 1)
        first_start = pd.Timestamp(start) - pd.DateOffset(months=months)
    first = str(period_label(pd.Series([first_start]), grain).iloc[0])
    return _Span(period, first, first_start.to_pydatetime(), end)


# -- gaps ----------------------------------------------------------------------------------------
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


def _credible(gaps: pd.DataFrame, min_n: int, fdr: bool) -> pd.Series:
    tested = (gaps.n >= min_n) & (gaps.peer_n >= min_n) & gaps.p.notna()
    p = gaps.p.where(tested)
    if fdr:
        p = p.groupby(gaps.unit_id).transform(benjamini_hochberg)
    return tested & (p <= (1 - LEVEL) / 2)


# -- worth ---------------------------------------------------------------------------------------
def _ltr_counts(view: Warehouse, config: Config, units: pd.DataFrame, level: str) -> pd.DataFrame:
    """Survey answers to the NPS question per unit and value 0..10 (one scan of the window)."""
    question = config.question_of_kind("nps")
    if question is None or question.id not in view.open_columns("feedback"):
        return pd.DataFrame(columns=range(11), dtype=float)
    fb = view.table("feedback")
    fb = fb.filter((fb.channel == "survey") & fb[question.id].notnull())
    ancestors = unit_ancestors(unit_placements(view), config.units.levels, level)
    fb = attach_ancestors(fb, ancestors, "responded_at")
    counts = fb.group_by(["ancestor_id", fb[question.id].cast("int64").name("value")]).aggregate(
        count=fb.count()
    )
    frame = counts.to_pyarrow().to_pandas().astype({"ancestor_id": str})
    if frame.empty:
        return pd.DataFrame(columns=range(11), dtype=float)
    table = frame.pivot_table(index="ancestor_id", columns="value", values="count", aggfunc="sum")
    return table.reindex(columns=range(11)).fillna(0.0)


def smooth_cdf(share: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(latent < x) per row: the cumulative shares at 0..11 joined by PCHIP (Fritsch–Carlson).

    Unit spacing, scipy's ``PchipInterpolator`` end conditions; one ``x`` per row of ``share``.
    """
    knots = np.concatenate([np.zeros((len(share), 1)), np.cumsum(share, axis=1)], axis=1)
    d = np.zeros_like(knots)
    left, right = share[:, :-1], share[:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        d[:, 1:-1] = np.where((left > 0) & (right > 0), 2.0 / (1.0 / left + 1.0 / right), 0.0)
    for end, (a, b) in ((0, (share[:, 0], share[:, 1])), (-1, (share[:, -1], share[:, -2]))):
        edge = np.where(np.sign((3 * a - b) / 2) != np.sign(a), 0.0, (3 * a - b) / 2)
        d[:, end] = np.where(
            (np.sign(a) != np.sign(b)) & (np.abs(edge) > 3 * np.abs(a)), 3 * a, edge
        )
    x = np.clip(x, 0.0, 11.0)
    k = np.minimum(np.floor(x), 10).astype(np.int64)[:, None]
    t = x - k[:, 0]
    f0, f1 = (np.take_along_axis(knots, i, axis=1)[:, 0] for i in (k, k + 1))
    d0, d1 = (np.take_along_axis(d, i, axis=1)[:, 0] for i in (k, k + 1))
    return (
        (2 * t**3 - 3 * t**2 + 1) * f0
        + (t**3 - 2 * t**2 + t) * d0
        + (3 * t**2 - 2 * t**3) * f1
        + (t**3 - t**2) * d1
    )


def nps_after_shift(counts: ArrayLike, shift: ArrayLike) -> NDArray[np.float64] | np.float64:
    """NPS points after moving every answer's latent score up by ``shift`` ltr points (≥ 0).

    ``counts`` (n, 11) or (11,) are the answers 0..10, ``shift`` one per row. The answers are read
    as a latent score with answer k on [k, k+1) (10 for every score from 10 up, as in ltr =
    floor(latent) clipped to 0..10) and a smooth, monotone distribution function through the
    cumulative shares (PCHIP); after the shift promoters are latent ≥ 9, detractors < 7.
    """
    rows = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    s = np.atleast_1d(np.asarray(shift, dtype=np.float64))
    size = max(len(rows), len(s))
    rows, s = np.broadcast_to(rows, (size, 11)), np.broadcast_to(s, (size,))
    share = rows / np.maximum(rows.sum(axis=1, keepdims=True), 1.0)
    nps = 100.0 * (1.0 - smooth_cdf(share, 9.0 - s) - smooth_cdf(share, 7.0 - s))
    nps = np.where(share.sum(axis=1) > 0, nps, np.nan)
    return nps if np.ndim(shift) or np.ndim(counts) > 1 else np.float64(nps[0])


def _worth(gaps: pd.DataFrame, imp: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """importance, slope (ltr per answer point) and expected NPS gain of closing each gap."""
    g = gaps.merge(imp, on=["unit_id", "driver"], how="left")
    hist = counts.reindex(g.unit_id).fillna(0.0).to_numpy()
    n = hist.sum(axis=1)
    k = np.arange(11.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (hist * k).sum(axis=1) / n
        sd_ltr = np.sqrt(np.maximum((hist * k**2).sum(axis=1) / n - mean**2, 0.0) * n / (n - 1))
        slope = np.clip(g.beta.to_numpy(float), 0.0, None) * sd_ltr / g.sd.to_numpy(float)
        uncapped = np.maximum(1.0 - hist[:, 10] / n, MIN_UNCEILED)
    shift = slope * np.clip(-g.gap.to_numpy(float), 0.0, None) / uncapped
    gain = nps_after_shift(hist, np.nan_to_num(shift)) - nps_after_shift(hist, np.zeros(len(g)))
    ok = np.isfinite(shift) & (n >= 2)
    return g.assign(slope=np.where(ok, slope, np.nan), gain=np.where(ok, gain, np.nan))


def _importance(view: Warehouse, config: Config, level: str, unit: str | None, seed: int) -> Any:
    """Each unit's drivers of the nps question: LMG share and standardized beta (shrunk fit)."""
    columns = ["unit_id", "driver", "importance", "beta"]
    nps = config.question_of_kind("nps")
    if nps is None or nps.id not in view.open_columns("feedback"):
        return pd.DataFrame(columns=columns)
    fits = compute_drivers(view, config, level=level, unit=unit, bootstrap=0, seed=seed)
    rows = [(r.unit_id, d.driver, d.share, d.beta) for r in fits for d in r.drivers]
    return pd.DataFrame(rows, columns=columns)


# -- evidence ------------------------------------------------------------------------------------
def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def driver_keywords(question: Question) -> list[str]:
    """Words and phrases that put a comment on the question's theme (lower case).

    The content words of the label (stemmed), plus every ``SYNONYMS`` group one of whose words
    shares a stem of 3+ letters with a label word. Matching is by word start (see ``_mentions``).
    """
    text = (question.label or question.id.removeprefix("q_")).lower()
    words = "".join(c if c.isalnum() else " " for c in text).split()
    stems = [_stem(w) for w in words if w not in STOPWORDS and len(w) >= 3]
    found = list(dict.fromkeys(stems))
    for group in SYNONYMS:
        if any(
            _stem(term).startswith(s) or s.startswith(_stem(term)) for term in group for s in stems
        ):
            found += [term for term in group if term not in found]
    return found


def _mentions(text: ir.StringValue, keywords: list[str]) -> ir.IntegerValue:
    """How many of ``keywords`` the text holds (lower case, words between single spaces).

    Words of four letters or more match as word starts (``wait`` matches ``waited``); shorter
    ones as whole words or plurals (``app`` matches ``apps``, not ``happy``).
    """
    hits: ir.IntegerValue = ibis.literal(0)
    for word in keywords:
        if len(word) >= 4 or " " in word:
            found = text.contains(f" {word}")
        else:
            found = text.contains(f" {word} ") | text.contains(f" {word}s ")
        hits = hits + found.cast("int32").cast("int64")  # PostgreSQL: bool -> int4 only
    return hits


def _keywords(config: Config, columns: list[str]) -> dict[str, list[str]]:
    questions = [config.question(c) for c in columns]
    return {q.id: driver_keywords(q) for q in questions if q is not None and q.kind == "driver"}


def _candidates(view: Warehouse, config: Config, wanted: pd.DataFrame, ancestors: Any) -> Any:
    """Survey responses with a comment that scored a wanted (unit, driver) at most midway."""
    nps, present = config.question_of_kind("nps"), view.open_columns("feedback")
    fb = view.table("feedback")
    fb = fb.filter((fb.channel == "survey") & fb.comment.notnull())
    fb = attach_ancestors(fb, ancestors, "responded_at")
    ltr = fb[nps.id].cast("float64") if nps and nps.id in present else ibis.null("float64")
    parts = []
    for q, units in wanted.groupby("driver").unit_id:
        question = config.question(str(q)) or Question(id=str(q))
        low = fb.ancestor_id.isin(list(units)) & (fb[q] <= (question.min + question.max) / 2)
        parts.append(
            fb.filter(low).select(
                unit_id=fb.ancestor_id, driver=ibis.literal(str(q)), response_id=fb.response_id,
                responded_at=fb.responded_at, answer=fb[q].cast("float64"), ltr=ltr,
                comment=fb.comment,
            )
        )  # fmt: skip
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _comments(
    view: Warehouse, config: Config, wanted: pd.DataFrame, ancestors: pd.DataFrame, limit: int
) -> pd.DataFrame:
    """Up to ``limit`` comments per (unit, driver) in ``wanted``: one filtered, limited query.

    A comment qualifies when it mentions the driver's theme more often than any other driver's;
    the clearest (most mentions beyond the runner-up), then lowest answer and ltr come first.
    """
    columns = ["unit_id", "driver", "response_id", "responded_at", "answer", "ltr", "comment"]
    if wanted.empty or limit <= 0:
        return pd.DataFrame(columns=columns)
    keywords = _keywords(config, view.open_columns("feedback"))
    t = _candidates(view, config, wanted, ancestors)
    t = t.mutate(_text=" " + t.comment.lower().re_replace("[[:punct:][:space:]]+", " ") + " ")
    t = t.mutate(**{f"_hit_{q}": _mentions(t._text, k) for q, k in keywords.items()})
    own, rival = [], []
    for q in wanted.driver.unique():
        others = [t[f"_hit_{r}"] for r in keywords if r != q] or [ibis.literal(0)]
        own.append((t.driver == q, t[f"_hit_{q}"]))
        rival.append((t.driver == q, ibis.greatest(*others) if len(others) > 1 else others[0]))
    t = t.mutate(_own=ibis.cases(*own, else_=0), _rival=ibis.cases(*rival, else_=0))
    t = t.filter((t._own >= 1) & (t._own > t._rival)).mutate(score=t._own - t._rival)
    order = [ibis.desc("score"), "answer", "ltr", ibis.desc("responded_at"), "response_id"]
    t = t.mutate(_rank=ibis.row_number().over(group_by=["unit_id", "driver"], order_by=order))
    picked = t.filter(t._rank < limit).order_by(["unit_id", "driver", "_rank"])
    return picked.select(*columns).to_pyarrow().to_pandas()


# -- words -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    """What every list of one call shares."""

    level: str
    span: str  # "2026-07 to 2026-09"
    margin: str  # "0.1 points"
    min_n: int
    names: dict[str, str]
    method: str


def _moments(config: Config, driver: str) -> tuple[list[MomentRef], str]:
    """The moments that ask ``driver`` and its owner: the team most of them name (first wins)."""
    moments = [
        MomentRef(id=m.id, name=m.name, owner=m.owner)
        for s in config.journey.stages
        for m in s.moments
        if driver in m.questions
    ]
    owners = Counter(m.owner for m in moments if m.owner)
    return moments, owners.most_common(1)[0][0] if owners else ""


def _sentence(row: dict[Any, Any], label: str, owner: str, where: str) -> str:
    gain = row["gain"]
    worth = (
        "its effect on recommendation could not be estimated"
        if not np.isfinite(gain)
        else "closing that gap is worth less than one NPS point"
        if gain < 0.5
        else f"closing that gap is worth about +{gain:.0f} NPS points"
    )
    return (
        f"Customers rate “{label}” {abs(row['gap']):.1f} points below {where} (n={row['n']:.0f}); "
        f"{worth}. Owner: {owner or 'no team named in the journey'}."
    )


def _message(ctx: _Context, items: int, credible: int, n: float, where: str) -> str:
    if items:
        more = f" ({credible} credible, the {items} most valuable)" if credible > items else ""
        return f"{items} thing{'s' if items > 1 else ''} to focus on in {ctx.span}{more}."
    if n < ctx.min_n:
        return f"Too few answers to say what to fix: {n:.0f} in {ctx.span}, fewer than {ctx.min_n}."
    if not where:
        return f"No similar {ctx.level}s with answers in {ctx.span} to compare with."
    return (
        f"Nothing credible to fix: no driver is credibly more than {ctx.margin} below {where} "
        f"in {ctx.span} (n={n:.0f})."
    )


def _comment(c: dict[Any, Any]) -> FocusComment:
    return FocusComment(
        response_id=str(c["response_id"]),
        responded_at=pd.Timestamp(c["responded_at"]).isoformat(),
        answer=float(c["answer"]),
        ltr=_num(c["ltr"]),
        text=str(c["comment"]),
    )


def _items(rows: pd.DataFrame, said: pd.DataFrame, config: Config, where: str) -> list[FocusItem]:
    items = []
    for row in rows.to_dict("records"):
        driver = str(row["driver"])
        question = config.question(driver)
        label = question.label if question is not None and question.label else driver
        moments, owner = _moments(config, driver)
        notes = said[said.driver == driver].to_dict("records")
        items.append(
            FocusItem(
                driver=driver, label=label, moments=moments, owner=owner, gap=row["gap"],
                gap_low=row["gap_low"], gap_high=row["gap_high"], store_mean=row["mean"],
                peer_mean=row["peer_mean"], n=int(row["n"]), peer_n=int(row["peer_n"]),
                p_value=row["p"], importance=_num(row["importance"]), slope=_num(row["slope"]),
                expected_nps_gain=_num(row["gain"]), comments=[_comment(c) for c in notes],
                sentence=_sentence(row, label, owner, where),
            )
        )  # fmt: skip
    return items


def _num(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class _Found:
    """What one call measured, by unit."""

    period: str
    first: str
    totals: pd.DataFrame  # n, promoters, detractors, responses per unit in the window
    peers: pd.Series  # unit -> peer group id
    picked: dict[str, pd.DataFrame]  # unit -> its items' rows, most valuable first
    said: dict[str, pd.DataFrame]  # unit -> its items' comments
    credible: pd.Series  # unit -> credible gaps before the top


def _list(ctx: _Context, unit: str, found: _Found, config: Config) -> FocusList:
    """One unit's list."""
    totals, peer = found.totals, found.peers.get(unit)
    peer = peer if isinstance(peer, str) else None
    n = float(totals.n.get(unit, 0))
    where = f"similar {ctx.level}s in {ctx.names.get(peer, peer)}" if peer else ""
    rows = found.picked.get(unit, pd.DataFrame(columns=["driver"]))
    said = found.said.get(unit, pd.DataFrame(columns=["driver"]))
    nps = 100.0 * (totals.promoters[unit] - totals.detractors[unit]) / n if n > 0 else None
    return FocusList(
        unit_id=unit, name=ctx.names.get(unit), level=ctx.level, period=found.period,
        window_start=found.first, window_end=found.period, peer_id=peer,
        peer_name=ctx.names.get(peer) if peer else None, n=int(n), nps=nps,
        items=_items(rows, said, config, where),
        message=_message(ctx, len(rows), int(found.credible.get(unit, 0)), n, where),
        method=ctx.method,
    )  # fmt: skip


# -- the entry point -----------------------------------------------------------------------------
def _rank(worth: pd.DataFrame, top: int) -> pd.DataFrame:
    ordered = worth.assign(_gain=worth.gain.fillna(-np.inf)).sort_values(
        ["unit_id", "_gain", "gap"], ascending=[True, False, True]
    )
    return ordered.groupby("unit_id").head(top).drop(columns="_gain")


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


def _measure(
    view: Warehouse,
    config: Config,
    frame: pd.DataFrame,
    level: str,
    grain: Grain,
    margin: float | None,
) -> Any:
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
    return _gaps(sums, margins), totals, peers.set_index("unit_id").peer_id, words


def compute_focus(
    wh: Warehouse,
    config: Config,
    *,
    unit: str | None = None,
    level: str | None = None,
    grain: Grain = Grain.month,
    period: str | None = None,
    window: int | None = None,
    importance_window: int | None = None,
    top: int = 3,
    margin: float | None = None,
    fdr: bool = True,
    comments: int = 3,
    seed: int = 0,
) -> list[FocusList]:
    """The few things each unit at ``level`` (default: the lowest), or only ``unit``, should fix.

    Gaps are measured over the ``window`` periods of ``grain`` ending with ``period`` (default:
    the latest complete period, ``earnright.periods.choose_period``; QueryError for a period
    without data; window default: three months, 13 weeks or one quarter), driver importance over
    ``importance_window`` periods (default: a year). ``margin`` (answer points; default 2.5% of
    each scale's range) is the smallest gap worth focus; ``fdr`` adjusts across a unit's
    drivers; at most ``top`` items, ``comments`` comments each.
    """
    if top < 1 or comments < 0 or min(window or 1, importance_window or 1) < 1:
        raise QueryError(
            "top, window and importance window are at least 1 (periods or items), comments 0"
        )
    grain = Grain(grain)
    frame = read_units(wh)
    level = pick_level(frame, config.units.levels, level, unit, default=config.units.levels[-1])
    period = choose_period(wh, grain, period).label  # QueryError for a period without data
    span = _span(wh, grain, period, window or WINDOW[grain])
    view = _window(wh, span.start, span.end)
    gaps, totals, peers, words = _measure(view, config, frame, level, grain, margin)
    gaps = gaps.assign(credible=_credible(gaps, config.listening.min_n, fdr))
    found = gaps[gaps.credible & ((gaps.unit_id == unit) if unit else True)]
    worth = found.assign(importance=np.nan, beta=np.nan, slope=np.nan, gain=np.nan)
    if not found.empty:
        long = _span(wh, grain, span.period, importance_window or IMPORTANCE_WINDOW[grain])
        importance = _importance(_window(wh, long.start, long.end), config, level, unit, seed)
        worth = _worth(found, importance, _ltr_counts(view, config, frame, level))
    picked = _rank(worth, top)
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    ancestors = ancestors[ancestors.ancestor_id.isin(set(picked.unit_id))]
    said = _comments(view, config, picked[["unit_id", "driver"]], ancestors, comments)
    spoken = span.period if span.first == span.period else f"{span.first} to {span.period}"
    names = dict(zip(frame.unit_id, frame.name.astype(str), strict=True))
    method = _method(spoken, words, fdr, level, importance_window or IMPORTANCE_WINDOW[grain])
    ctx = _Context(level, spoken, words, config.listening.min_n, names, method)
    by_unit = _Found(
        span.period, span.first, totals, peers, {str(u): f for u, f in picked.groupby("unit_id")},
        {str(u): f for u, f in said.groupby("unit_id")}, found.unit_id.value_counts(),
    )  # fmt: skip
    wanted = [unit] if unit else sorted(frame.unit_id[frame.level == level])
    return [_list(ctx, u, by_unit, config) for u in wanted]


def _method(span: str, margin: str, fdr: bool, level: str, periods: int) -> str:
    adjust = "Benjamini–Hochberg across the unit's drivers" if fdr else "no multiplicity adjustment"
    return (
        f"Gap to the other {level}s of the peer group over {span} with a 95% Welch interval; "
        f"listed when credibly more than {margin} behind (one-sided t-test at 2.5%, {adjust}, "
        f"n ≥ min_n on both sides); worth from the {level}'s key-driver fit over the last "
        f"{periods} periods (shrunk toward its parent) and its own ltr answers; most valuable "
        "first."
    )


FRAME_COLUMNS = [
    "unit_id", "name", "period", "window_start", "item", "driver", "label", "owner", "gap",
    "gap_low", "gap_high", "store_mean", "peer_mean", "n", "peer_n", "importance", "slope",
    "expected_nps_gain", "comments", "sentence", "message",
]  # fmt: skip


def focus_frame(lists: list[FocusList]) -> pd.DataFrame:
    """One row per item (``comments`` is their count), one row per unit without items (its
    item columns empty); for tables and CSV."""
    rows = []
    for f in lists:
        head = {"unit_id": f.unit_id, "name": f.name, "period": f.period}
        head |= {"window_start": f.window_start, "message": f.message}
        rows += [
            head
            | {"item": i}
            | item.model_dump(exclude={"moments", "comments", "p_value"})
            | {"comments": len(item.comments)}
            for i, item in enumerate(f.items, start=1)
        ] or [head]
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    return frame.astype({c: "Int64" for c in ("item", "n", "peer_n", "comments")})
