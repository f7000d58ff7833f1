"""The issue register: what customers need fixed, from files, people and the product.

Each issue has its unit, journey moment, owner, metric, evidence (the numbers and comments
behind it) and what is at stake (customers and revenue, where known). Issues come from

- files of kind ``issues`` (``origin`` empty: a file),
- people: :func:`add_issue` (``earnright issue add``, origin ``person``),
- the product: :func:`focus_issues`, :func:`incident_issues`, :func:`loss_issues`,
  :func:`reason_issues` and :func:`theme_issues` turn focus items, early-warning incidents, the
  loss review's incident reasons with a material excess, the complaints and loss-call reasons
  lost customers gave, and comment themes that rose or turned negative beyond noise into issues
  that :func:`sync_issues` adds once (their ids are derived from what they are, so syncing again
  adds nothing).

An issue is open until a decision names it (decisions are append-only; see
:mod:`earnright.accountability.decisions`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import ibis
import pandas as pd

from earnright.errors import QueryError
from earnright.listening.focus import FocusList
from earnright.units import read_units
from earnright.warehouse import TABLES, Warehouse

__all__ = [
    "ISSUE_COLUMNS",
    "add_issue",
    "focus_issues",
    "incident_issues",
    "loss_issues",
    "now",
    "read_issues",
    "reason_issues",
    "sync_issues",
    "theme_issues",
]

ISSUE_COLUMNS = [c for c in TABLES["issues"].columns if c != "batch_id"]


def now() -> datetime:
    """The current time, naive UTC (how the warehouse stores time)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ISSUE_COLUMNS)
    for col in ("customers_at_stake", "revenue_at_stake"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["raised_at"] = pd.to_datetime(frame["raised_at"])
    return frame


def add_issue(
    wh: Warehouse, unit_id: str, title: str, owner: str, **details: object
) -> str:  # fmt: skip
    """Add an issue raised by a person (``details``: moment, metric, evidence,
    customers_at_stake, revenue_at_stake); return its id. QueryError for an unknown unit."""
    if unit_id not in set(read_units(wh).unit_id):
        raise QueryError(f"no unit '{unit_id}' in the units table", argument="unit")
    if not title.strip() or not owner.strip():
        raise QueryError("an issue needs a title and an owner", argument="title")
    unknown = set(details) - set(ISSUE_COLUMNS)
    if unknown:
        raise TypeError(f"unknown issue fields: {sorted(unknown)}")
    issue_id = "P-" + uuid.uuid4().hex[:10]
    row: dict[str, object] = {"issue_id": issue_id, "unit_id": unit_id, "title": title.strip()}
    row["owner"] = owner
    row |= {"raised_at": now(), "origin": "person", **details}
    with wh.transaction():
        wh.insert("issues", _frame([row]))
    return issue_id


def focus_issues(lists: Sequence[FocusList], raised_at: datetime) -> pd.DataFrame:
    """One issue per focus item: the driver a unit is credibly behind its peers on."""
    rows = []
    for focus in lists:
        for item in focus.items:
            moment = item.moments[0].id if item.moments else None
            rows.append(
                {
                    "issue_id": f"focus:{focus.unit_id}:{item.driver}:{focus.period}",
                    "unit_id": focus.unit_id,
                    "title": f"{item.label}: behind peers by {-item.gap:.2f} points",
                    "owner": item.owner,
                    "moment": moment,
                    "metric": item.driver,
                    "evidence": item.sentence,
                    "customers_at_stake": float(item.n),
                    "raised_at": raised_at,
                    "origin": "focus",
                }
            )
    return _frame(rows)


def _segment_unit(segment: object, units: set[str], root: str | None) -> str | None:
    for value in re.findall(r"=([^&;]+)", str(segment or "")):
        if value.strip() in units:
            return value.strip()
    return root


def incident_issues(wh: Warehouse, indicators: dict[str, str]) -> pd.DataFrame:
    """One issue per early-warning incident: its segment's unit (else the top unit), the
    moment's owner, and the customers and revenue at risk. ``indicators``: indicator id by
    the metric it reads, so an action on the issue targets the indicator."""
    inc = wh.table("incidents").to_pandas()
    u = read_units(wh)
    ids = set(u.unit_id.astype(str))
    tops = u[u.parent_id.isna()].unit_id.astype(str).tolist()
    root = tops[0] if len(tops) == 1 else None
    rows = []
    for r in inc.itertuples():
        at_risk = (
            "" if pd.isna(r.revenue_at_risk) else f"; revenue at risk {r.revenue_at_risk:,.0f}"
        )
        rows.append(
            {
                "issue_id": f"incident:{r.incident_id}",
                "unit_id": _segment_unit(r.segment, ids, root),
                "title": f"{r.indicator} failing for {r.segment or 'everyone'}",
                "owner": r.owner,
                "moment": r.moment,
                "metric": indicators.get(str(r.metric), r.indicator),
                "evidence": f"{r.severity} incident {r.status}, started {r.started_at}{at_risk}",
                "customers_at_stake": r.customers_affected,
                "revenue_at_stake": r.revenue_at_risk,
                "raised_at": r.detected_at,
                "origin": "incident",
            }
        )
    return _frame(rows)


def loss_issues(
    summary: pd.DataFrame, excess: pd.DataFrame, owners: Mapping[str, str], raised_at: datetime
) -> pd.DataFrame:  # fmt: skip
    """One issue per unit, period and incident of the loss summary (customers/losses.py
    ``summarise_losses``) whose incident lost credibly more customers than comparable
    unexposed ones (``excess``: its interval's low end above zero). At stake: the unit's part
    of the excess and the value of those customers; the fix should move ``retention``.
    ``owners``: an incident's owner by its id."""
    bounds = {
        str(d): (float(x), float(lo), float(hi))
        for d, x, lo, hi in zip(excess.detail, excess.excess, excess.excess_low,
                                excess.excess_high, strict=True)
        if pd.notna(lo) and float(lo) > 0
    }  # fmt: skip
    rows = summary[(summary.reason == "incident") & summary.detail.isin(list(bounds))]
    out = []
    for r in rows.to_dict("records"):
        incident = str(r["detail"]).split(" ")[0]
        x, lo, hi = bounds[str(r["detail"])]
        mine = float(r["excess"]) if pd.notna(r["excess"]) else 0.0
        share = mine / r["customers"] if r["customers"] else 0.0
        out.append(
            {
                "issue_id": f"loss:{r['unit_id']}:{incident}:{r['period']}",
                "unit_id": r["unit_id"],
                "title": f"Customers lost after {r['detail']}",
                "owner": owners.get(incident),
                "moment": r["moment"] or None,
                "metric": "retention",
                "evidence": f"{r['customers']} of the {r['lost']} customers lost in "
                f"{r['period']} had been hit by {r['detail']}; the incident lost {x:.0f} "
                f"more than comparable unexposed customers (95% {lo:.0f} to {hi:.0f}), "
                f"{mine:.1f} of them here",
                "customers_at_stake": mine,
                "revenue_at_stake": float(r["value"]) * share,
                "raised_at": raised_at,
                "origin": "loss",
            }
        )
    return _frame(out)


TOLD = {"complaint": "complained about", "call": "said on a loss call"}


def reason_issues(
    summary: pd.DataFrame, reasons: pd.DataFrame, owners: Mapping[str, str], fallback: str,
    raised_at: datetime,
) -> pd.DataFrame:  # fmt: skip
    """One issue per unit, period, and complaint moment or loss-call reason of the loss summary
    (customers/losses.py ``summarise_losses``) that is the primary reason of at least one
    lost customer: what customers told before they left. Evidence: how many of the period's
    lost customers, and their latest words (``reasons``: the loss review's reason rows with
    comments); at stake: those customers and their value. ``owners``: a moment's owner;
    ``fallback``: who reviews losses naming no owned moment (``{unit}`` is the unit)."""
    rows = summary[summary.reason.isin(list(TOLD)) & (summary.primary > 0)]
    out = []
    for r in rows.to_dict("records"):
        moment = str(r["moment"] or "")
        subject = moment if r["reason"] == "complaint" else str(r["detail"] or "no reason")
        words = _latest_words(reasons, r)
        share = r["primary"] / r["customers"] if r["customers"] else 0.0
        evidence = (f"{r['primary']} of the {r['lost']} customers lost in {r['period']} "
                    f"{TOLD[r['reason']]} {subject or 'the store'} before they left")  # fmt: skip
        out.append(
            {
                "issue_id": f"loss:{r['unit_id']}:{r['reason']}:{subject}:{r['period']}",
                "unit_id": r["unit_id"],
                "title": f"Lost customers {TOLD[r['reason']]} {subject or 'the store'}",
                "owner": owners.get(moment) or fallback.format(unit=r["unit_id"]),
                "moment": moment or None,
                "metric": "retention",
                "evidence": evidence + (f': "{words}"' if words else ""),
                "customers_at_stake": float(r["primary"]),
                "revenue_at_stake": float(r["value"]) * share,
                "raised_at": raised_at,
                "origin": "loss",
            }
        )
    return _frame(out)


def _latest_words(reasons: pd.DataFrame, row: Mapping[Any, Any]) -> str:
    """The latest comment of the loss review's reason rows behind a summary row."""
    if reasons.empty or "unit_id" not in reasons:
        return ""
    mine = reasons[(reasons.unit_id == row["unit_id"]) & (reasons.period == row["period"])
                   & (reasons.reason == row["reason"])]  # fmt: skip
    if row["reason"] == "complaint":
        mine = mine[mine.moment.fillna("") == (row["moment"] or "")]
    else:
        mine = mine[mine.detail.fillna("").str.split(" \\(by").str[0] == (row["detail"] or "")]
    said = mine.dropna(subset=["comment"]).sort_values("at")
    return "" if said.empty else str(said.comment.iloc[-1])[:200]


def theme_issues(
    trends: pd.DataFrame, owners: Mapping[str, str], fallback: str, raised_at: datetime,
    said: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One issue per unit and theme of ``trends`` (comments/trend.py ``theme_trends``) whose
    customers complain more: its share of comments rose beyond noise while what they say on it
    is negative on average, or the share of its mentions that are negative rose beyond noise.
    A theme customers praise more often is not an issue. ``owners``: a moment's owner;
    ``fallback``: who reviews the rest (``{unit}`` is the unit); ``said``: a recent negative
    comment per (unit, theme), quoted as evidence."""
    rising = trends.flagged & (trends.change > 0) & (trends.sentiment < 0)
    souring = trends.negative_flagged & (trends.negative_change > 0)
    out = []
    for r in trends[rising | souring].to_dict("records"):
        moment = r["moment"] if isinstance(r["moment"], str) else ""
        if r["negative_flagged"] and r["negative_change"] > 0:
            title = f"Comments on {r['theme']} turned negative"
            evidence = (f"{r['negative']:.0%} of the {r['mentions']} comments on {r['theme']} in "
                        f"{r['period']} were negative (95% {r['negative_low']:.0%} to "
                        f"{r['negative_high']:.0%}), against {r['previous_negative']:.0%} the "
                        f"period before; q = {r['negative_q_value']:.3f}")  # fmt: skip
        else:
            title = f"More customers complain about {r['theme']}"
            evidence = (f"{r['share']:.0%} of the {r['comments']} comments in {r['period']} "
                        f"were on {r['theme']} (95% {r['share_low']:.0%} to "
                        f"{r['share_high']:.0%}), against {r['previous']:.0%} the period "
                        f"before; mean sentiment {r['sentiment']:+.2f}; "
                        f"q = {r['q_value']:.3f}")  # fmt: skip
        words = (said or {}).get((str(r["unit_id"]), str(r["theme"])))
        out.append(
            {
                "issue_id": f"theme:{r['unit_id']}:{r['theme']}:{r['period']}",
                "unit_id": r["unit_id"],
                "title": title,
                "owner": owners.get(moment) or fallback.format(unit=r["unit_id"]),
                "moment": moment or None,
                "evidence": evidence + (f': "{words}"' if words else ""),
                "customers_at_stake": float(r["mentions"]),
                "raised_at": raised_at,
                "origin": "theme",
            }
        )
    return _frame(out)


def sync_issues(wh: Warehouse, found: pd.DataFrame) -> int:
    """Add the issues of ``found`` not yet in the register; return how many were added."""
    found = found.dropna(subset=["unit_id"]).drop_duplicates("issue_id")
    if found.empty:
        return 0
    with wh.transaction():
        before = wh.count("issues")
        new = ibis.memtable(found).anti_join(wh.table("issues"), "issue_id")
        wh.insert("issues", new)
        return wh.count("issues") - before


def read_issues(wh: Warehouse, *, at: datetime | None = None) -> pd.DataFrame:
    """Every issue raised by ``at`` (default: now), with ``status`` (open, or decided when a
    decision made by ``at`` names it) and ``decisions`` (how many)."""
    issues = wh.table("issues").to_pandas()[ISSUE_COLUMNS]
    d = wh.table("decisions").select("issue_id", "decided_at").to_pandas()
    if at is not None:
        issues = issues[issues.raised_at.isna() | (issues.raised_at < at)]
        d = d[d.decided_at < at]
    counts = d.groupby("issue_id").size()
    issues = issues.assign(decisions=issues.issue_id.map(counts).fillna(0).astype("int64"))
    issues["origin"] = issues["origin"].fillna("file")
    issues["status"] = issues["decisions"].gt(0).map({True: "decided", False: "open"})
    return issues.sort_values(["raised_at", "issue_id"], na_position="first").reset_index(drop=True)
