"""Behavioural loyalty in the public API: ``loyalty`` (what respondents did after answering)
and ``point_values`` (what one point of NPS or of a driver is worth in retained revenue).

:class:`LoyaltyMethods` is a base of :class:`~earnright.api.Workspace` (docs/growth.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from earnright.api.operations import Operations
from earnright.api.records import jsonable, records
from earnright.api.results import Result, TableResult, WarningsResult

if TYPE_CHECKING:
    import pandas as pd

    from earnright.customers.loyalty import Respondents
    from earnright.listening.focus import FocusList
    from earnright.warehouse import Warehouse

__all__ = ["LoyaltyMethods", "LoyaltyResult", "PointValuesResult"]


class LoyaltyResult(Result):
    """Retention and spend in the 180 days after respondents' first answer, per question and
    answer group, with 95% intervals and adjusted differences from the reference group; the
    value of one point per unit and moment (``point_values``)."""

    data: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable(self.data)

    def to_frame(self) -> pd.DataFrame:
        """The group rows."""
        import pandas as pd

        from earnright.customers.loyalty import GROUP_COLUMNS

        return pd.DataFrame(self.data["groups"], columns=GROUP_COLUMNS)

    def _summary(self) -> str:
        d = self.data
        return f"{d['respondents']:,} respondents ({d['left_out']:,} left out)"


class PointValuesResult(TableResult):
    """The value of one point of NPS and of each driver per unit and moment, with 95%
    intervals, in retained revenue over 180 days (docs/growth.md)."""

    level: str = "store"

    def _what(self) -> str:
        return f"by {self.level}"


class LoyaltyMethods(Operations):
    """The behavioural loyalty capabilities of a workspace."""

    def _respondents(self, wh: Warehouse) -> Respondents:
        from earnright.customers.loyalty import respondent_summaries

        return respondent_summaries(wh, self.config)

    def _points(self, wh: Warehouse, respondents: Respondents, level: str) -> pd.DataFrame:
        from earnright.customers.pointvalue import active_customers, point_values
        from earnright.units import read_units, unit_ancestors

        anc = unit_ancestors(read_units(wh), self.config.units.levels, level)
        homes = anc[["unit_id", "ancestor_id"]].rename(
            columns={"unit_id": "home_unit_id", "ancestor_id": "unit_id"}
        )
        customers = active_customers(wh, respondents, homes)
        return point_values(respondents, self.config, homes, customers)

    def _price_focus(
        self, wh: Warehouse, lists: list[FocusList], respondents: Respondents | None = None
    ) -> list[FocusList]:
        """Focus lists with every item's worth, ordered by it (customers/returns.py); the
        ``respondents`` already read, if given (the site prices every level with one pass)."""
        from earnright.customers.returns import price_focus, sort_by_worth

        if not lists:
            return lists
        nps = self.config.question_of_kind("nps")
        found = respondents if respondents is not None else self._respondents(wh)
        points = self._points(wh, found, lists[0].level)
        priced = price_focus(lists, points, nps.id) if nps is not None else lists
        return sort_by_worth(priced)

    def _price_warnings(
        self, wh: Warehouse, result: WarningsResult, since: Any, status: str
    ) -> WarningsResult:
        """The incidents with their ``worth`` (customers/returns.py), largest first."""
        import pandas as pd

        from earnright.api.reliability import parse_since
        from earnright.customers.returns import price_incidents
        from earnright.reliability.incidents import list_incidents

        found = list_incidents(
            wh, since=parse_since(since), status=None if status == "all" else status
        )
        points = self._points(wh, self._respondents(wh), "store") if found else pd.DataFrame()
        nps = self.config.question_of_kind("nps")
        priced = price_incidents(wh, self.config, found, points, nps.id if nps else "")
        names = ("worth", "worth_low", "worth_high")
        rows = [
            row | dict(zip(names, p or (None,) * 3, strict=True))
            for row, p in zip(result.rows, priced, strict=True)
        ]
        rows.sort(key=lambda r: -(r["worth"] if r["worth"] is not None else float("-inf")))
        frame = pd.DataFrame(rows, columns=[*result.columns, "worth", "worth_low", "worth_high"])
        priced_result = result.model_copy(update={"rows": rows, "columns": list(frame.columns)})
        priced_result._frame = frame
        return priced_result

    def loyalty(self, level: str = "store") -> LoyaltyResult:
        """Per question (NPS, CSAT, each driver) and answer group of respondents' first
        answers with 180 days of follow-up: n, retained (a purchase in the window's last 90
        days) and spend in the 180 days after, with 95% intervals, and the difference from
        promoters (the top box) adjusted for prior frequency, recency and spend and the home
        store; with the value of one point per unit of ``level`` and moment."""
        from earnright.customers.loyalty import (
            FOLLOW_UP_DAYS,
            RETAINED_DAYS,
            group_table,
            left_out_note,
        )

        with self.warehouse() as wh:
            respondents = self._respondents(wh)
            groups = group_table(respondents, self.config)
            points = self._points(wh, respondents, level)
        as_of = respondents.as_of
        data = {
            "as_of": f"{as_of:%Y-%m-%d}" if as_of else None,
            "follow_up_days": FOLLOW_UP_DAYS,
            "retained_days": RETAINED_DAYS,
            "respondents": len(respondents.frame),
            "left_out": respondents.left_out,
            "level": level,
            "groups": records(groups),
            "point_values": records(points),
        }
        notes = [n for n in [left_out_note(respondents)] if n]
        return LoyaltyResult(data=data, notes=notes)

    def point_values(self, level: str = "store") -> PointValuesResult:
        """The value of one point of NPS and of each driver per unit of ``level`` and moment
        (and for the whole chain, ``all``) in retained revenue over 180 days, with 95%
        intervals, thin units pooled toward the chain (docs/growth.md)."""
        from earnright.customers.loyalty import left_out_note

        with self.warehouse() as wh:
            respondents = self._respondents(wh)
            points = self._points(wh, respondents, level)
        notes = [n for n in [left_out_note(respondents)] if n]
        return PointValuesResult.of(points, notes=notes, level=level)
