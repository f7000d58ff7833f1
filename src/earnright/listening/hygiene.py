"""Survey hygiene: evidence that a unit's answers may have been solicited or manipulated.

Three signals, each a one-sided test per unit in one period with a p-value, a Benjamini–Hochberg
q-value across the units tested and a plain sentence of evidence. A flag is evidence to look at,
never a finding: every signal has innocent explanations (docs/hygiene.md).

- ``top_box``: more 10s than the unit's history, its respondents and the typical unit's change
  predict. Each answer's chance of a 10 is standardised on its stratum (the respondent's mean
  driver answer × comment tone; rates pooled over every unit's history), so a real improvement,
  which lifts drivers and comments too, raises the expected count with the observed one. z of
  the change in log-odds(observed) − log-odds(expected) from history to now, beyond the typical
  unit's change.
- ``quick_response``: the share of survey responses given within ``quick_minutes`` of the
  customer's latest invitation or purchase at the unit (an as-of join in the engine) is far
  above the peers' share: Fisher's exact test, and a share at least ``min_ratio`` × the peers'.
- ``rate_jump``: response rate and NPS both rose from history to now beyond the typical unit's
  change: two z-tests (log-odds of responding; NPS with its multinomial variance) joined by the
  intersection–union test, p = max(p_rate, p_nps).

The typical change is a weighted median over the units tested, so the few units sought do not
shift it. z-statistics are divided by √λ, the genomic-control factor
(Devlin & Roeder 1999): λ = max(1, median z² ÷ 0.455) over at least 10 units tested.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from earnright.config import Config, Question
from earnright.errors import QueryError
from earnright.periods import Grain, choose_period, parse_period, period_label, truncate
from earnright.stats import benjamini_hochberg
from earnright.units import attach_ancestors, read_units, unit_ancestors, unit_placements
from earnright.warehouse import Warehouse

__all__ = [
    "HYGIENE_COLUMNS",
    "NEGATIVE_WORDS",
    "POSITIVE_WORDS",
    "HygieneFlag",
    "HygieneReport",
    "Sides",
    "Signal",
    "change_z",
    "check_hygiene",
    "comment_tone",
    "fisher_p",
    "genomic_inflation",
    "logit_estimate",
    "nps_estimate",
    "weighted_median",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
HYGIENE_COLUMNS = [
    "unit_id", "name", "level", "period", "signal", "statistic", "p_value", "q_value",
    "n", "observed", "reference", "flagged", "evidence",
]  # fmt: skip
# Comment tone, an offline proxy: a comment is positive when it holds more positive terms than
# negative ones. Negated complaints ("no queue") count as positive.
POSITIVE_WORDS = (
    "friendly", "helpful", "quick", "quickly", "fast", "easy", "efficient", "clean", "spotless",
    "tidy", "lovely", "great", "good", "excellent", "perfect", "smooth", "reliable", "thank",
    "thanks", "happy", "love", "recommended", "recommend", "warm", "welcome", "ready", "kind",
    "polite", "cheerful", "always", "everything", "well", "stocked", "in stock", "pleasure",
    "bright", "painless", "spot on", "sorted", "took the time", "out of their way", "no queue",
    "no waiting", "without any wait", "nothing missing", "never had a problem", "will be back",
    "keep it up",
)  # fmt: skip
NEGATIVE_WORDS = (
    "rude", "not", "never", "nobody", "long", "slow", "waited", "waiting to", "dirty",
    "filthy", "empty", "missing", "broken", "crash", "crashing", "error", "failed", "froze",
    "disappointing", "ignored", "lost", "closed", "out of stock", "run out", "untidy", "messy",
    "buggy", "unfriendly", "dismissive", "worse", "elsewhere", "stressed", "nuisance", "gaps",
)  # fmt: skip
CHI2_MEDIAN = float(stats.chi2.median(1))  # 0.4549…
MIN_UNITS_FOR_INFLATION = 10
MIN_UNITS = 3  # a typical change needs at least this many units tested
BUCKETS = 8  # a respondent's mean driver answer, rescaled to 0..1, is rounded to 1/8 steps
_NUMBERS = ("statistic", "p_value", "q_value", "observed", "reference")
_SUMS = [
    "responses", "n", "tens", "promoters", "detractors", "expected", "commented", "positive",
    "drv_n", "drv_sum", "invitations", "timed", "quick",
]  # fmt: skip


class Signal(StrEnum):
    top_box = "top_box"
    quick_response = "quick_response"
    rate_jump = "rate_jump"


@dataclass(frozen=True)
class HygieneFlag:
    """One unit, one signal: the test, its evidence and whether it is flagged.

    ``statistic`` is a standard-normal score (positive: above what history and peers predict;
    for ``quick_response`` the normal score of the exact p-value). ``n`` is what the test rests
    on in the period: answers (top_box), responses with a preceding contact (quick_response),
    invitations (rate_jump). ``observed`` and ``reference`` are shares 0..1: the unit's and the
    one it is compared with (the expected share, the peers' share, the history's rate).
    """

    unit_id: str
    name: str
    level: str
    period: str
    signal: Signal
    statistic: float
    p_value: float
    q_value: float
    n: int
    observed: float
    reference: float
    flagged: bool
    evidence: str


@dataclass(frozen=True)
class HygieneReport:
    """Every unit tested for every signal in one period, with the settings used."""

    level: str
    grain: str
    period: str
    history: list[str]
    fdr: float
    quick_minutes: float
    min_ratio: float
    min_n: int
    rows: list[HygieneFlag]
    inflation: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[HygieneFlag]:
        return [r for r in self.rows if r.flagged]

    def to_frame(self, *, flagged_only: bool = True) -> pd.DataFrame:
        rows = self.flags if flagged_only else self.rows
        frame = pd.DataFrame([asdict(r) for r in rows], columns=HYGIENE_COLUMNS)
        frame["signal"] = frame["signal"].astype(str)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        data = asdict(self)
        data["rows"] = [{k: _json_value(v) for k, v in asdict(r).items()} for r in self.rows]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HygieneReport:
        """The report of ``to_dict`` (None back to NaN)."""
        rows = []
        for r in data["rows"]:
            numbers = {k: math.nan if r[k] is None else float(r[k]) for k in _NUMBERS}
            rows.append(HygieneFlag(**(r | numbers | {"signal": Signal(r["signal"])})))
        return cls(**(data | {"rows": rows}))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value) if isinstance(value, Signal) else value


def genomic_inflation(z: FloatArray) -> float:
    """λ = max(1, median(z²) ÷ median of χ²₁) over finite z; 1 with fewer than 10 of them."""
    finite = z[np.isfinite(z)]
    if len(finite) < MIN_UNITS_FOR_INFLATION:
        return 1.0
    return max(1.0, float(np.median(finite**2)) / CHI2_MEDIAN)


# ---------------------------------------------------------------- engine scans


def _window(
    period: str, grain: Grain, history: int
) -> tuple[datetime, datetime, datetime, list[str]]:
    """(history start, period start, period end, history labels oldest first)."""
    start, end = parse_period(period, grain)
    first, labels = start, list[str]()
    for _ in range(history):
        label = str(period_label(pd.Series([first - timedelta(days=1)]), grain).iloc[0])
        first = parse_period(label, grain)[0]
        labels.insert(0, label)
    return first, start, end, labels


def comment_tone(
    comment: ir.StringColumn, edge: str = r"\b"
) -> tuple[ir.BooleanColumn, ir.BooleanColumn]:
    """(commented, positive): positive when it holds more positive terms than negative ones.

    ``edge`` is a word boundary in the engine's regular expressions (``wh.dialect.word_edge``).
    """
    text = comment.lower()

    def count(terms: tuple[str, ...]) -> ir.IntegerColumn:
        return text.re_split(edge + "(" + "|".join(terms) + ")" + edge).length() - 1

    commented = comment.notnull() & (comment.strip().length() > 0)
    return commented, commented & (count(POSITIVE_WORDS) > count(NEGATIVE_WORDS))


def _driver_score(fb: ir.Table, drivers: list[Question]) -> ir.FloatingColumn:
    """Each response's mean driver answer rescaled to 0..1 (null without driver answers)."""
    if not drivers:
        return ibis.null("float64")
    parts = [((fb[q.id] - q.min) / (q.max - q.min)).fill_null(0.0) for q in drivers]
    counts = [fb[q.id].notnull().cast("int32").cast("float64") for q in drivers]
    total, count = sum(parts[1:], parts[0]), sum(counts[1:], counts[0])
    return (count > 0).ifelse(total / count, ibis.null("float64"))


def _answer_scan(
    fb: ir.Table, score: Question, drivers: list[Question], grain: Grain, edge: str
) -> ir.Table:
    """Per unit, period and stratum: answers, 10s, promoters, detractors, comment tone.

    A response's stratum is its mean driver answer (rounded to 1/BUCKETS of the scale, or none)
    crossed with its comment (none, positive, other).
    """
    mean = _driver_score(fb, drivers)
    commented, positive = comment_tone(fb.comment, edge)
    level = mean.isnull().ifelse(0, (mean * BUCKETS).round().cast("int64") + 1)
    tone = positive.ifelse(1, commented.ifelse(2, 0))
    fb = fb.mutate(
        period_start=truncate(fb.responded_at, grain),
        bucket=level * 3 + tone,
        drv=mean,
        commented=commented,
        positive=positive,
    )
    x = fb[score.id]
    return fb.group_by(["ancestor_id", "period_start", "bucket"]).aggregate(
        responses=fb.count(),
        n=x.count(),
        tens=(x >= score.max).sum(),
        promoters=(x >= 9).sum(),
        detractors=(x <= 6).sum(),
        commented=fb.commented.sum(),
        positive=fb.positive.sum(),
        drv_n=fb.drv.count(),
        drv_sum=fb.drv.sum(),
    )


def _timing_scan(
    wh: Warehouse, fb: ir.Table, since: datetime, quick_seconds: float, grain: Grain
) -> ir.Table:
    """Per unit and period: responses with a preceding contact, and those within quick_seconds.

    A response's contact is the customer's latest invitation or transaction at the same unit
    at or before the response (as-of join); contacts up to 7 days before ``since`` count.
    """
    inv, tx = wh.table("invitations"), wh.table("transactions")
    early = since - timedelta(days=7)
    contacts = inv.select(c_unit=inv.unit_id, c_cust=inv.customer_id, at=inv.sent_at).union(
        tx.select(c_unit=tx.unit_id, c_cust=tx.customer_id, at=tx.occurred_at)
    )
    contacts = contacts.filter(contacts.at >= early)
    fb = fb.filter(fb.customer_id.notnull()).select(
        "ancestor_id", "unit_id", "customer_id", "responded_at"
    )
    by = [("unit_id", "c_unit"), ("customer_id", "c_cust")]
    joined = wh.asof_time(fb, contacts, time=("responded_at", "at"), by=by, name="at")
    lag = joined.responded_at.epoch_seconds() - joined.at.epoch_seconds()
    joined = joined.mutate(period_start=truncate(joined.responded_at, grain), lag=lag)
    return joined.group_by(["ancestor_id", "period_start"]).aggregate(
        timed=joined.at.notnull().sum(),
        quick=(joined.lag <= quick_seconds).sum(),
    )


def _frame(expr: ir.Table) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def _drivers(wh: Warehouse, config: Config) -> list[Question]:
    columns = [config.question(c) for c in wh.open_columns("feedback")]
    return [q for q in columns if q is not None and q.kind == "driver"]


def _cells(wh: Warehouse, config: Config, run: _Run, quick_seconds: float) -> pd.DataFrame:
    """Per unit (ancestor_id) and period_start: every sum the signals need, 10s standardised."""
    score = config.question_of_kind("nps")
    assert score is not None  # checked by _context
    feedback = wh.table("feedback")
    fb = feedback.filter(
        (feedback.channel == "survey")
        & (feedback.responded_at >= run.since)
        & (feedback.responded_at < run.end)
    )
    fb = attach_ancestors(fb, run.ancestors, "responded_at")
    buckets = _frame(_answer_scan(fb, score, _drivers(wh, config), run.grain, wh.dialect.word_edge))
    buckets = buckets.sort_values(["ancestor_id", "period_start", "bucket"], ignore_index=True)
    buckets["expected"] = buckets["n"] * _bucket_rates(buckets, run.start)
    keys = ["ancestor_id", "period_start"]
    cells = buckets.drop(columns="bucket").groupby(keys, as_index=False).sum()
    inv = wh.table("invitations")
    inv = inv.filter((inv.sent_at >= run.since) & (inv.sent_at < run.end))
    inv = attach_ancestors(inv, run.ancestors, "sent_at")
    inv = inv.mutate(period_start=truncate(inv.sent_at, run.grain))
    invitations = inv.group_by(keys).aggregate(invitations=inv.count())
    timing = _timing_scan(wh, fb, run.since, quick_seconds, run.grain)
    for extra in (_frame(invitations), _frame(timing)):
        cells = cells.merge(extra, on=keys, how="outer")
    cells = cells.sort_values(keys, ignore_index=True)  # the same sums in the same order
    cells[_SUMS] = cells[_SUMS].fillna(0).astype("float64")
    cells["period_start"] = pd.to_datetime(cells["period_start"])
    return cells.rename(columns={"ancestor_id": "unit_id"})


def _bucket_rates(buckets: pd.DataFrame, start: datetime) -> pd.Series:
    """Per row, the share of 10s among all units' history answers in the row's stratum.

    Strata never seen in the history take the overall history share (the overall current
    share when there is no history at all).
    """
    history = buckets[pd.to_datetime(buckets["period_start"]) < pd.Timestamp(start)]
    if history["n"].sum() == 0:
        history = buckets
    per = history.groupby("bucket")[["tens", "n"]].sum()
    overall = per["tens"].sum() / max(per["n"].sum(), 1)
    rate = (per["tens"] / per["n"].where(per["n"] > 0)).fillna(overall)
    return buckets["bucket"].map(rate).fillna(overall).astype("float64")


# ---------------------------------------------------------------- numpy finishes


@dataclass(frozen=True)
class Sides:
    """Sums (``_SUMS``) per unit of the period: now, over the history, and its peers now."""

    units: list[str]
    cur: pd.DataFrame
    hist: pd.DataFrame
    peers: pd.DataFrame  # the other units pooled, this period (for display and quick_response)

    def col(self, side: str, name: str) -> FloatArray:
        frame: pd.DataFrame = getattr(self, side)
        return frame[name].to_numpy(dtype=np.float64)


def _sides(cells: pd.DataFrame, start: datetime) -> Sides:
    now = cells["period_start"] == pd.Timestamp(start)
    units = sorted(cells.loc[now, "unit_id"].astype(str).unique())
    cur = cells[now].groupby("unit_id")[_SUMS].sum().reindex(units, fill_value=0.0)
    hist = cells[~now].groupby("unit_id")[_SUMS].sum().reindex(units, fill_value=0.0)
    return Sides(units, cur, hist, cur.rsub(cur.sum(), axis=1))


Estimate = tuple[FloatArray, FloatArray]  # a value per unit and its variance


def _excess(s: Sides, side: str) -> Estimate:
    """Log-odds of the observed 10s (+½ each cell) minus those of the expected; its variance."""
    o, n, e = s.col(side, "tens"), s.col(side, "n"), s.col(side, "expected")
    observed, var = logit_estimate(o, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.log((e + 0.5) / (np.maximum(n - e, 0) + 0.5))
    return observed - expected, var


def logit_estimate(k: FloatArray, m: FloatArray) -> Estimate:
    """Log-odds of k successes in m trials (+½ in each cell) and its variance."""
    fail = np.maximum(m - k, 0) + 0.5
    return np.log((k + 0.5) / fail), 1 / (k + 0.5) + 1 / fail


def nps_estimate(s: Sides, side: str) -> Estimate:
    """NPS as a share (−1..1) and its multinomial variance (shares adjusted by ½ answer)."""
    n, pro, det = s.col(side, "n"), s.col(side, "promoters"), s.col(side, "detractors")
    p, d = (pro + 0.5) / (n + 2), (det + 0.5) / (n + 2)
    return _share(pro - det, n), (p + d - (p - d) ** 2) / (n + 2)


def weighted_median(values: FloatArray, weights: FloatArray) -> float:
    """The weighted median of the finite values with positive weight (NaN when none)."""
    ok = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    if not ok.any():
        return math.nan
    order = np.argsort(values[ok], kind="stable")
    v, w = values[ok][order], weights[ok][order]
    return float(v[np.searchsorted(np.cumsum(w), w.sum() / 2)])


def change_z(
    now: Estimate, before: Estimate, sizes: tuple[FloatArray, FloatArray], tested: BoolArray
) -> tuple[FloatArray, float]:
    """z of each unit's change beyond the typical unit's change m; and m.

    m is the weighted median of the tested units' changes, each weighted by its effective
    sample size n·n'/(n + n') capped at the median of those (estimated variances would collapse
    for a unit pushed to the ceiling, and one large unit could outweigh all others): the few
    units sought cannot move m as they would a pooled average. m's variance is taken as π/2
    times that of the weighted mean, Σw²v ÷ (Σw)².
    """
    (a, va), (b, vb) = now, before
    with np.errstate(invalid="ignore", divide="ignore"):
        change, var = a - b, va + vb
        size = np.where(tested, sizes[0] * sizes[1] / (sizes[0] + sizes[1]), np.nan)
        weights = np.nan_to_num(np.fmin(size, np.nanmedian(size) if tested.any() else 0.0))
        m = weighted_median(np.where(tested, change, np.nan), weights)
        var_m = math.pi / 2 * np.nansum(weights**2 * var) / weights.sum() ** 2
        z = (change - m) / np.sqrt(var + var_m)
    return np.where(tested, z, np.nan), m


def _share(k: FloatArray, m: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, k / np.where(m > 0, m, 1), np.nan)


def _points(x: float) -> str:
    return f"{x:+.0f}" if math.isfinite(x) else "–"


def _pct(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{100 * x:.1f}%" if abs(x) < 0.1 else f"{100 * x:,.0f}%"


@dataclass(frozen=True)
class _Run:
    """One run: the level's units, the time window, and what the evidence calls things."""

    level: str
    ancestors: pd.DataFrame  # unit_id -> ancestor_id at the level, effective-dated
    names: dict[str, str]
    period: str
    grain: Grain
    history: list[str]
    since: datetime  # start of the history
    start: datetime
    end: datetime
    min_n: int
    top: str  # what a top answer is called: "10s"
    scale: tuple[float, float] | None  # the drivers' common scale, if they share one

    @property
    def before(self) -> str:
        k = len(self.history)
        return f"the previous {k} {self.grain}{'s' if k != 1 else ''}"

    def driver(self, x: float) -> str:
        """A mean rescaled driver answer (0..1) on the drivers' scale, else as a percentage."""
        if self.scale is None or not math.isfinite(x):
            return f"{_pct(x)} of the scale"
        low, high = self.scale
        return f"{low + x * (high - low):.2f}"

    def untested(self, now: float, before: float, what: str) -> str:
        if min(now, before) >= self.min_n:
            return f"Not tested: fewer than {MIN_UNITS} units have enough {what} to compare."
        where = self.period if now < self.min_n else self.before
        count = now if now < self.min_n else before
        return f"Not tested: {count:,.0f} {what} in {where}, fewer than {self.min_n}."

    def enough(self, now: FloatArray, before: FloatArray) -> BoolArray:
        """Units with min_n on both sides, if at least MIN_UNITS of them (else none)."""
        ok = (now >= self.min_n) & (before >= self.min_n)
        return ok if ok.sum() >= MIN_UNITS else np.zeros_like(ok)


@dataclass
class _Test:
    statistic: FloatArray
    p_value: FloatArray
    n: FloatArray
    observed: FloatArray
    reference: FloatArray
    tested: BoolArray
    eligible: BoolArray  # besides q ≤ fdr and a positive statistic: e.g. large enough
    evidence: list[str]
    inflation: dict[str, float] = field(default_factory=dict)


def _top_box(s: Sides, run: _Run) -> _Test:
    n, hn = s.col("cur", "n"), s.col("hist", "n")
    tested = run.enough(n, hn)
    z, move = change_z(_excess(s, "cur"), _excess(s, "hist"), (n, hn), tested)
    inflation = genomic_inflation(z)
    z = z / math.sqrt(inflation)
    # What the unit would show had it kept its history's excess and moved like the typical unit.
    expected = np.clip(_share(s.col("cur", "expected"), n), 1e-9, 1 - 1e-9)
    reference = special.expit(special.logit(expected) + _excess(s, "hist")[0] + move)
    observed = _share(s.col("cur", "tens"), n)
    shares = {
        key: _share(s.col(side, k), s.col(side, m))
        for key, side, k, m in [
            ("hist", "hist", "tens", "n"), ("peers", "peers", "tens", "n"),
            ("drv", "cur", "drv_sum", "drv_n"), ("drv_h", "hist", "drv_sum", "drv_n"),
            ("pos", "cur", "positive", "commented"), ("pos_h", "hist", "positive", "commented"),
        ]
    }  # fmt: skip
    evidence = []
    for i in range(len(s.units)):
        if not tested[i]:
            evidence.append(run.untested(n[i], hn[i], "answers"))
            continue
        evidence.append(
            f"{_pct(observed[i])} of {n[i]:,.0f} answers were {run.top} in {run.period}, "
            f"against {_pct(shares['hist'][i])} over {run.before} "
            f"({_pct(shares['peers'][i])} at peers this {run.grain}); the respondents' driver "
            f"answers, this unit's history and the typical unit's change predict "
            f"{_pct(reference[i])}. Driver answers averaged {run.driver(shares['drv'][i])} "
            f"(before: {run.driver(shares['drv_h'][i])}) and "
            f"{_pct(shares['pos'][i])} of {s.col('cur', 'commented')[i]:,.0f} comments were "
            f"positive (before: {_pct(shares['pos_h'][i])})."
        )
    p = np.where(tested, stats.norm.sf(z), np.nan)
    return _Test(z, p, n, observed, reference, tested, tested, evidence, {"top_box": inflation})


def fisher_p(k: FloatArray, m: FloatArray, peer_k: FloatArray, peer_m: FloatArray) -> FloatArray:
    """One-sided Fisher exact p: P(X ≥ k), X ~ hypergeometric(m + peer_m, k + peer_k, m)."""
    return np.clip(stats.hypergeom.sf(k - 1, m + peer_m, k + peer_k, m), 0.0, 1.0)


def _quick_response(s: Sides, run: _Run, minutes: float, min_ratio: float, fdr: float) -> _Test:
    """Peers are pooled; a second pass leaves out the units flagged by the first."""
    k, m = s.col("cur", "quick"), s.col("cur", "timed")
    keep = np.ones(len(k), dtype=bool)
    for _ in range(2):
        peer_k, peer_m = (k * keep).sum() - k * keep, (m * keep).sum() - m * keep
        tested = (m >= run.min_n) & (peer_m >= run.min_n)
        p = np.where(tested, fisher_p(k, m, peer_k, peer_m), np.nan)
        observed, reference = _share(k, m), _share(peer_k, peer_m)
        eligible = observed >= min_ratio * reference
        keep = ~(tested & (benjamini_hochberg(p) <= fdr) & eligible)
    before = _share(s.col("hist", "quick"), s.col("hist", "timed"))
    evidence = [
        f"{k[i]:,.0f} of {m[i]:,.0f} survey responses ({_pct(observed[i])}) came within "
        f"{minutes:g} minutes of the customer's latest invitation or purchase at this unit in "
        f"{run.period}, against {_pct(reference[i])} of {peer_m[i]:,.0f} at peers and "
        f"{_pct(before[i])} here over {run.before}."
        if tested[i]
        else f"Not tested: {m[i]:,.0f} responses here and {peer_m[i]:,.0f} at peers in "
        f"{run.period} follow an invitation or purchase (fewer than {run.min_n})."
        for i in range(len(k))
    ]
    z = np.clip(stats.norm.isf(p), -8.0, 38.0)
    return _Test(z, p, m, observed, reference, tested, eligible, evidence)


def _rate_jump(s: Sides, run: _Run) -> _Test:
    inv, hinv = s.col("cur", "invitations"), s.col("hist", "invitations")
    n, hn = s.col("cur", "n"), s.col("hist", "n")
    tested = run.enough(np.fmin(inv, n), np.fmin(hinv, hn))
    rate = [
        logit_estimate(
            np.fmin(s.col(side, "responses"), s.col(side, "invitations")),
            s.col(side, "invitations"),
        )
        for side in ("cur", "hist")
    ]
    z_rate = change_z(rate[0], rate[1], (inv, hinv), tested)[0]
    z_nps = change_z(nps_estimate(s, "cur"), nps_estimate(s, "hist"), (n, hn), tested)[0]
    lam_rate, lam_nps = genomic_inflation(z_rate), genomic_inflation(z_nps)
    z_rate, z_nps = z_rate / math.sqrt(lam_rate), z_nps / math.sqrt(lam_nps)
    # Intersection–union test: "both rose" is accepted only when each one-sided test rejects.
    p = np.fmax(stats.norm.sf(z_rate), stats.norm.sf(z_nps))
    observed = _share(s.col("cur", "responses"), inv)
    reference = _share(s.col("hist", "responses"), hinv)
    peer_rate = _share(s.col("peers", "responses"), s.col("peers", "invitations"))
    nps, nps_h, nps_p = (100 * nps_estimate(s, side)[0] for side in ("cur", "hist", "peers"))
    evidence = [
        f"Response rate {_pct(observed[i])} ({s.col('cur', 'responses')[i]:,.0f} of "
        f"{inv[i]:,.0f} invitations) in {run.period} against {_pct(reference[i])} over "
        f"{run.before}, while NPS went from {nps_h[i]:+.0f} to {nps[i]:+.0f} (peers this "
        f"{run.grain}: rate {_pct(peer_rate[i])}, NPS {_points(nps_p[i])})."
        if tested[i]
        else run.untested(min(inv[i], n[i]), min(hinv[i], hn[i]), "invitations or answers")
        for i in range(len(inv))
    ]
    inflation = {"rate_jump_rate": lam_rate, "rate_jump_nps": lam_nps}
    everyone = np.ones(len(inv), dtype=bool)
    statistic = np.fmin(z_rate, z_nps)
    return _Test(statistic, p, inv, observed, reference, tested, everyone, evidence, inflation)


# ---------------------------------------------------------------- the run


def _rows(
    signal: Signal, test: _Test, units: list[str], run: _Run, fdr: float
) -> list[HygieneFlag]:
    q = benjamini_hochberg(np.where(test.tested, test.p_value, np.nan))
    flagged = test.tested & (q <= fdr) & (test.statistic > 0) & test.eligible
    columns = [test.statistic, test.p_value, q, test.observed, test.reference]
    rows = []
    for i, u in enumerate(units):
        numbers: dict[str, Any] = {k: float(c[i]) for k, c in zip(_NUMBERS, columns, strict=True)}
        flag = HygieneFlag(
            unit_id=u, name=run.names.get(u, u), level=run.level, period=run.period,
            signal=signal, n=int(test.n[i]), flagged=bool(flagged[i]),
            evidence=test.evidence[i], **numbers,
        )  # fmt: skip
        rows.append(flag)
    return rows


def _rows_in_period(wh: Warehouse, run: _Run) -> int:
    fb, inv = wh.table("feedback"), wh.table("invitations")
    fb = fb.filter((fb.channel == "survey") & (fb.responded_at >= run.start))
    fb = fb.filter(fb.responded_at < run.end)
    inv = inv.filter((inv.sent_at >= run.start) & (inv.sent_at < run.end))
    counts = [
        attach_ancestors(t, run.ancestors, at).count().execute()
        for t, at in ((fb, "responded_at"), (inv, "sent_at"))
    ]
    return int(sum(counts))


def _notes(wh: Warehouse) -> list[str]:
    columns = set(wh.table("feedback").columns) | set(wh.table("transactions").columns)
    if {"staff_id", "device_id"} & columns:
        return []
    return [
        "No staff or device ids in the data: quick responses are counted per unit; which staff "
        "member or device collected them cannot be told."
    ]


def _prepare(
    wh: Warehouse, config: Config, level: str, period: str | None, grain: Grain, history: int
) -> _Run:
    top = config.question_of_kind("nps")
    if top is None or top.id not in wh.table("feedback").columns:
        raise QueryError("survey hygiene needs an NPS question ([[questions]] kind = 'nps')")
    units = read_units(wh)
    ancestors = unit_ancestors(unit_placements(wh), config.units.levels, level)
    period = period or choose_period(wh, grain).label
    since, start, end, labels = _window(period, grain, history)
    scales = {(q.min, q.max) for q in _drivers(wh, config)}
    return _Run(
        level=level, ancestors=ancestors, period=period, grain=grain, history=labels,
        names=dict(zip(units.unit_id.astype(str), units.name.astype(str), strict=True)),
        since=since, start=start, end=end, min_n=config.listening.min_n, top=f"{top.max:g}s",
        scale=next(iter(scales)) if len(scales) == 1 else None,
    )  # fmt: skip


def check_hygiene(
    wh: Warehouse,
    config: Config,
    *,
    level: str = "store",
    period: str | None = None,
    grain: Grain = Grain.month,
    history: int = 6,
    fdr: float = 0.05,
    quick_minutes: float = 10.0,
    min_ratio: float = 2.0,
    min_n: int | None = None,
) -> HygieneReport:
    """Test every unit at ``level`` in ``period`` (default: the latest) for the three signals.

    The history is the ``history`` periods before ``period``. ``min_n`` (default ``[listening]
    min_n``) is the fewest answers, invitations or timed responses on each side to test a unit.
    """
    if not 0 < fdr < 1:
        raise QueryError(f"the false discovery rate must lie in (0, 1), got {fdr}", argument="fdr")
    if history < 1 or quick_minutes <= 0 or min_ratio < 1:
        raise QueryError(
            "the history is at least 1 period, a quick response above 0 minutes and the "
            "smallest quick-share ratio at least 1"
        )
    run = _prepare(wh, config, level, period, grain, history)
    run = replace(run, min_n=min_n) if min_n is not None else run
    if _rows_in_period(wh, run) == 0:
        raise QueryError(f"no survey responses or invitations at level '{level}' in {run.period}")
    cells = _cells(wh, config, run, quick_minutes * 60)
    s = _sides(cells, run.start)
    tests = {
        Signal.top_box: _top_box(s, run),
        Signal.quick_response: _quick_response(s, run, quick_minutes, min_ratio, fdr),
        Signal.rate_jump: _rate_jump(s, run),
    }
    rows = [r for sig, t in tests.items() for r in _rows(sig, t, s.units, run, fdr)]
    rows.sort(key=lambda r: (not r.flagged, _nan_last(r.q_value), r.signal, r.unit_id))
    return HygieneReport(
        level=level, grain=str(grain), period=run.period, history=run.history, fdr=fdr,
        quick_minutes=quick_minutes, min_ratio=min_ratio, min_n=run.min_n, rows=rows,
        inflation={k: v for t in tests.values() for k, v in t.inflation.items()},
        notes=_notes(wh),
    )  # fmt: skip


def _nan_last(value: float) -> float:
    return value if math.isfinite(value) else 2.0
