"""Periods: a *grain* sets the length of a period, a *period* picks one.

Grains are ``month`` (label ``2026-09``), ``week`` (ISO week, ``2026-W37``, weeks start on
Monday) and ``quarter`` (``2026-Q3``). :class:`Period` is the one way to name time: listening
takes its label and grain, reliability its ``[start, end)`` window; the Python API accepts a
Period or its label wherever it takes ``period``, and the command line's ``--grain`` and
``--period`` mean the same everywhere.

**The default period** (``choose_period``) is the latest *complete* period of the data. The data's
clock is its latest timestamp (over feedback and invitations for the listening commands, over
metrics for reliability). A period is complete when the data have moved past it: a later period
holds data, or the latest timestamp falls on the period's last day. The period holding the latest
timestamp is therefore complete only when the data reach its last day; otherwise it has just
begun (a month with 5 answers from its first days) and the default is the latest period with data
before it. When the data hold no earlier period, that one incomplete period is the default, and
the note says it is not complete.

**A period without data** (``choose_period`` with a period, or ``require_data``) is a user error
naming the period and the range the data cover, in periods of the grain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import pandas as pd

from earnright.errors import QueryError

if TYPE_CHECKING:
    from earnright.warehouse import Warehouse

__all__ = [
    "LISTENING",
    "METRICS",
    "Coverage",
    "Grain",
    "Period",
    "PeriodChoice",
    "Source",
    "choose_period",
    "choose_periods",
    "data_coverage",
    "grain_of",
    "label_of",
    "parse_period",
    "period_label",
    "require_data",
    "truncate",
]


class Grain(StrEnum):
    month = "month"
    week = "week"
    quarter = "quarter"


_UNITS = {Grain.month: "M", Grain.week: "W", Grain.quarter: "Q"}
_EXAMPLES = {Grain.month: "2026-09", Grain.week: "2026-W37", Grain.quarter: "2026-Q3"}
_PATTERNS = {
    Grain.month: re.compile(r"^(\d{4})-(\d{2})$"),
    Grain.week: re.compile(r"^(\d{4})-W(\d{2})$"),
    Grain.quarter: re.compile(r"^(\d{4})-Q([1-4])$"),
}


def truncate(ts: ir.TimestampValue, grain: Grain) -> ir.TimestampValue:
    """The start of the period containing ``ts``, computed by the engine."""
    return ts.truncate(_UNITS[grain])


def grain_of(text: str) -> Grain | None:
    """The grain whose labels look like ``text`` (``2026-09`` month, ``2026-W37`` week,
    ``2026-Q3`` quarter), or None when it looks like none of them."""
    for grain, pattern in _PATTERNS.items():
        if pattern.match(text.strip()):
            return grain
    return None


def parse_period(text: str, grain: Grain) -> tuple[datetime, datetime]:
    """[start, end) of the period named ``text`` at ``grain``; QueryError if malformed."""
    grain = Grain(grain)
    match = _PATTERNS[grain].match(text.strip())
    if not match:
        raise QueryError(
            f"'{text}' is not a {grain} (expected e.g. {_EXAMPLES[grain]}); "
            f"the grain sets the kind of period",
            argument="period",
        )
    year, num = int(match.group(1)), int(match.group(2))
    try:
        if grain is Grain.month:
            start = date(year, num, 1)
            end = date(year + num // 12, num % 12 + 1, 1)
        elif grain is Grain.quarter:
            start = date(year, 3 * num - 2, 1)
            end = date(year + num // 4, (3 * num) % 12 + 1, 1)
        else:
            start = date.fromisocalendar(year, num, 1)
            end = start + timedelta(days=7)
    except ValueError as exc:
        raise QueryError(f"'{text}' is not a valid {grain}: {exc}", argument="period") from exc
    return datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())


@dataclass(frozen=True)
class Period:
    """One calendar period: its label (``2026-09``, ``2026-W37``, ``2026-Q3``), its grain and its
    ``[start, end)`` (naive UTC). ``str(period)`` is the label.

    >>> Period.parse("2026-Q3")
    Period('2026-Q3')
    >>> Period.parse("2026-Q3").window
    (datetime.datetime(2026, 7, 1, 0, 0), datetime.datetime(2026, 10, 1, 0, 0))
    """

    label: str
    grain: Grain
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str, grain: Grain | str | None = None) -> Period:
        """The period named ``text`` at ``grain`` (default: the grain its label has);
        QueryError (argument ``period``) when it names none."""
        if grain is None:
            grain = grain_of(text) or Grain.month
        grain = Grain(grain)
        start, end = parse_period(text, grain)
        return cls(text.strip(), grain, start, end)

    @classmethod
    def of(cls, value: Period | str, grain: Grain | str | None = None) -> Period:
        """``value`` as a Period: a Period as it is (QueryError when ``grain`` is given and
        differs from its own), a label parsed at ``grain``."""
        if isinstance(value, Period):
            if grain is not None and Grain(grain) is not value.grain:
                raise QueryError(
                    f"{value.label} is a {value.grain}, not a {Grain(grain)}", argument="grain"
                )
            return value
        return cls.parse(value, grain)

    @classmethod
    def containing(cls, ts: datetime, grain: Grain | str) -> Period:
        """The period at ``grain`` holding ``ts``."""
        return cls.parse(label_of(ts, Grain(grain)), grain)

    @property
    def window(self) -> tuple[datetime, datetime]:
        """``(start, end)``: the half-open window reliability rates."""
        return self.start, self.end

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Period({self.label!r})"


def period_label(starts: pd.Series, grain: Grain) -> pd.Series:
    """Labels (``2026-09``, ``2026-W37``, ``2026-Q3``) for period start timestamps."""
    starts, grain = pd.to_datetime(starts), Grain(grain)
    if grain is Grain.month:
        return starts.dt.strftime("%Y-%m")
    if grain is Grain.quarter:
        return starts.dt.year.astype(str) + "-Q" + starts.dt.quarter.astype(str)
    iso = starts.dt.isocalendar()
    return iso.year.astype(str) + "-W" + iso.week.astype(str).str.zfill(2)


# -- the data's span, the default period, periods without data -----------------------------------
Source = tuple[str, str]  # (table, timestamp column)
LISTENING: tuple[Source, ...] = (("feedback", "responded_at"), ("invitations", "sent_at"))
METRICS: tuple[Source, ...] = (("metrics", "observed_at"),)
_WHAT = {LISTENING: "feedback or invitations", METRICS: "metrics"}


def _what(sources: Sequence[Source]) -> str:
    return _WHAT.get(tuple(sources), " or ".join(table for table, _ in sources))


def label_of(ts: datetime, grain: Grain) -> str:
    """The label of the period at ``grain`` holding ``ts``."""
    return str(period_label(pd.Series([pd.Timestamp(ts)]), grain).iloc[0])


@dataclass(frozen=True)
class Coverage:
    """The first and the latest timestamp of the data of ``what`` (e.g. feedback or invitations)."""

    first: datetime
    last: datetime
    what: str

    def span(self, grain: Grain) -> str:
        """``2025-10 to 2026-09``: the periods at ``grain`` the data cover."""
        first, last = label_of(self.first, grain), label_of(self.last, grain)
        return first if first == last else f"{first} to {last}"


@dataclass(frozen=True)
class PeriodChoice:
    """The period a command uses, whether it was given or chosen, and why.

    ``complete`` is False only for a default that is the one, still incomplete, period of data.
    """

    label: str
    grain: Grain
    reason: str
    given: bool = False
    complete: bool = True

    @property
    def note(self) -> str:
        """What to tell the user: ``period 2026-09 (latest complete month; …)``."""
        return f"period {self.label} ({self.reason})"


def data_coverage(
    wh: Warehouse, sources: Sequence[Source] = LISTENING, *, before: datetime | None = None
) -> Coverage | None:
    """The span of the timestamps in ``sources`` (only those before ``before``); None if empty."""
    firsts, lasts = [], []
    for table, column in sources:
        t = wh.table(table)
        if before is not None:
            t = t.filter(t[column] < before)
        row = t.aggregate(first=t[column].min(), last=t[column].max()).to_pyarrow().to_pylist()[0]
        if row["last"] is not None:
            firsts.append(pd.Timestamp(row["first"]).to_pydatetime())
            lasts.append(pd.Timestamp(row["last"]).to_pydatetime())
    if not lasts:
        return None
    return Coverage(min(firsts), max(lasts), _what(sources))


def _coverage(wh: Warehouse, sources: Sequence[Source]) -> Coverage:
    found = data_coverage(wh, sources)
    if found is None:
        tables = " or ".join(table for table, _ in sources)
        raise QueryError(f"no {tables} in the warehouse yet: ingest some first")
    return found


def require_data(
    wh: Warehouse, period: str | Period, grain: Grain, sources: Sequence[Source] = LISTENING
) -> Coverage:
    """QueryError unless ``period`` holds a row of ``sources``; the message names the range the
    data cover. Returns the coverage."""
    period = str(period)
    start, end = parse_period(period, grain)
    coverage = _coverage(wh, sources)
    for table, column in sources:
        t = wh.table(table)
        if t.filter((t[column] >= start) & (t[column] < end)).count().execute() > 0:
            return coverage
    raise QueryError(
        f"no {coverage.what} in {period}: the data cover {coverage.span(grain)} "
        f"({coverage.first:%Y-%m-%d} to {coverage.last:%Y-%m-%d}); pick a period in that range",
        argument="period",
    )


def choose_period(
    wh: Warehouse,
    grain: Grain,
    period: str | Period | None = None,
    sources: Sequence[Source] = LISTENING,
) -> PeriodChoice:
    """``period`` checked to hold data, or (``None``) the latest complete period (module doc)."""
    grain = Grain(grain)
    if period is not None:
        require_data(wh, period, grain, sources)
        return PeriodChoice(str(period), grain, "given", given=True)
    coverage = _coverage(wh, sources)
    last = label_of(coverage.last, grain)
    start, end = parse_period(last, grain)
    ends = f"the data end {coverage.last:%Y-%m-%d}"
    if coverage.last >= end - timedelta(days=1):
        return PeriodChoice(last, grain, f"latest complete {grain}; {ends}")
    earlier = data_coverage(wh, sources, before=start)
    if earlier is None:
        reason = f"the only {grain} with data, and it is not complete: {ends}, before its last day"
        return PeriodChoice(last, grain, reason, complete=False)
    label = label_of(earlier.last, grain)
    reason = f"latest complete {grain}; {last} has begun but is not complete: {ends}"
    return PeriodChoice(label, grain, reason)


def choose_periods(
    wh: Warehouse,
    grain: Grain,
    period: str | Period | None = None,
    *,
    complete_only: bool = False,
    sources: Sequence[Source] = LISTENING,
) -> tuple[str | None, str | None]:
    """For a request whose default is every period: ``(last, note)``.

    ``period`` given: it is checked to hold data (QueryError otherwise) and there is no note.
    Else ``note`` names the periods used (``periods 2026-07 to 2026-09 (every complete month
    …)``), and ``last`` is the last period to keep (the latest complete one when
    ``complete_only`` and the latest has only begun), else None: keep them all.
    """
    grain = Grain(grain)
    if period is not None:
        require_data(wh, period, grain, sources)
        return None, None
    choice = choose_period(wh, grain, None, sources)
    coverage = data_coverage(wh, sources)
    assert coverage is not None  # choose_period raised otherwise
    first, last = label_of(coverage.first, grain), label_of(coverage.last, grain)
    ends = f"the data end {coverage.last:%Y-%m-%d}"
    if choice.label == last:
        state = "" if choice.complete else f"; {last} is not complete"
        return None, f"periods {coverage.span(grain)} (every {grain} with data{state}; {ends})"
    if complete_only:
        kept = first if first == choice.label else f"{first} to {choice.label}"
        note = (
            f"periods {kept} (every complete {grain}; {last} has begun but is not complete and "
            f"is left out: {ends})"
        )
        return choice.label, note
    note = (
        f"periods {first} to {last} (every {grain} with data; {last} has begun but is not "
        f"complete: {ends})"
    )
    return None, note
