"""Decisions, commitments and the weekly review agenda.

Decisions and commitments are append-only: a decision is never edited in place; a change of
mind is a new decision naming the same issue, so the register is its own audit trail. A
decision records who decided, under which right (:mod:`~earnright.accountability.rights`),
the action and its kind, the moment and metric it should move, the expected effect and the date
by which it should show (``[outcomes] post_weeks`` after the decision). It also starts an action
(same id) whose outcome ``earnright outcomes`` measures.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from earnright.accountability.register import now, read_issues
from earnright.accountability.rights import check_right
from earnright.config import Config
from earnright.errors import QueryError
from earnright.units import read_units
from earnright.warehouse import Warehouse

__all__ = ["AGENDA_COLUMNS", "Decision", "add_commitment", "decide", "recommend", "review"]

AGENDA_COLUMNS = [
    "issue_id", "unit_id", "title", "moment", "metric", "evidence", "customers_at_stake",
    "revenue_at_stake", "recommended", "action_kind", "theirs", "decided_by", "origin",
    "raised_at",
]  # fmt: skip
# The kind of action each origin of an issue recommends (rights name these kinds).
RECOMMENDED_KIND = {"focus": "service_fix", "incident": "operational_fix"}


@dataclass(frozen=True)
class Decision:
    """What ``decide`` stored: the decision row (also the action it started)."""

    decision_id: str
    issue_id: str
    action: str
    action_kind: str
    unit_id: str
    decided_by: str
    authority: str
    metric: str
    show_by: datetime
    decided_at: datetime
    amount: float | None = None
    expected: str | None = None
    expected_effect: float | None = None
    commitment_id: str | None = None


def _issue(wh: Warehouse, issue_id: str) -> pd.Series:
    issues = read_issues(wh)
    found = issues[issues.issue_id == issue_id]
    if found.empty:
        # no argument: the command line takes the issue as its first argument, not an option
        raise QueryError(f"no issue '{issue_id}' in the register")
    return found.iloc[0]


def _commitment(wh: Warehouse, commitment_id: str | None) -> None:
    if commitment_id is None:
        return
    c = wh.table("commitments")
    if int(c.filter(c.commitment_id == commitment_id).count().execute()) == 0:
        raise QueryError(f"no commitment '{commitment_id}'", argument="commitment")


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def decide(
    wh: Warehouse, config: Config, issue_id: str, action: str, *, by: str, kind: str | None = None,
    amount: float | None = None, metric: str | None = None, expected: str | None = None,
    expected_effect: float | None = None, commitment_id: str | None = None,
) -> Decision:  # fmt: skip
    """Record ``by``'s decision to take ``action`` on the issue; QueryError when it is not
    theirs to decide (naming who can), or the issue, metric or commitment is unknown."""
    issue = _issue(wh, issue_id)
    kind = kind or RECOMMENDED_KIND.get(str(issue.origin), "review")
    metric = metric or _text(issue.metric)
    if metric is None or not config.measurable(metric):
        raise QueryError(
            "name the metric the action should move "
            f"({', '.join(sorted(config.action_metrics()))})",
            argument="metric",
        )
    if amount is not None and not amount >= 0:
        raise QueryError("the amount is a number at least 0", argument="amount")
    _commitment(wh, commitment_id)
    unit_id = str(issue.unit_id)
    right = check_right(config, read_units(wh), by, kind, unit_id, amount)
    at = now()
    decision = Decision(
        decision_id="D-" + uuid.uuid4().hex[:10], issue_id=issue_id, action=action,
        action_kind=kind, unit_id=unit_id, decided_by=by, authority=right.authority,
        metric=metric, show_by=at + timedelta(weeks=config.outcomes.post_weeks), decided_at=at,
        amount=amount, expected=expected, expected_effect=expected_effect,
        commitment_id=commitment_id,
    )  # fmt: skip
    row = {**decision.__dict__, "moment": _text(issue.moment)}
    action_row = {
        "action_id": decision.decision_id, "unit_id": unit_id, "started_at": at,
        "metric": metric, "kind": kind, "owner": _text(issue.owner), "decided_by": by,
        "moment": _text(issue.moment), "issue_id": issue_id, "expected_effect": expected_effect,
    }  # fmt: skip
    with wh.transaction():
        wh.insert("decisions", pd.DataFrame([row]))
        wh.insert("actions", pd.DataFrame([action_row]))
    return decision


def add_commitment(wh: Warehouse, text: str, by: str) -> str:
    """Record a leadership commitment ("we will / will not …"); return its id."""
    if not text.strip() or not by.strip():
        raise QueryError("a commitment needs its words and who made it")
    commitment_id = "C-" + uuid.uuid4().hex[:10]
    row = {"commitment_id": commitment_id, "text": text.strip(), "made_by": by, "made_at": now()}
    with wh.transaction():
        wh.insert("commitments", pd.DataFrame([row]))
    return commitment_id


def recommend(issue: pd.Series) -> str:
    """The recommended action for an issue, in words, from where it came from."""
    where = f"at {issue.unit_id}"
    if issue.origin == "focus":
        return f"close the gap on {issue.metric} {where}: {issue.title}"
    if issue.origin == "incident":
        return f"fix {issue.metric} {where} and confirm the indicator recovers"
    return f"decide an action on '{issue.title}' {where} and name the metric it should move"


def review(
    wh: Warehouse, config: Config, owner: str, at: datetime | None = None
) -> pd.DataFrame:  # fmt: skip
    """The weekly agenda of ``owner``: their issues open at ``at`` (default: now), the
    evidence, a recommended action, and whether it is theirs to decide (else who decides)."""
    issues = read_issues(wh, at=at)
    mine = issues[(issues.owner == owner) & (issues.status == "open")]
    units = read_units(wh)
    rows = []
    for _, issue in mine.iterrows():
        kind = RECOMMENDED_KIND.get(str(issue.origin), "review")
        try:
            check_right(config, units, owner, kind, str(issue.unit_id), None)
            theirs, decider = True, owner
        except QueryError as exc:
            theirs, decider = False, str(exc).rsplit("decided by ", 1)[-1]
        row = {c: issue[c] for c in AGENDA_COLUMNS if c in issue.index}
        row |= {"recommended": recommend(issue), "action_kind": kind, "theirs": theirs}
        rows.append(row | {"decided_by": decider})
    frame = pd.DataFrame(rows, columns=AGENDA_COLUMNS)
    sort = ["revenue_at_stake", "customers_at_stake"]
    return frame.sort_values(sort, ascending=False, na_position="last").reset_index(drop=True)
