"""Decision rights: may a person decide an action alone, and if not, who can.

A right (``[[decisions.rights]]`` in the config) covers the kinds of action it lists (all when
empty), the units it lists with every unit under them (all when empty), up to an amount (no
limit when empty). A name that rights escalate to but that holds no right of its own is a top
authority: it may decide anything. With no rights declared, anyone may decide (the authority
says so).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from earnright.config import Config, Right
from earnright.errors import QueryError

__all__ = ["Authority", "check_right", "unit_lineage"]


@dataclass(frozen=True)
class Authority:
    """Under which right a decision is made, in words (``authority``), and whether the decider
    holds it as their own (``own``) or as the one a right escalates to."""

    authority: str
    own: bool


def unit_lineage(units: pd.DataFrame, unit_id: str | None) -> set[str]:
    """The unit and every unit above it (by the current hierarchy)."""
    parents = dict(zip(units.unit_id.astype(str), units.parent_id, strict=True))
    seen: set[str] = set()
    current = unit_id
    while current is not None and not pd.isna(current) and current not in seen:
        seen.add(str(current))
        current = parents.get(str(current))
    return seen


def _covers(right: Right, kind: str, lineage: set[str], amount: float | None) -> bool:
    if right.actions and kind not in right.actions:
        return False
    if right.units and not lineage & set(right.units):
        return False
    return right.up_to is None or (amount or 0.0) <= right.up_to


def _describe(right: Right) -> str:
    kinds = ", ".join(right.actions) or "any action"
    units = ", ".join(right.units) or "any unit"
    limit = "no limit" if right.up_to is None else f"up to {right.up_to:,.0f}"
    return f"{right.owner}'s right ({kinds}; {units}; {limit})"


def check_right(
    config: Config, units: pd.DataFrame, by: str, kind: str, unit_id: str | None,
    amount: float | None,
) -> Authority:  # fmt: skip
    """The authority under which ``by`` decides ``kind`` at ``unit_id`` for ``amount``;
    QueryError (argument ``by``) naming who can decide when it is not theirs."""
    rights = config.decisions.rights
    if not rights:
        return Authority("no decision rights declared ([[decisions.rights]])", own=True)
    lineage = unit_lineage(units, unit_id)
    mine = [r for r in rights if r.owner == by]
    for right in mine:
        if _covers(right, kind, lineage, amount):
            return Authority(_describe(right), own=True)
    owners = {r.owner for r in rights}
    targets = {r.escalate_to for r in rights if r.escalate_to}
    if not mine and by in targets - owners:
        return Authority(f"{by}: top authority (rights escalate to them)", own=False)
    can = _who_can(rights, mine, kind, lineage, amount, targets - owners)
    what = f"'{kind}' at {unit_id or 'no unit'}" + (f" for {amount:,.0f}" if amount else "")
    reason = "holds no decision right" if not mine else "has no right covering it"
    raise QueryError(
        f"{by} {reason}: {what} is not theirs to decide; it can be decided by "
        f"{', '.join(sorted(can)) or 'nobody (declare a [[decisions.rights]] that covers it)'}",
        argument="by",
    )


def _who_can(
    rights: list[Right], mine: list[Right], kind: str, lineage: set[str], amount: float | None,
    tops: set[str],
) -> set[str]:  # fmt: skip
    """Who to escalate to: the escalate_to of the decider's own rights for this kind and unit,
    else every owner whose right covers it, else the top authorities."""
    near = [r for r in mine if _covers(r.model_copy(update={"up_to": None}), kind, lineage, 0)]
    escalate = {r.escalate_to for r in (near or mine) if r.escalate_to}
    if escalate:
        return escalate
    covering = {r.owner for r in rights if _covers(r, kind, lineage, amount)}
    return covering or tops
