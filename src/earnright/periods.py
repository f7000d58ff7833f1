"""Periods: ``--grain`` sets the length of a period, ``--period`` picks one.

Grains are ``month`` (label ``2026-09``), ``week`` (ISO week, ``2026-W37``, weeks start on
Monday) and ``quarter`` (``2026-Q3``). Every command that takes a time uses these two options with
the same meaning.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum

import ibis.expr.types as ir
import pandas as pd

from earnright.errors import QueryError

__all__ = ["Grain", "parse_period", "period_label", "truncate"]


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


def parse_period(text: str, grain: Grain) -> tuple[datetime, datetime]:
    """[start, end) of the period named ``text`` at ``grain``; QueryError if malformed."""
    grain = Grain(grain)
    match = _PATTERNS[grain].match(text.strip())
    if not match:
        raise QueryError(
            f"--period '{text}' is not a {grain} (expected e.g. {_EXAMPLES[grain]}); "
            f"--grain sets the kind of period"
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
        raise QueryError(f"--period '{text}' is not a valid {grain}: {exc}") from exc
    return datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())


def period_label(starts: pd.Series, grain: Grain) -> pd.Series:
    """Labels (``2026-09``, ``2026-W37``, ``2026-Q3``) for period start timestamps."""
    starts, grain = pd.to_datetime(starts), Grain(grain)
    if grain is Grain.month:
        return starts.dt.strftime("%Y-%m")
    if grain is Grain.quarter:
        return starts.dt.year.astype(str) + "-Q" + starts.dt.quarter.astype(str)
    iso = starts.dt.isocalendar()
    return iso.year.astype(str) + "-W" + iso.week.astype(str).str.zfill(2)
