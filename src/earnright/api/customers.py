"""Customers as assets in the public API: the ledger (``assets``) and lifetime value (``clv``).

:class:`CustomerMethods` is a base of :class:`~earnright.api.Workspace`; the results are typed
like every other (``to_dict()`` is the command line's ``--format json``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.api.losses import LossMethods
from earnright.api.records import jsonable
from earnright.api.results import Result, TableResult
from earnright.errors import QueryError
from earnright.periods import Grain, Period

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from earnright.customers.lifetime import ClvReport

__all__ = ["AssetsResult", "ClvResult", "CustomerMethods", "clv_table"]

TRANSACTIONS = (("transactions", "occurred_at"),)


class AssetsResult(TableResult):
    """The customer asset ledger: per unit (and ``by`` value) and period, customers at the
    start, gained, reactivated, lost, at the end, grew and declined, and the value of each
    flow; ``as_of`` is the data's end (the latest transaction day)."""

    level: str = "store"
    grain: str = "month"
    period: str | None = None
    by: str | None = None
    as_of: str | None = None

    def _what(self) -> str:
        by = f" and {self.by}" if self.by else ""
        return f"by {self.level}{by}, {self.period or 'every ' + self.grain}"


class CustomerMethods(LossMethods):
    """The customer asset capabilities of a workspace (the loss ones from LossMethods)."""

    def assets(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: Period | str | None = None,
        by: str | None = None,
    ) -> AssetsResult:
        """The customer asset ledger per unit of ``level`` (by the customer's home unit) and
        period: ``start + gained + reactivated − lost = end`` in every row, with ``grew``,
        ``declined`` and the value of each flow (docs/assets.md). Every period from the first
        transaction unless ``period``; ``by`` splits each unit by a customer attribute."""
        from earnright.customers.assets import as_of_note, compute_ledger
        from earnright.periods import require_data

        chosen = Period.of(period, grain) if period is not None else None
        grain = chosen.grain if chosen else Grain(grain or Grain.month)
        label = chosen.label if chosen else None
        with self.warehouse() as wh:
            if label is not None:
                require_data(wh, label, grain, TRANSACTIONS)
            ledger = compute_ledger(wh, self.config, level=level, grain=grain, period=label, by=by)
        notes = [n for n in [as_of_note(ledger, grain), ledger.note] if n]
        if ledger.unlisted:
            notes.append(
                f"{ledger.unlisted:,} customers with transactions have no row in customers "
                "(no home unit) and are left out"
            )
        meta: dict[str, Any] = {"level": level, "grain": str(grain), "period": label, "by": by}
        as_of = f"{ledger.as_of:%Y-%m-%d}" if ledger.as_of else None
        return AssetsResult.of(ledger.frame, notes=notes, as_of=as_of, **meta)

    def clv(
        self,
        level: str = "store",
        calibration_end: Any = None,
        months: int = 36,
        discount: float = 0.01,
        draws: int = 100,
        seed: int = 0,
    ) -> ClvResult:
        """Lifetime value of the workspace's customers per unit of ``level`` (their home
        unit): BG/NBD and Gamma-Gamma fitted on the purchases up to ``calibration_end``
        (default: the data's end), expected purchases in the next 12 months and the mean and
        total value over ``months`` (discounted ``discount`` a month), with 95% intervals."""
        import ibis

        from earnright.units import read_units, unit_ancestors

        options = {"months": months, "discount": discount, "draws": draws, "seed": seed}
        with self.warehouse() as wh:
            ancestors = unit_ancestors(read_units(wh), self.config.units.levels, level)
            mapping = ibis.memtable(
                ancestors[["unit_id", "ancestor_id"]]
                .astype(str)
                .rename(columns={"unit_id": "home_unit_id"})
            )
            c = wh.table("customers").select("customer_id", "home_unit_id")
            homes = c.inner_join(mapping, "home_unit_id").select("customer_id", "ancestor_id")
            t = wh.table("transactions")
            table = t.inner_join(homes, "customer_id").select(
                "customer_id", "occurred_at", "amount", unit_id="ancestor_id"
            )
            return _value(table, calibration_end, ("unit_id",), options)


class ClvResult(Result):
    """Lifetime value: the fitted BG/NBD ``params`` (r, alpha, a, b) and ``gamma_gamma``
    (p, q, gamma), the value per unit with 95% intervals, and the holdout comparison when
    purchases follow the calibration period."""

    data: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable(self.data)

    def to_frame(self) -> pd.DataFrame:
        """The value per unit."""
        import pandas as pd

        from earnright.customers.lifetime import UNIT_COLUMNS

        return pd.DataFrame(self.data["units"], columns=UNIT_COLUMNS)

    def _summary(self) -> str:
        p = self.data["params"]
        fit = ", ".join(f"{k}={v:.3f}" for k, v in p.items())
        return f"BG/NBD {fit}: {len(self.data['units'])} unit(s)"

    @classmethod
    def of(cls, report: ClvReport, notes: list[str]) -> ClvResult:
        return cls(data=report.to_dict(), notes=[*notes, *report.notes])


def _day(value: Any, argument: str = "calibration_end") -> datetime | None:
    """A date (datetime, date or ISO text) as a day; QueryError naming the argument."""
    import pandas as pd

    if value is None:
        return None
    try:
        return pd.Timestamp(value).normalize().to_pydatetime()
    except (ValueError, TypeError) as exc:
        raise QueryError(f"'{value}' is not a date (expected e.g. 1997-09-30)",
                         argument=argument) from exc  # fmt: skip


def _value(
    table: ir.Table, calibration_end: Any, keys: tuple[str, ...], options: dict[str, Any]
) -> ClvResult:
    """Summaries of ``table`` (canonical transactions), both models fitted, every unit valued."""
    from earnright.customers.histories import holdout_weeks, purchase_summaries
    from earnright.customers.lifetime import value_customers

    span = table.aggregate(first=table.occurred_at.min(), last=table.occurred_at.max())
    first, last = span.to_pandas().iloc[0]
    if first is None or first != first:  # no rows (None or NaT)
        raise QueryError("no transactions to fit lifetime value to", argument="from")
    end = _day(calibration_end) or _day(last)
    assert end is not None
    if end < _day(first):  # type: ignore[operator]
        raise QueryError(
            f"the calibration ends {end:%Y-%m-%d}, before the first purchase ({first:%Y-%m-%d})",
            argument="calibration_end",
        )
    summaries = purchase_summaries(table, end, keys)
    if not keys:
        summaries["unit_id"] = "all"
    weeks = holdout_weeks(end, last)
    report = value_customers(summaries, f"{end:%Y-%m-%d}", holdout_weeks=weeks, **options)
    return ClvResult.of(report, [f"calibration {first:%Y-%m-%d} to {end:%Y-%m-%d}"])


def clv_table(
    source: str | Path | Any,
    calibration_end: Any = None,
    months: int = 36,
    discount: float = 0.01,
    draws: int = 100,
    seed: int = 0,
) -> ClvResult:
    """Lifetime value of the customers in a table in the canonical transactions layout
    (``customer_id``, ``occurred_at``, ``amount``; a path, DataFrame or Ibis table), fitted
    on the purchases up to ``calibration_end`` (default: the last) and compared with those
    after it. It reads no workspace."""
    from earnright.api.tables import as_table
    from earnright.customers.histories import check_transactions

    where = Path(source) if isinstance(source, str | Path) else None
    table = check_transactions(as_table(source, argument="from"), where)
    options = {"months": months, "discount": discount, "draws": draws, "seed": seed}
    return _value(
        table.select("customer_id", "occurred_at", "amount"), calibration_end, (), options
    )
