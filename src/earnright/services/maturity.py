"""The maturity map that closes the pack: where the company stands on the five competencies.

Every sign is measured from the workspace, never asked: a share ``k`` of ``m`` with its 95%
Wilson interval, or a count. Its trend is the change since the last pack of the same unit (the
``packs`` table keeps each pack's figures; :func:`store_figures` writes them, so the next pack
can compare). A sign that cannot be measured says why.

- customers as assets: months of the last 12 with a ledger; lost customers whose reason is known
- alignment: feedback tied to a journey moment; metrics watched at a moment; moments with an owner
- listening: stores with a credible monthly score; the response rate
- reliability: moments with indicators and targets; incidents found before the surveys moved
- leadership: decisions with a measured outcome; commitments put into practice
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from earnright.errors import EarnrightError
from earnright.periods import Grain, parse_period
from earnright.stats.intervals import wilson_interval

if TYPE_CHECKING:
    from earnright.api.computed import Computed
    from earnright.api.workspace import Workspace
    from earnright.warehouse import Warehouse

__all__ = ["COMPETENCIES", "maturity_map", "previous_figures", "store_figures"]

COMPETENCIES = ("customers as assets", "alignment", "listening", "reliability", "leadership")
MEASURED = ("better", "worse", "no difference", "too small to tell")  # outcome verdicts


def _share(competency: str, sign: str, k: int, m: int, missing: str = "") -> dict[str, Any]:
    if m <= 0:
        return {"competency": competency, "sign": sign, "kind": "share", "k": k, "m": m,
                "value": None, "low": None, "high": None,
                "missing": missing or "nothing to count"}  # fmt: skip
    p, low, high = wilson_interval(k, m)
    return {"competency": competency, "sign": sign, "kind": "share", "k": k, "m": m,
            "value": float(p), "low": float(low), "high": float(high), "missing": None}  # fmt: skip


def _month_shift(period: str, months: int) -> str:
    year, month = (int(x) for x in period.split("-"))
    index = year * 12 + month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _assets(wh: Warehouse, scope: dict[str, Any], period: str, pack: dict[str, Any]) -> list:
    first = parse_period(_month_shift(period, 11), Grain.month)[0]
    end = parse_period(period, Grain.month)[1]
    t = wh.table("transactions")
    t = t.filter((t.occurred_at >= first) & (t.occurred_at < end))
    months = int(t.occurred_at.truncate("M").nunique().execute() or 0)
    ledger = pack["ledger"]
    lost = (ledger.get("row") or {}).get("lost") or 0
    unknown = sum(r["customers"] or 0 for r in ledger["reasons"] if r["reason"] == "no_signal")
    said = "no customer was lost this month" if not lost else ""
    return [
        _share("customers as assets", "months of the last 12 with a customer ledger", months, 12),
        _share("customers as assets", "lost customers whose reason is known",
               max(lost - unknown, 0), lost, said),
    ]  # fmt: skip


def _alignment(wh: Warehouse, ws: Workspace, scope: dict[str, Any], period: str) -> list:
    start, end = parse_period(period, Grain.month)
    moments = [m for s in ws.config.journey.stages for m in s.moments]
    ids = [m.id for m in moments]
    fb = wh.table("feedback")
    fb = fb.filter((fb.responded_at >= start) & (fb.responded_at < end)
                   & fb.unit_id.isin(scope["below"]))  # fmt: skip
    counts = fb.aggregate(all=fb.count(), tied=fb.moment.isin(ids or [""]).sum()).to_pandas()
    total, tied = int(counts["all"][0] or 0), int(counts["tied"][0] or 0)
    metrics = set(wh.table("metrics").select("metric").distinct().to_pandas()["metric"].astype(str))
    watched = {i.metric for _, i in ws.config.journey.indicators()}
    return [
        _share("alignment", "feedback tied to a journey moment", tied, total,
               "no feedback this month"),
        _share("alignment", "metrics watched at a journey moment", len(metrics & watched),
               len(metrics), "no operational metrics ingested"),
        _share("alignment", "moments with a named owner", sum(bool(m.owner) for m in moments),
               len(moments), "the config names no journey moments"),
    ]  # fmt: skip


def _listening(computed: Computed, scope: dict[str, Any], period: str, pack: dict) -> list:
    leaf = scope["levels"][-1]
    stores = [u for u in scope["units"] if u["level"] == leaf and str(u["unit_id"]) in
              set(scope["below"])]  # fmt: skip
    try:
        rows = computed.scorecard_in(leaf, period)
    except EarnrightError:
        rows = []  # no answers in the month: no store has a credible score
    mine = {str(u["unit_id"]) for u in stores}
    credible = sum(1 for r in rows if r["unit_id"] in mine and r.get("nps") is not None)
    score = pack["listening"].get("score") or {}
    responses, invited = int(score.get("responses") or 0), int(score.get("invitations") or 0)
    return [
        _share("listening", f"{leaf}s with a credible monthly score", credible, len(stores)),
        _share("listening", "survey response rate", responses, invited,
               "no invitations were recorded this month"),
    ]  # fmt: skip


def _early(wh: Warehouse, ws: Workspace, scope: dict[str, Any], incidents: list) -> tuple:
    """How many incidents were detected before the first detractor answer about their
    moment from their units after they started (or with none), of those naming units."""
    nps = ws.config.question_of_kind("nps")
    fb = wh.table("feedback")
    early = counted = 0
    if nps is None or nps.id not in fb.columns:
        return 0, 0
    levels = scope["levels"]
    from earnright.report.site import subtree

    for incident in incidents:
        parts = [p.strip().split("=", 1) for p in str(incident["segment"] or "").split(";")]
        named = [v for k, v in (p for p in parts if len(p) == 2) if k in levels]
        units = {u for n in named for u in subtree(scope["units"], n)} or set(scope["below"])
        f = fb.filter((fb.moment == incident["moment"]) & fb.unit_id.isin(sorted(units))
                      & (fb.responded_at >= datetime.fromisoformat(incident["started_at"]))
                      & (fb[nps.id] <= 6))  # fmt: skip
        first = f.responded_at.min().execute()
        counted += 1
        detected = datetime.fromisoformat(str(incident["detected_at"]))
        early += int(first is None or str(first) == "NaT" or detected <= first)
    return early, counted


def _reliability(wh: Warehouse, ws: Workspace, scope: dict[str, Any], pack: dict) -> list:
    moments = [m for s in ws.config.journey.stages for m in s.moments]
    watched = sum(1 for m in moments if m.indicators)
    incidents = [i for i in pack["risk"]["incidents"] if i.get("detected_at") and i.get("moment")]
    early, counted = _early(wh, ws, scope, incidents)
    return [
        _share("reliability", "priority moments with indicators and targets", watched,
               len(moments), "the config names no journey moments"),
        _share("reliability", "incidents found before the surveys moved", early, counted,
               "no incident this month"),
    ]  # fmt: skip


def _leadership(wh: Warehouse, computed: Computed, scope: dict[str, Any], period: str) -> list:
    end = parse_period(period, Grain.month)[1]
    d = wh.table("decisions")
    ids = d.filter((d.decided_at < end) & d.unit_id.isin(scope["below"])).decision_id
    decided = [str(x) for x in ids.to_pandas()]
    measured = 0
    if decided:
        try:
            rows = computed.outcomes().to_dict(orient="records")
        except EarnrightError:
            rows = []  # no outcome can be measured: none is counted
        measured = sum(1 for o in rows if o["action_id"] in set(decided)
                       and o.get("verdict") in MEASURED)  # fmt: skip
    c = wh.table("commitments")
    made = [str(x) for x in c.filter(c.made_at < end).commitment_id.to_pandas()]
    kept = d.filter(d.commitment_id.isin(made or [""]) & (d.decided_at < end))
    practised = int(kept.commitment_id.nunique().execute() or 0) if made else 0
    return [
        _share("leadership", "decisions with a measured outcome", measured, len(decided),
               "no decision recorded yet (earnright decide)"),
        _share("leadership", "commitments put into practice by a decision", practised,
               len(made), "no commitment recorded yet (earnright commit)"),
    ]  # fmt: skip


def maturity_map(
    computed: Computed, scope: dict[str, Any], period: str, pack: dict[str, Any]
) -> dict[str, Any]:
    """Every competency's signs (module doc) and their change since the last pack; each
    result is asked of the run's ``computed`` (the pack's own, shared with the site)."""
    ws = computed.ws
    with ws.warehouse() as wh:
        signs = [
            *_assets(wh, scope, period, pack),
            *_alignment(wh, ws, scope, period),
            *_listening(computed, scope, period, pack),
            *_reliability(wh, ws, scope, pack),
            *_leadership(wh, computed, scope, period),
        ]
        before = previous_figures(wh, scope["root"], period)
    earlier = {s["sign"]: s for s in (before or {}).get("signs", [])}
    for sign in signs:
        old = earlier.get(sign["sign"], {}).get("value")
        sign["previous"] = old
        sign["change"] = None if old is None or sign["value"] is None else sign["value"] - old
    since = None if before is None else before["period"]
    return {"previous_period": since, "signs": signs,
            "trend_missing": None if before else "this is the first pack of this unit: the "
            "trend starts with the next one"}  # fmt: skip


def previous_figures(wh: Warehouse, unit_id: str, period: str) -> dict[str, Any] | None:
    """The maturity figures of the latest earlier pack of ``unit_id``, or None."""
    t = wh.table("packs")
    rows = t.filter((t.unit_id == unit_id) & (t.period < period)).order_by(t.period.desc())
    found = rows.limit(1).select("period", "figures").to_pandas()
    if found.empty:
        return None
    return {"period": str(found.period[0]), **json.loads(found.figures[0])}


def store_figures(wh: Warehouse, pack: dict[str, Any]) -> None:
    """Keep this pack's maturity figures (one row per unit and month, replaced when rebuilt)."""
    unit_id, period = pack["unit"]["unit_id"], pack["period"]
    figures = {"signs": [{k: s[k] for k in ("competency", "sign", "value", "k", "m")}
                         for s in pack["maturity"]["signs"]]}  # fmt: skip
    with wh.transaction():
        wh.delete("packs", {"unit_id": unit_id, "period": period})
        wh.insert("packs", {"unit_id": [unit_id], "period": [period],
                            "figures": [json.dumps(figures)],
                            "made_at": [datetime.now(UTC).replace(tzinfo=None)]})  # fmt: skip
