"""The Customer Loss Review: each month, per owner, the most valuable lost customers to call.

Each loss (:mod:`earnright.customers.losses`) goes to one owner: the owner of the journey moment
of its first reason that names a moment with an owner (an incident's, a complaint's or a
detractor answer's moment, ``[journey]``), else ``[assets] review_owner``, else the manager of
the customer's home unit (``unit:UNIT_ID``). Per owner and period the losses are ranked by value
(annual spend before they left) and the ``top`` are the queue, each with their story: every
reason with its detail and comment, the last purchase and the value. Customers already called
about that loss (a ``loss_calls`` row on or after their last purchase) leave the queue; the
reason they gave becomes their primary reason in ``earnright losses``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from earnright.config import Config
from earnright.customers.losses import VALUE_HOOK, Losses
from earnright.errors import QueryError
from earnright.warehouse import Warehouse

__all__ = ["REVIEW_COLUMNS", "record_loss_call", "review_queue"]

REVIEW_COLUMNS = [
    "owner",
    "period",
    "rank",
    "customer_id",
    "home_unit_id",
    "unit_id",
    "last_purchase",
    "lost_at",
    "value",
    "reasons",
    "story",
]


def _moment_owners(config: Config) -> dict[str, str]:
    return {m.id: m.owner for s in config.journey.stages for m in s.moments if m.owner}


def _story_part(row: pd.Series) -> str:
    when = f"{pd.Timestamp(row['at']):%Y-%m-%d}"
    text = {
        "incident": f"hit by incident {row['detail']} from {when}",
        "complaint": f"complained ({row['detail']}) on {when}",
        "detractor": f"answered {row['detail']} on {when}",
        "fewer_visits": f"came less often: {row['detail']}",
        "call": f"told us {row['detail']}",
        "no_signal": "no signal before leaving",
    }[row["reason"]]
    if row["moment"]:
        text += f" at {row['moment']}"
    if isinstance(row["comment"], str) and row["comment"]:
        text += f': "{row["comment"]}"'
    return text


def _owner_of(lost: pd.DataFrame, reasons: pd.DataFrame, config: Config) -> pd.Series:
    """Each loss's owner (module doc), indexed like ``lost``."""
    owners = _moment_owners(config)
    owned = reasons.assign(owner=reasons.moment.map(owners)).dropna(subset=["owner"])
    first = owned.drop_duplicates(["customer_id", "lost_at"], keep="first")
    keyed = lost[["customer_id", "lost_at"]].merge(
        first[["customer_id", "lost_at", "owner"]], how="left"
    )
    owner = keyed.owner.astype(object).to_numpy().copy()
    fallback = config.assets.review_owner
    default = ("unit:" + lost.home_unit_id.astype(str)).to_numpy(dtype=object)
    missing = pd.isna(owner)
    owner[missing] = fallback if fallback else default[missing]
    return pd.Series(owner, index=lost.index, dtype=object)


def review_queue(
    losses: Losses, config: Config, *, owner: str | None = None, top: int = 10
) -> pd.DataFrame:
    """The queue (:data:`REVIEW_COLUMNS`): per owner and period, the ``top`` most valuable
    losses not yet called, with their story; only ``owner``'s when given."""
    if top < 1:
        raise QueryError(f"top is {top}: give 1 or more customers per owner", argument="top")
    lost, reasons = losses.lost, losses.reasons
    if lost.empty:
        return pd.DataFrame(columns=REVIEW_COLUMNS)
    called = reasons[reasons.reason == "call"][["customer_id", "lost_at"]].drop_duplicates()
    lost = lost.merge(called, how="left", indicator=True)
    lost = lost[lost["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    lost["owner"] = _owner_of(lost, reasons, config)
    if owner is not None:
        lost = lost[lost.owner == owner]
    lost = lost.sort_values(["owner", "period", VALUE_HOOK, "customer_id"],
                            ascending=[True, True, False, True])  # fmt: skip
    lost["rank"] = lost.groupby(["owner", "period"]).cumcount() + 1
    lost = lost[lost["rank"] <= top]
    mine = reasons.merge(lost[["customer_id", "lost_at"]], on=["customer_id", "lost_at"])
    mine = mine.assign(text=mine.apply(_story_part, axis=1) if len(mine) else [])
    stories = mine.groupby(["customer_id", "lost_at"], as_index=False).agg(
        reasons=("reason", lambda r: ", ".join(dict.fromkeys(r))),
        story=("text", "; ".join),
    )
    out = lost.merge(stories, on=["customer_id", "lost_at"], how="left")
    out = out.rename(columns={"last": "last_purchase", VALUE_HOOK: "value"})
    out["value"] = out.value.round(2)
    return out[REVIEW_COLUMNS].reset_index(drop=True)


def record_loss_call(
    wh: Warehouse,
    customer_id: str,
    *,
    outcome: str,
    caller: str,
    called_at: datetime,
    reason_code: str | None = None,
    won_back: bool | None = None,
) -> dict[str, object]:
    """Store one call to a lost customer (a ``loss_calls`` row; the same customer and time
    again replaces it). QueryError for an unknown customer or an empty reason or caller."""
    if not outcome.strip():
        raise QueryError("the reason is empty: say what the customer told you", argument="reason")
    if not caller.strip():
        raise QueryError("the caller is empty: name who called", argument="by")
    c = wh.table("customers")
    if int(c.filter(c.customer_id == customer_id).count().execute()) == 0:
        raise QueryError(
            f"customer '{customer_id}' is not in the customers table; check the id",
            argument="customer",
        )
    row: dict[str, object] = {
        "customer_id": customer_id,
        "called_at": called_at,
        "caller": caller.strip(),
        "outcome": outcome.strip(),
        "reason_code": (reason_code or "").strip() or None,
        "won_back": None if won_back is None else int(won_back),
        "batch_id": None,
    }
    with wh.transaction():
        wh.delete("loss_calls", {"customer_id": customer_id, "called_at": called_at})
        wh.insert("loss_calls", {k: [v] for k, v in row.items()})
    return row
