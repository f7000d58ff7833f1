"""The Customer Room: one page per journey stage, in customers' terms.

For each stage and each of its moments, side by side: what customers said (the comments of
answers tagged with that moment, as stored — masked where masking is on), the operational
indicators of the moment (its reliability for the unit), and the survey results of the moment
(NPS of the answers tagged with it and the means of the moment's driver questions, each with
its 95% interval). The engine aggregates (one pass over the month's feedback of the subtree);
numpy finishes the intervals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from earnright.periods import Grain, parse_period
from earnright.stats.intervals import mean_interval, nps_interval

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from earnright.api.workspace import Workspace

__all__ = ["COMMENTS_PER_MOMENT", "customer_room", "moment_survey"]

COMMENTS_PER_MOMENT = 6
THEMES_NOTE = "Comments are shown as stored; themes and sentiment per comment are not available yet"


def _feedback(wh: Any, below: list[str], period: str) -> ir.Table:
    start, end = parse_period(period, Grain.month)
    fb = wh.table("feedback")
    return fb.filter((fb.responded_at >= start) & (fb.responded_at < end) & fb.unit_id.isin(below))


def moment_survey(
    fb: ir.Table, nps_id: str | None, questions: dict[str, list[str]],
    labels: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Per moment: survey answers n, NPS with its adjusted-Wald interval and each of the
    moment's driver questions' mean with its t interval (survey answers only)."""
    columns = set(fb.columns)
    labels = labels or {}
    wanted = sorted({q for qs in questions.values() for q in qs if q in columns})
    survey = fb.filter((fb.channel == "survey") & fb.moment.isin(list(questions)))
    aggs: dict[str, Any] = {"answers": survey.count()}
    if nps_id is not None and nps_id in columns:
        col = survey[nps_id]
        aggs |= {"n": col.count(), "promoters": (col >= 9).sum(), "detractors": (col <= 6).sum()}
    for q in wanted:
        col = survey[q]
        aggs |= {f"{q}_n": col.count(), f"{q}_sum": col.sum(), f"{q}_sumsq": (col * col).sum()}
    frame = survey.group_by("moment").aggregate(**aggs).to_pandas()
    out: dict[str, dict[str, Any]] = {}
    for row in frame.to_dict(orient="records"):
        found: dict[str, Any] = {"answers": int(row["answers"]), "n": int(row.get("n") or 0)}
        if "n" in row:
            nps, low, high = nps_interval(row["promoters"] or 0, row["detractors"] or 0, row["n"])
            found |= {"nps": _num(nps), "nps_low": _num(low), "nps_high": _num(high)}
        found["questions"] = [_question(row, q, labels.get(q, q))
                              for q in questions[row["moment"]] if q in wanted]  # fmt: skip
        out[str(row["moment"])] = found
    return out


def _num(value: Any) -> float | None:
    import math

    number = float(value)
    return None if math.isnan(number) else number


def _question(row: dict[str, Any], q: str, label: str) -> dict[str, Any]:
    n = int(row[f"{q}_n"] or 0)
    mean, low, high = mean_interval(row[f"{q}_sum"] or 0.0, row[f"{q}_sumsq"] or 0.0, n)
    return {"question": q, "label": label, "n": n, "mean": _num(mean) if n else None,
            "low": _num(low), "high": _num(high)}  # fmt: skip


def _comments(fb: ir.Table, moments: list[str]) -> dict[str, dict[str, Any]]:
    """Per moment: how many answers carry a comment, and the latest few as stored."""
    said = fb.filter(fb.moment.isin(moments) & fb.comment.notnull() & (fb.comment != ""))
    counts = said.group_by("moment").aggregate(total=said.count()).to_pandas()
    ranked = said.mutate(
        nth=ibis.row_number().over(group_by="moment", order_by=ibis.desc("responded_at"))
    )
    latest = ranked.filter(ranked.nth < COMMENTS_PER_MOMENT)
    rows = latest.select("moment", "unit_id", "responded_at", "comment").to_pandas()
    totals = dict(zip(counts.moment.astype(str), counts.total, strict=True))
    latest_of: dict[str, list[dict[str, str]]] = {m: [] for m in totals}
    for row in rows.sort_values("responded_at", ascending=False).to_dict(orient="records"):
        latest_of[str(row["moment"])].append({
            "unit_id": str(row["unit_id"]), "responded_at": f"{row['responded_at']:%Y-%m-%d}",
            "comment": str(row["comment"])})  # fmt: skip
    return {m: {"total": int(t), "latest": latest_of[m]} for m, t in totals.items()}


def customer_room(ws: Workspace, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """The Customer Room of the scope's subtree in the month (module doc)."""
    config = ws.config
    stages = config.journey.stages
    if not stages:
        return {"missing": "the config names no journey stages ([[journey.stages]])",
                "stages": [], "themes_missing": THEMES_NOTE}  # fmt: skip
    questions = {m.id: list(m.questions) for s in stages for m in s.moments}
    nps = config.question_of_kind("nps")
    with ws.warehouse() as wh:
        fb = _feedback(wh, scope["below"], period)
        labels = {q.id: q.label or q.id for q in config.questions}
        survey = moment_survey(fb, nps.id if nps else None, questions, labels)
        comments = _comments(fb, list(questions))
    indicators: list[dict[str, Any]] = scope.get("indicators", [])  # the pack's reliability
    rooms = []
    for stage in stages:
        moments = [{
            "moment": m.id, "name": m.name, "owner": m.owner or None,
            "survey": survey.get(m.id), "comments": comments.get(m.id, {"total": 0, "latest": []}),
            "indicators": [r for r in indicators if r["moment"] == m.id],
        } for m in stage.moments]  # fmt: skip
        rooms.append({"stage": stage.id, "name": stage.name, "moments": moments})
    return {"missing": None, "stages": rooms, "themes_missing": THEMES_NOTE}
