"""The monthly leadership pack: every figure it shows, gathered from the workspace's results.

:func:`gather_pack` asks for the workspace's results (the asset ledger, why customers left,
the incidents, reliability, the scorecard and fair ranking, the accountability record) through
a :class:`~earnright.api.computed.Computed` (each once per run, shared with the site of the
same run and with every recipient's pack of ``pack --email``) for one unit's subtree and one
month, and returns a JSON-ready dict in the order a CCO presents it:
the ledger, revenue at risk and incidents, reliability per journey stage, the listening
scorecard and horse race, the decisions of the month with their outcomes, the Customer Room
(:mod:`earnright.services.room`) and the maturity map (:mod:`earnright.services.maturity`).
Each section carries ``missing``: the plain reason it has nothing to show, or ``None``.
:mod:`earnright.report.pack` draws exactly this dict; nothing is computed there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from earnright.api.computed import Computed
from earnright.errors import EarnrightError, QueryError
from earnright.periods import Grain, choose_period, parse_period
from earnright.report.site import subtree
from earnright.units import read_units

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace
    from earnright.progress import Progress

__all__ = ["LEDGER_COUNTS", "LEDGER_VALUES", "gather_pack", "within_subtree"]

LEDGER_COUNTS = ("start", "gained", "reactivated", "lost", "end", "grew", "declined")
LEDGER_VALUES = ("gained_value", "reactivated_value", "lost_value", "gained_ltv", "lost_ltv")
INCIDENT = ("id", "moment", "indicator", "segment", "started_at", "detected_at", "resolved_at",
            "status", "severity", "owner", "customers_affected", "revenue_at_risk",
            "revenue_at_risk_low", "revenue_at_risk_high")  # fmt: skip


def _stage(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress("pack", done, total)


def gather_pack(
    source: Workspace | Computed, period: str | None = None, unit: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The pack of ``unit``'s subtree (default: the whole company) for the month ``period``
    (default: the latest complete one), as a JSON-ready dict (module doc). ``source`` is the
    workspace, or the results of a run that may already hold some (the site's)."""
    from earnright.services.maturity import maturity_map
    from earnright.services.room import customer_room

    computed = source if isinstance(source, Computed) else Computed(source)
    ws = computed.ws
    config = ws.config
    with ws.warehouse() as wh:
        choice = choose_period(wh, Grain.month, period)
        frame = read_units(wh)
    units = [{str(k): v for k, v in u.items()} for u in
             frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]  # fmt: skip
    by_id = {str(u["unit_id"]): u for u in units}
    tops = [i for i, u in by_id.items() if u["level"] == config.units.levels[0]]
    root = unit if unit is not None else (tops[0] if len(tops) == 1 else None)
    if root is None or root not in by_id:
        what = f"no unit '{unit}'" if unit is not None else "no single top unit"
        raise QueryError(f"{what} in the workspace's hierarchy", argument="unit")
    here = by_id[root]
    scope = {"root": root, "units": units, "below": subtree(units, root),
             "level": str(here["level"]), "levels": list(config.units.levels)}  # fmt: skip
    label = choice.label
    steps = [
        ("ledger", lambda: _ledger(computed, scope, label)),
        ("risk", lambda: _risk(computed, scope, label)),
        ("reliability", lambda: _reliability(computed, scope, label)),
        ("listening", lambda: _listening(computed, scope, label)),
        ("decisions", lambda: _decisions(computed, scope, label)),
        ("room", lambda: customer_room(ws, scope, label)),
    ]
    pack: dict[str, Any] = {
        "company": config.company.name, "currency": config.company.currency,
        "period": label, "period_reason": choice.reason,
        "unit": {"unit_id": root, "name": here["name"], "level": here["level"]},
    }  # fmt: skip
    for done, (name, step) in enumerate(steps):
        _stage(progress, done, len(steps) + 1)
        pack[name] = step()
    pack["maturity"] = maturity_map(computed, scope, label, pack)
    _stage(progress, len(steps) + 1, len(steps) + 1)
    return pack


def _whole(value: Any) -> int | None:
    return None if value is None else round(float(value))


def _ledger(computed: Computed, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """The customer asset ledger of the root unit in whole numbers, and why customers left."""
    try:
        rows = computed.assets(scope["level"], period)
    except EarnrightError as error:
        return {"missing": f"no customer asset ledger: {error}", "row": None, "reasons": []}
    row = next((r for r in rows if r["unit_id"] == scope["root"]), None)
    if row is None:
        return {"missing": f"no customers have their home in this unit in {period}",
                "row": None, "reasons": []}  # fmt: skip
    ledger = {k: _whole(row.get(k)) for k in (*LEDGER_COUNTS, *LEDGER_VALUES)}
    try:
        lost = [r for r in computed.losses(scope["level"], period)
                if r["unit_id"] == scope["root"]]  # fmt: skip
    except EarnrightError as error:
        return {"missing": None, "row": ledger, "reasons": [], "reasons_missing": str(error)}
    reasons = [{"reason": r["reason"], "detail": r.get("detail"), "moment": r.get("moment"),
                "customers": _whole(r["customers"]), "share": r["share"],
                "value": _whole(r["value"]), "primary": _whole(r.get("primary"))}
               for r in sorted(lost, key=lambda r: -(r["value"] or 0))]  # fmt: skip
    said = None if reasons or not ledger["lost"] else "the reasons of this month's losses"
    return {"missing": None, "row": ledger, "reasons": reasons, "reasons_missing": said}


def within_subtree(
    incident: dict[str, Any], scope: dict[str, Any]
) -> tuple[bool, dict[str, Any]]:  # fmt: skip
    """Whether an incident concerns the scope's subtree (the top unit also gets incidents that
    name no unit), and its row cut to the subtree: a segment naming units outside it keeps
    only its part inside, without the counts and revenue that include the others."""
    below, levels = set(scope["below"]), scope["levels"]
    parts = [p.strip() for p in re.split(r"[;&]", str(incident.get("segment") or "")) if "=" in p]
    named = [p.split("=", 1)[1] for p in parts if p.split("=", 1)[0] in levels]
    mine = [p for p in parts if p.split("=", 1)[0] not in levels or p.split("=", 1)[1] in below]
    top = scope["level"] == levels[0]
    row = {k: incident.get(k) for k in INCIDENT}
    if not ((named and any(u in below for u in named)) or (not named and top)):
        return False, row
    if named and not all(u in below for u in named):
        row |= {"segment": "; ".join(mine), "customers_affected": None, "revenue_at_risk": None,
                "revenue_at_risk_low": None, "revenue_at_risk_high": None}  # fmt: skip
    return True, row


def _in_month(incident: dict[str, Any], period: str) -> bool:
    """Open at some time in the month: started before its end, not resolved before its start."""
    start, end = parse_period(period, Grain.month)
    began = str(incident.get("started_at") or "")
    ended = incident.get("resolved_at")
    return began < end.isoformat() and (ended is None or str(ended) >= start.isoformat())


def _risk(computed: Computed, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """The incidents open in the month within the subtree and the revenue they put at risk."""
    try:
        rows = computed.incidents()
    except EarnrightError as error:
        return {"missing": f"no incidents: {error}", "incidents": [], "revenue_at_risk": None}
    mine = [row for ok, row in (within_subtree(r, scope) for r in rows if _in_month(r, period))
            if ok]  # fmt: skip
    priced = [r["revenue_at_risk"] for r in mine if r["revenue_at_risk"] is not None]
    missing = None if mine else f"no incident was open in {period}"
    total = sum(priced) if priced else None
    return {"missing": missing, "incidents": mine, "revenue_at_risk": total,
            "priced": len(priced), "customers_affected": sum(
                r["customers_affected"] or 0 for r in mine)}  # fmt: skip


def _stage_of(ws: Workspace) -> dict[str, tuple[str, str]]:
    return {m.id: (s.id, s.name) for s in ws.config.journey.stages for m in s.moments}


def _reliability(computed: Computed, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """Each journey stage's indicators for the root unit (its own segment; overall at the top)."""
    ws = computed.ws
    if not ws.config.journey.indicators():
        return {"missing": "the journey has no reliability indicators ([[journey.stages."
                "moments.indicators]] in the config)", "stages": []}  # fmt: skip
    try:
        report = computed.reliability(period)
    except EarnrightError as error:
        return {"missing": f"no reliability: {error}", "stages": []}
    rows = indicator_rows(report, scope)
    scope["indicators"] = rows  # the Customer Room shows them per moment
    stages: dict[str, dict[str, Any]] = {}
    where = _stage_of(ws)
    for row in rows:
        stage_id, name = where.get(row["moment"], ("", ""))
        stages.setdefault(stage_id, {"stage": stage_id, "name": name, "indicators": []})
        stages[stage_id]["indicators"].append(row)
    missing = None if rows else f"no indicator has events for this unit in {period}"
    return {"missing": missing, "stages": list(stages.values())}


def indicator_rows(report: dict[str, Any], scope: dict[str, Any]) -> list[dict[str, Any]]:
    """Every indicator of every moment for the root unit's own segment (overall at the top)."""
    own = f"{scope['level']}={scope['root']}"
    top = scope["level"] == scope["levels"][0]
    rows = []
    for moment in report["moments"]:
        for ind in moment["indicators"]:
            seg = ind["overall"] if top else next(
                (s for s in ind["segments"] if s["segment"] == own), None)  # fmt: skip
            if seg is None or not seg.get("total"):
                continue
            rows.append({
                "moment": moment["moment"], "moment_name": moment["name"],
                "indicator": ind["indicator"], "name": ind["name"], "target": ind["target"],
                "good": _whole(seg["good"]), "total": _whole(seg["total"]),
                "attainment": seg["attainment"], "attainment_low": seg["attainment_low"],
                "attainment_high": seg["attainment_high"], "budget_left": seg["budget_left"],
            })  # fmt: skip
    return rows


SCORE = ("n", "nps", "nps_low", "nps_high", "n_csat", "csat", "csat_low", "csat_high",
         "responses", "invitations", "response_rate")  # fmt: skip
RACE = ("unit_id", "name", "n", "raw", "estimate", "estimate_low", "estimate_high", "rank",
        "rank_low", "rank_high", "tier")  # fmt: skip


def _listening(computed: Computed, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """The root unit's scorecard in the month and the horse race among its children."""
    levels, level = scope["levels"], scope["level"]
    why = f"no survey answers in {period}"
    try:
        rows = computed.scorecard_in(level, period)
    except EarnrightError as error:
        rows, why = [], f"no scorecard: {error}"
    own = next((r for r in rows if r["unit_id"] == scope["root"]), None)
    score = None if own is None else {k: own.get(k) for k in SCORE}
    out: dict[str, Any] = {"missing": None if own else why,
                           "score": score, "race": [], "race_level": None,
                           "race_missing": None}  # fmt: skip
    below = levels.index(level) + 1
    if below >= len(levels):
        out["race_missing"] = f"a {level} has no units below it to race"
        return out
    out["race_level"] = levels[below]
    try:
        ranked = computed.ranking(levels[below], period)
    except EarnrightError as error:
        out["race_missing"] = f"no {levels[below]} ranking: {error}"
        return out
    race = [{k: r.get(k) for k in RACE} for r in ranked if r.get("peer_id") == scope["root"]]
    out["race"] = sorted(race, key=lambda r: (r["rank"] is None, r["rank"] or 0))
    if not race:
        out["race_missing"] = f"no {levels[below]} of this unit could be ranked in {period}"
    return out


def _decisions(computed: Computed, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """Decisions taken in the month within the subtree, each with its measured outcome."""
    import pandas as pd

    ws = computed.ws
    start, end = parse_period(period, Grain.month)
    below = scope["below"]
    with ws.warehouse() as wh:
        d = wh.table("decisions")
        d = d.filter((d.decided_at >= start) & (d.decided_at < end) & d.unit_id.isin(below))
        taken = d.select("decision_id", "unit_id", "action", "action_kind", "decided_by",
                         "metric", "expected", "decided_at").to_pandas()  # fmt: skip
    if taken.empty:
        return {"missing": f"no decision was recorded in {period} (earnright decide)", "rows": []}
    try:
        outcomes = computed.outcomes()
    except EarnrightError:
        outcomes = pd.DataFrame(columns=["action_id"])
    keep = [c for c in ("action_id", "effect", "effect_low", "effect_high", "verdict", "note")
            if c in outcomes.columns]  # fmt: skip
    merged = taken.merge(outcomes[keep], left_on="decision_id", right_on="action_id", how="left")
    merged = merged.drop(columns=["action_id"]).sort_values("decided_at")
    from earnright.api.records import records

    return {"missing": None, "rows": records(merged)}
