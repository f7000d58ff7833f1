"""The Customer Room: one page per journey stage, in customers' terms.

For each stage and each of its moments, side by side: what customers said (the comments of
answers tagged with that moment, as stored — masked where masking is on — with the sentiment
and themes labelled beside them, :mod:`earnright.comments.store`), the operational
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

__all__ = ["COMMENTS_PER_MOMENT", "THEMES_PER_MOMENT", "customer_room", "moment_survey"]

COMMENTS_PER_MOMENT = 6
THEMES_PER_MOMENT = 5


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


def _comments(fb: ir.Table, moments: list[str], wh: Any) -> dict[str, dict[str, Any]]:
    """Per moment: how many answers carry a comment, how many of them are negative, neutral
    and positive, the most mentioned themes (mentions, share of the comments, mean sentiment
    score), and the latest few as stored with their sentiment and themes."""
    said = fb.filter(fb.moment.isin(moments) & fb.comment.notnull() & (fb.comment != ""))
    labels = wh.table("comment_labels").select("response_id", "sentiment", "sentiment_score")
    said = said.left_join(labels, "response_id").select(
        "moment", "unit_id", "responded_at", "comment", "response_id", "sentiment",
        "sentiment_score",
    )  # fmt: skip
    counts = said.group_by(["moment", "sentiment"]).aggregate(n=said.count()).to_pandas()
    ranked = said.mutate(
        nth=ibis.row_number().over(group_by="moment", order_by=ibis.desc("responded_at"))
    )
    rows = ranked.filter(ranked.nth < COMMENTS_PER_MOMENT).to_pandas()
    themes = wh.table("comment_themes")
    mentioned = said.join(themes, "response_id").group_by(["moment", "theme"]).aggregate(
        mentions=ibis._.count(), sentiment=ibis._.sentiment_score.mean()
    ).to_pandas()  # fmt: skip
    of_latest = themes.filter(themes.response_id.isin(list(rows.response_id)))
    latest_themes = of_latest.order_by("rank").to_pandas().groupby("response_id").theme.agg(list)
    out: dict[str, dict[str, Any]] = {}
    for moment, group in counts.groupby("moment"):
        by_label = dict(zip(group.sentiment.fillna("unlabelled"), group.n.astype(int), strict=True))
        total = sum(by_label.values())
        top = mentioned[mentioned.moment == moment].nlargest(THEMES_PER_MOMENT, "mentions")
        out[str(moment)] = {"total": total, "sentiment": by_label, "themes": [
            {"theme": str(t.theme), "mentions": int(t.mentions), "share": t.mentions / total,
             "sentiment": _num(t.sentiment)} for t in top.itertuples()], "latest": []}  # fmt: skip
    for row in rows.sort_values("responded_at", ascending=False).to_dict(orient="records"):
        out[str(row["moment"])]["latest"].append({
            "unit_id": str(row["unit_id"]), "responded_at": f"{row['responded_at']:%Y-%m-%d}",
            "comment": str(row["comment"]), "sentiment": row["sentiment"] or None,
            "themes": list(latest_themes.get(row["response_id"], []))})  # fmt: skip
    return out


def customer_room(ws: Workspace, scope: dict[str, Any], period: str) -> dict[str, Any]:
    """The Customer Room of the scope's subtree in the month (module doc)."""
    config = ws.config
    stages = config.journey.stages
    if not stages:
        return {"missing": "the config names no journey stages ([[journey.stages]])",
                "stages": []}  # fmt: skip
    questions = {m.id: list(m.questions) for s in stages for m in s.moments}
    nps = config.question_of_kind("nps")
    ws.label_comments()  # sentiment and themes current (a no-op when ingest labelled them all)
    with ws.warehouse() as wh:
        fb = _feedback(wh, scope["below"], period)
        labels = {q.id: q.label or q.id for q in config.questions}
        survey = moment_survey(fb, nps.id if nps else None, questions, labels)
        comments = _comments(fb, list(questions), wh)
    indicators: list[dict[str, Any]] = scope.get("indicators", [])  # the pack's reliability
    rooms = []
    for stage in stages:
        moments = [{
            "moment": m.id, "name": m.name, "owner": m.owner or None,
            "survey": survey.get(m.id), "comments": comments.get(m.id, _NO_COMMENTS),
            "indicators": [r for r in indicators if r["moment"] == m.id],
        } for m in stage.moments]  # fmt: skip
        rooms.append({"stage": stage.id, "name": stage.name, "moments": moments})
    return {"missing": None, "stages": rooms}


_NO_COMMENTS: dict[str, Any] = {"total": 0, "sentiment": {}, "themes": [], "latest": []}
