"""Survey hygiene scans: the engine sums every signal needs, per unit and period.

One scan of the survey answers by stratum (the respondent's mean driver answer × comment tone:
positive by the sentiment model's label stored with the comment, else by the word lists below),
one of the invitations and one as-of join of responses to their latest contact; the 10s of each
stratum are standardised on every unit's history (``expected``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config, Question
from earnright.listening.hygiene.estimates import SUMS
from earnright.listening.hygiene.run import Run
from earnright.periods import Grain, parse_period, period_label, truncate
from earnright.units import attach_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "BUCKETS",
    "NEGATIVE_WORDS",
    "POSITIVE_WORDS",
    "comment_tone",
    "driver_questions",
    "labelled_tone",
    "period_cells",
    "period_window",
    "with_sentiment",
]

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
BUCKETS = 8  # a respondent's mean driver answer, rescaled to 0..1, is rounded to 1/8 steps


def period_window(
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


def labelled_tone(fb: ir.Table, edge: str = r"\b") -> tuple[ir.BooleanColumn, ir.BooleanColumn]:
    """(commented, positive) of each row of ``fb``: positive by its ``sentiment`` label where
    it has one (``with_sentiment``), else by the word lists (``comment_tone``)."""
    commented, positive = comment_tone(fb.comment, edge)
    if "sentiment" in fb.columns:
        positive = commented & fb.sentiment.isnull().ifelse(positive, fb.sentiment == "positive")
    return commented, positive


def with_sentiment(wh: Warehouse, fb: ir.Table) -> ir.Table:
    """``fb`` with each comment's ``sentiment`` label stored on ingest (null where none), when
    the warehouse holds labels (``earnright.comments.store``)."""
    if "comment_labels" not in wh.list_tables():
        return fb
    labels = wh.table("comment_labels")
    labels = labels.select(_rid=labels.response_id, sentiment=labels.sentiment)
    joined = fb.left_join(labels, fb.response_id == labels._rid)
    return joined.select(*[joined[c] for c in fb.columns], joined.sentiment)


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
    commented, positive = labelled_tone(fb, edge)
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


def driver_questions(wh: Warehouse, config: Config) -> list[Question]:
    """The driver questions with a feedback column."""
    columns = [config.question(c) for c in wh.open_columns("feedback")]
    return [q for q in columns if q is not None and q.kind == "driver"]


def period_cells(wh: Warehouse, config: Config, run: Run, quick_seconds: float) -> pd.DataFrame:
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
    fb = with_sentiment(wh, fb)
    buckets = _frame(
        _answer_scan(fb, score, driver_questions(wh, config), run.grain, wh.dialect.word_edge)
    )
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
    cells[SUMS] = cells[SUMS].fillna(0).astype("float64")
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
