"""The generated period: whole calendar months, days counted from the first midnight (UTC)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["SECONDS_PER_DAY", "Calendar", "build_calendar"]

SECONDS_PER_DAY = 86_400
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Calendar:
    """``months`` calendar months; day ``d`` is ``start + d`` days."""

    start: np.datetime64  # first day, datetime64[D]
    labels: tuple[str, ...]  # "YYYY-MM" per month
    month_first_day: np.ndarray  # day offset of each month's first day, plus the end

    @property
    def days(self) -> int:
        return int(self.month_first_day[-1])

    @property
    def months(self) -> int:
        return len(self.labels)

    @property
    def start_us(self) -> int:
        """Microseconds since the epoch of the first midnight."""
        return int(self.start.astype("datetime64[us]").astype(np.int64))

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """The month index of each day offset."""
        return np.searchsorted(self.month_first_day, day, side="right").astype(np.int64) - 1

    def month_end_second(self, day: np.ndarray) -> np.ndarray:
        """Seconds from the start to the midnight ending the month of each day offset."""
        return self.month_first_day[self.month_of(day) + 1].astype(np.int64) * SECONDS_PER_DAY

    def weekday(self, day: np.ndarray) -> np.ndarray:
        """Day of the week of each day offset, Monday = 0."""
        return (int(self.start.astype(np.int64)) + np.asarray(day) + 3) % 7

    def iso_date(self, day: int) -> str:
        return str(self.start + np.timedelta64(int(day), "D"))


def build_calendar(end_month: str, months: int) -> Calendar:
    """The ``months`` calendar months ending with ``end_month`` ("YYYY-MM"), inclusive."""
    if not _MONTH.match(end_month):
        raise ValueError(f"end_month '{end_month}' is not a month like '2026-09'")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    last = np.datetime64(end_month, "M")
    firsts = last - np.arange(months - 1, -2, -1)
    first_days = firsts.astype("datetime64[D]")
    offsets = (first_days - first_days[0]).astype(np.int64)
    labels = tuple(str(m) for m in firsts[:-1])
    return Calendar(start=first_days[0], labels=labels, month_first_day=offsets)
