"""The ledger's flows in lifetime value: what the customers gained, won back and lost are worth.

Beside each flow's annual spend (:mod:`earnright.customers.assets`), the lifetime value of
BG/NBD and Gamma-Gamma (:mod:`earnright.customers.lifetime`), fitted once on every purchase up
to the data's end (:func:`earnright.customers.value.customer_lifetime_values`); expected spend
over ``months`` (36), discounted 1% a month:

- ``gained_ltv``, ``reactivated_ltv``: the lifetime value, as of the data's end, of the
  customers gained (won back) in the period: what the customers won are worth now;
- ``lost_ltv``: the lifetime value each lost customer carried on the day of their last
  purchase, from their history up to that day (x purchase days after their first, T = t_x the
  weeks since their first purchase, m their mean repeat spend): the future that walked out.

Where the models cannot be fitted (too few repeat buyers) the columns are empty and a note says
why. The engine selects the flows' customers; numpy scores them (one row per flow event).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.customers.assets import came_spells, went_spells
from earnright.customers.histories import finish_summaries, summary_weeks
from earnright.customers.value import (
    CustomerValues,
    values_of_summaries,
)
from earnright.errors import QueryError
from earnright.periods import Grain

__all__ = [
    "LOST_COLUMNS",
    "LTV_COLUMNS",
    "ledger_values",
    "lifetime_flows",
    "lost_lifetime_values",
    "spell_summaries",
]

LTV_COLUMNS = ["gained_ltv", "reactivated_ltv", "lost_ltv"]
# what a lost spell carries to value it by (:func:`lost_lifetime_values`)
LOST_COLUMNS = ["upto_days", "upto_spend", "first_day", "first_spend", "last"]
_WEEK_DAYS = 7


def ledger_values(everyone: ir.Table, as_of: datetime) -> tuple[CustomerValues | None, str | None]:
    """(the lifetime-value fit and every customer's value, None), or (None, why) when the
    models cannot be fitted. ``everyone``: the spells of every customer with a row in
    ``customers`` (:func:`~earnright.customers.assets.customer_spells` before any unit filter):
    the models are fitted on their summaries (:func:`spell_summaries`), without another pass
    over the transactions."""
    try:
        return values_of_summaries(spell_summaries(everyone, as_of), as_of), None
    except QueryError as exc:
        return None, f"no lifetime values in the ledger: {exc}"


def lifetime_flows(
    spells: ir.Table,
    keys: list[str],
    grain: Grain,
    span: tuple[datetime, datetime],
    values: CustomerValues,
) -> pd.DataFrame:
    """gained_ltv, reactivated_ltv and lost_ltv per unit key and period start ``ps``, on the
    fit of :func:`ledger_values` (``values``)."""
    first, as_of = span
    came = came_spells(spells, grain, first)
    came = came.select(*keys, "ps", "customer_id", "new").to_pandas()
    came = came.merge(values.frame[["customer_id", "ltv"]], on="customer_id", how="left")
    came["gained_ltv"] = np.where(came.new, came.ltv, 0.0)
    came["reactivated_ltv"] = np.where(came.new, 0.0, came.ltv)
    came = came.groupby([*keys, "ps"], as_index=False)[["gained_ltv", "reactivated_ltv"]].sum()
    went = went_spells(spells, grain, as_of)
    went = went.select(*keys, "ps", *LOST_COLUMNS).to_pandas()
    went["lost_ltv"] = lost_lifetime_values(went, values)
    went = went.groupby([*keys, "ps"], as_index=False)["lost_ltv"].sum()
    out = came.merge(went, on=[*keys, "ps"], how="outer")
    out["ps"] = pd.to_datetime(out["ps"]).astype("datetime64[us]")
    return out


def spell_summaries(spells: ir.Table, as_of: datetime) -> pd.DataFrame:
    """The purchase summaries up to ``as_of`` (the data's end) of
    :func:`~earnright.customers.value.lifetime_summaries`, from every customer's spells
    (:func:`~earnright.customers.assets.customer_spells`): the last spell holds the customer's
    whole history (purchase days, spend, first day and first spend). The same numbers: the
    weeks by the same expression, the repeat spend rounded to a millionth as there."""
    per = spells.group_by("customer_id").aggregate(
        home_unit_id=spells.home_unit_id.min(),
        days=spells.upto_days.argmax(spells.spell),
        total=spells.upto_spend.argmax(spells.spell),
        first_spend=spells.first_spend.argmax(spells.spell),
        first=spells.first_day.min(),
        last=spells["last"].max(),
    )
    end = pd.Timestamp(as_of).normalize().to_pydatetime()
    out = per.select(
        "customer_id",
        "home_unit_id",
        x=per.days - 1,
        t_x=summary_weeks(per["last"], per["first"]),
        T=summary_weeks(ibis.literal(end), per["first"]),
        repeat_spend=per.total - per.first_spend,
        holdout=ibis.literal(0, "int64"),
    )
    summaries = finish_summaries(out.to_pandas(), ("home_unit_id",))
    if summaries.empty:
        raise QueryError(f"no purchases by {end:%Y-%m-%d} to value customers from",
                         argument="as_of")  # fmt: skip
    return summaries


def lost_lifetime_values(went: pd.DataFrame, values: CustomerValues) -> np.ndarray:
    """The lifetime value each lost spell (a row with :data:`LOST_COLUMNS`) carried on the day
    of its last purchase, on the fit of ``values`` (module doc: ``lost_ltv``)."""
    from earnright.customers.lifetime import score_customers

    x = went.upto_days.astype(float) - 1
    age = (pd.to_datetime(went["last"]) - pd.to_datetime(went.first_day)).dt.days / _WEEK_DAYS
    repeat = went.upto_spend.astype(float) - went.first_spend.astype(float)
    m = np.where(x > 0, repeat / x.clip(lower=1), 0.0)
    history = pd.DataFrame({"x": x, "t_x": age, "T": age, "m": m})
    scored = score_customers(history, values.bg.values, values.gg.values, months=36, discount=0.01)
    return scored.ltv.to_numpy()
