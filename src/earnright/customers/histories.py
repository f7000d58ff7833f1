"""Per-customer purchase summaries for lifetime value, aggregated by the engine.

From any table with ``customer_id``, ``occurred_at`` and ``amount`` (the canonical transactions
layout; the warehouse's ``transactions`` or a file), with purchases on the same day as one
purchase (their amounts summed), and a calibration period that ends on ``calibration_end``
(inclusive):

- ``x`` repeat purchase days, ``t_x`` weeks from the first to the last, ``T`` weeks from the first
  to ``calibration_end``, ``m`` mean spend of the repeat purchases (0 when x = 0);
- ``holdout``: purchase days after ``calibration_end`` (up to the data's end).

Customers whose first purchase comes after ``calibration_end`` are left out: the model has not
met them. One grouped scan; pandas receives one row per customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.errors import QueryError

__all__ = [
    "REQUIRED",
    "check_transactions",
    "finish_summaries",
    "purchase_summaries",
    "summary_weeks",
]

REQUIRED = ("customer_id", "occurred_at", "amount")
_WEEK = 7 * 86_400


def check_transactions(table: ir.Table, where: Path | None = None) -> ir.Table:
    """``table`` with typed ``customer_id`` (text), ``occurred_at`` and ``amount``; QueryError
    naming the file, the line and the field of the first value that is not one."""
    name = f"{where}: " if where else ""
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise QueryError(
            f"{name}no column {', '.join(missing)}: the transactions layout has "
            f"{', '.join(REQUIRED)} (and unit_id)",
            argument="from",
        )
    line = ibis.row_number() + 2  # the header is line 1
    typed = table.mutate(
        _line=line,
        _at=table.occurred_at.cast("string").try_cast("timestamp"),
        _amount=table.amount.cast("string").try_cast("float64"),
    )
    for field, col in (("occurred_at", "_at"), ("amount", "_amount")):
        bad = typed.filter(typed[col].isnull()).order_by("_line").limit(1).to_pandas()
        if len(bad):
            value = bad[field].iloc[0]
            raise QueryError(
                f"{name}line {int(bad['_line'].iloc[0])}, field {field}: {value!r} is not "
                f"{'a date and time' if field == 'occurred_at' else 'a number'}",
                argument="from",
            )
    return typed.select(
        customer_id=typed.customer_id.cast("string"),
        occurred_at=typed._at,
        amount=typed._amount,
        **({"unit_id": typed.unit_id.cast("string")} if "unit_id" in table.columns else {}),
    )


def purchase_summaries(
    table: ir.Table, calibration_end: datetime, keys: tuple[str, ...] = ()
) -> pd.DataFrame:
    """One row per customer met by ``calibration_end``: customer_id, ``keys`` (e.g. the home
    unit, constant per customer), x, t_x, T, m, holdout (module doc)."""
    end = pd.Timestamp(calibration_end).normalize().to_pydatetime()
    cut = ibis.literal(end + timedelta(days=1))
    day = table.occurred_at.truncate("D")
    days = table.group_by(["customer_id", *keys], day=day).aggregate(spend=table.amount.sum())
    cal = days.filter(days.day < cut)
    per = cal.group_by(["customer_id", *keys]).aggregate(
        first=cal.day.min(),
        last=cal.day.max(),
        n=cal.count(),
        total=cal.spend.sum(),
        first_spend=cal.spend.argmin(cal.day),
    )
    after = days.filter(days.day >= cut)
    later = after.group_by("customer_id").aggregate(holdout=after.count())
    joined = per.left_join(later, "customer_id").select(per, later.holdout)
    x, weeks = joined.n - 1, summary_weeks
    out = joined.select(
        "customer_id",
        *keys,
        x=x,
        t_x=weeks(joined["last"], joined["first"]),
        T=weeks(ibis.literal(end), joined["first"]),
        repeat_spend=joined.total - joined.first_spend,
        holdout=joined.holdout.fill_null(0),
    )
    return finish_summaries(out.to_pandas(), keys)


def summary_weeks(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Weeks from ``earlier`` to ``later``, as :func:`purchase_summaries` counts them."""
    return (later.epoch_seconds() - earlier.epoch_seconds()) / _WEEK


def finish_summaries(frame: pd.DataFrame, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """The summaries of :func:`purchase_summaries` from the engine's rows (customer_id, ``keys``,
    x, t_x, T, repeat_spend, holdout): sorted by customer, typed, ``m`` from the repeat spend."""
    frame = frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
    frame = frame.astype({"x": "int64", "holdout": "int64", "t_x": float, "T": float})
    # the engine sums in no fixed order: the spend rounded to a millionth (money has cents) is
    # the same in every run, so two runs fit the same numbers to the last digit
    spend = frame.pop("repeat_spend").astype(float).round(6)
    frame.insert(4 + len(keys), "m", np.where(frame.x > 0, spend / frame.x.clip(lower=1), 0.0))
    return frame


def holdout_weeks(calibration_end: datetime, data_end: datetime) -> float:
    """Weeks from the end of ``calibration_end`` (a day) to the end of ``data_end``'s day."""
    a = pd.Timestamp(calibration_end).normalize()
    b = pd.Timestamp(data_end).normalize()
    return max((b - a).days, 0) / 7
