"""The server's filters of comments and incidents: a comment theme, a customer segment, an
incident's segment. Each narrows an Ibis expression or a row; a value that cannot match
anything the workspace knows is a bad argument (400, naming the filter), never an empty
answer that looks like "nothing happened".

- ``theme``: a theme of the config's ``[[themes]]``; the comments tagged with it
  (``comment_themes``, earnright.comments).
- ``segment`` of comments: ``ATTRIBUTE=VALUE`` over the customers' attributes (``tier=gold``),
  or a bare ``VALUE`` for the attribute named ``segment``; the comments of those customers.
- ``segment`` of incidents and alerts: a ``KEY=VALUE`` part of the incident's segment
  (``district=D001``, ``daypart=evening``).
- ``period`` of comments and incidents: a month, quarter or week (``2026-09``, ``2026-Q3``,
  ``2026-W37``); the comments written in it, the incidents open at some time in it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from earnright.errors import QueryError
from earnright.periods import grain_of, parse_period

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from earnright.config import Config
    from earnright.warehouse import Warehouse

__all__ = [
    "filter_period", "filter_segment", "filter_theme", "names_part", "open_within",
    "period_window", "segment_customers", "segment_part", "segment_parts",
]  # fmt: skip

SEGMENT_ATTRIBUTE = "segment"


def filter_theme(t: ir.Table, wh: Warehouse, config: Config, theme: str | None) -> ir.Table:
    """Feedback rows ``t`` tagged with ``theme`` (all of them when None)."""
    if theme is None:
        return t
    names = [th.name for th in config.themes]
    if theme not in names:
        known = ", ".join(names) or "none: the config declares no [[themes]]"
        raise QueryError(f"no comment theme '{theme}': one of {known}", argument="theme")
    if "comment_themes" not in wh.list_tables():
        return t.filter(t.response_id.isnull())  # nothing tagged yet
    tagged = wh.table("comment_themes")
    return t.semi_join(tagged.filter(tagged.theme == theme), "response_id")


def filter_segment(t: ir.Table, wh: Warehouse, segment: str | None) -> ir.Table:
    """Feedback rows ``t`` from customers of ``segment`` (module doc)."""
    if segment is None:
        return t
    return t.semi_join(segment_customers(wh, segment), "customer_id")


def segment_customers(wh: Warehouse, segment: str) -> ir.Table:
    """The ``customer_id`` of ``segment``'s customers (``ATTRIBUTE=VALUE``, or a bare value
    of the attribute named ``segment``); QueryError naming the attributes when it has none."""
    attribute, _, value = segment.rpartition("=")
    attribute = attribute.strip() or SEGMENT_ATTRIBUTE
    customers = wh.table("customers")
    attributes = [c for c in wh.open_columns("customers")]
    if attribute not in attributes:
        known = ", ".join(attributes) or "none: ingest customers with attribute columns"
        raise QueryError(
            f"'{segment}' is not a customer segment: ATTRIBUTE=VALUE with an attribute of {known}",
            argument="segment",
        )
    return customers.filter(customers[attribute] == value.strip()).select("customer_id")


def segment_parts(segment: str) -> set[str]:
    """The ``key=value`` parts of an incident's segment (``district=D1; daypart=evening``)."""
    return {re.sub(r"\s*=\s*", "=", p.strip()) for p in re.split(r"[;&]", segment) if "=" in p}


def segment_part(segment: str | None) -> str | None:
    """A filter on incidents' segments, checked: ``KEY=VALUE``."""
    if segment is None:
        return None
    parts = segment_parts(segment)
    if len(parts) != 1 or not all(p.split("=", 1)[0] and p.split("=", 1)[1] for p in parts):
        raise QueryError(
            f"'{segment}' is not an incident segment: KEY=VALUE, e.g. district=D001",
            argument="segment",
        )
    return parts.pop()


def names_part(incident: dict[str, Any], part: str | None) -> bool:
    """Whether ``incident``'s segment names ``part`` (:func:`segment_part`; None: any)."""
    return part is None or part in segment_parts(str(incident.get("segment") or ""))


def period_window(period: str | None) -> tuple[datetime, datetime] | None:
    """[start, end) of ``period`` (a month, quarter or week label; None: no filter)."""
    if period is None:
        return None
    grain = grain_of(period)
    if grain is None:
        raise QueryError(f"'{period}' is not a period: a month (2026-09), quarter (2026-Q3) "
                         "or week (2026-W37)", argument="period")  # fmt: skip
    return parse_period(period, grain)


def filter_period(t: ir.Table, column: str, window: tuple[datetime, datetime] | None) -> ir.Table:
    """Rows of ``t`` whose ``column`` falls in ``window`` (all of them when None)."""
    if window is None:
        return t
    return t.filter((t[column] >= window[0]) & (t[column] < window[1]))


def open_within(incident: dict[str, Any], window: tuple[datetime, datetime] | None) -> bool:
    """Whether ``incident`` was open at some time in ``window``: started before its end, not
    resolved before its start (None: any)."""
    if window is None:
        return True
    started, resolved = (_time(incident.get(k)) for k in ("started_at", "resolved_at"))
    begun = started is None or started < window[1]
    return begun and (resolved is None or resolved >= window[0])


def _time(value: Any) -> datetime | None:
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tz else stamp).to_pydatetime()
