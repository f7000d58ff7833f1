"""The comment feed of a report page: what customers said in the month at the unit and below.

:func:`month_comments` reads the month's comments once for the whole site (the engine joins each
to its stored sentiment and themes, :mod:`earnright.comments.store`); :func:`comment_feed` cuts
one page's part from them: how many were negative, neutral and positive, each theme's mentions,
share and mean sentiment score, and the latest comments with their labels, the newest first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from earnright.periods import Grain, parse_period
from earnright.warehouse import Warehouse

__all__ = ["FEED_LENGTH", "PER_THEME", "comment_feed", "month_comments"]

FEED_LENGTH = 20  # the latest comments a page lists
PER_THEME = 5  # the latest comments shown under each theme


def month_comments(
    wh: Warehouse, period: str, units: Iterable[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The month's comments by the unit they were given at (only ``units`` when given), each
    with its date, moment, text as stored, sentiment, score and themes (most confident first);
    the newest first."""
    start, end = parse_period(period, Grain.month)
    fb = wh.table("feedback")
    said = fb.filter(
        (fb.responded_at >= start) & (fb.responded_at < end)
        & fb.comment.notnull() & (fb.comment != "")
    )  # fmt: skip
    if units is not None:
        said = said.filter(said.unit_id.isin(sorted(set(units))))
    labels = wh.table("comment_labels").select("response_id", "sentiment", "sentiment_score")
    rows = (
        said.select("response_id", "unit_id", "moment", "responded_at", "comment")
        .left_join(labels, "response_id")
        .select(
            "response_id",
            "unit_id",
            "moment",
            "responded_at",
            "comment",
            "sentiment",
            "sentiment_score",
        )
        .order_by([said.responded_at.desc(), "response_id"])
        .to_pandas()
    )
    themes = wh.table("comment_themes")
    named = themes.filter(themes.response_id.isin(said.response_id)).order_by("rank").to_pandas()
    theme_of = named.groupby("response_id").theme.agg(list).to_dict()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows.to_dict(orient="records"):
        score = r["sentiment_score"]
        out[str(r["unit_id"])].append({
            "unit_id": str(r["unit_id"]), "moment": r["moment"] or None,
            "responded_at": f"{r['responded_at']:%Y-%m-%d}", "comment": str(r["comment"]),
            "sentiment": r["sentiment"] or None,
            "sentiment_score": None if score is None or score != score else float(score),
            "themes": [str(t) for t in theme_of.get(r["response_id"], [])],
        })  # fmt: skip
    return dict(out)


def comment_feed(by_unit: dict[str, list[dict[str, Any]]], below: Iterable[str]) -> dict[str, Any]:
    """One page's feed from :func:`month_comments`: the comments given at ``below`` (the unit
    and every unit under it)."""
    said = sorted(
        (c for u in below for c in by_unit.get(u, [])),
        key=lambda c: c["responded_at"], reverse=True,
    )  # fmt: skip
    tone = Counter(c["sentiment"] or "not labelled" for c in said)
    mentions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in said:
        for theme in c["themes"]:
            mentions[theme].append(c)
    themes = [
        {"theme": name, "mentions": len(cs), "share": len(cs) / len(said),
         "sentiment": _mean([c["sentiment_score"] for c in cs]),
         "latest": cs[:PER_THEME]}
        for name, cs in sorted(mentions.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    ]  # fmt: skip
    return {"total": len(said), "sentiment": dict(tone), "themes": themes,
            "latest": said[:FEED_LENGTH]}  # fmt: skip


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
