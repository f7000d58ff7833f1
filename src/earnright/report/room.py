"""The Customer Room: one page per journey stage, in customers' terms, drawn from the pack.

Each moment of the stage puts side by side what customers said (how many comments were negative,
neutral and positive, the themes they mention most, the latest comments as stored), the
operational indicators of the moment, and its survey results (NPS and the moment's driver
questions with 95% intervals). Data: :func:`earnright.services.room.customer_room`. What
customers said is drawn as on a site page (:mod:`earnright.report.said`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from earnright.report.said import quote, split, theme_table
from earnright.report.site_page import _table, number

__all__ = ["render_room"]


def _span(row: dict[str, Any], key: str, digits: int = 1) -> str:
    if row.get(key) is None:
        return "–"
    low, high = row.get(f"{key}_low", row.get("low")), row.get(f"{key}_high", row.get("high"))
    return f"{number(row[key], digits)} ({number(low, digits)} to {number(high, digits)})"


def _survey(moment: dict[str, Any]) -> str:
    survey = moment["survey"]
    if not survey or not survey["answers"]:
        return '<p class="missing">Not available: no survey answer named this moment.</p>'
    lines = [f"<p>NPS {_span(survey, 'nps')} from {number(survey['n'])} answers.</p>"]
    if survey["questions"]:
        lines.append(_table(survey["questions"], [
            ("Question", lambda q: escape(q["label"])),
            ("Answers", lambda q: number(q["n"])),
            ("Mean (95%)", lambda q: _span(q, "mean", 2)),
        ]))  # fmt: skip
    return "".join(lines)


def _indicators(moment: dict[str, Any]) -> str:
    if not moment["indicators"]:
        return '<p class="missing">Not available: no indicator with events for this moment.</p>'
    items = "".join(
        f"<li>{escape(r['name'])}: {number(100 * r['attainment'])}% good "
        f"({number(100 * r['attainment_low'])} to {number(100 * r['attainment_high'])}), "
        f"target {number(100 * r['target'])}%, {number(r['good'])} of {number(r['total'])}</li>"
        for r in moment["indicators"]
    )
    return f"<ul>{items}</ul>"


def _said(moment: dict[str, Any]) -> str:
    comments = moment["comments"]
    if not comments["total"]:
        return '<p class="missing">Not available: no comment named this moment.</p>'
    parts = [f"<p>{number(comments['total'])} comments: {split(comments['sentiment'])}.</p>"]
    if comments["themes"]:
        parts.append(theme_table(comments["themes"]))
    parts.append("<p>The latest:</p>")
    parts += [quote(c) for c in comments["latest"]]
    return "".join(parts)


def _moment(moment: dict[str, Any]) -> str:
    owner = f" <small>(owner: {escape(moment['owner'])})</small>" if moment["owner"] else ""
    return (
        f"<h3>{escape(moment['name'])}{owner}</h3>"
        '<div class="side">'
        f"<div><h4>What customers said</h4>{_said(moment)}</div>"
        f"<div><h4>How the operation did</h4>{_indicators(moment)}</div>"
        f"<div><h4>What the surveys say</h4>{_survey(moment)}</div></div>"
    )


def render_room(pack: dict[str, Any]) -> str:
    """A section per journey stage (each starts a page in the PDF)."""
    room = pack["room"]
    if not room["stages"]:
        return (
            '<section class="room"><h2>The Customer Room</h2>'
            f'<p class="missing">Not available: {escape(room["missing"])}.</p></section>'
        )
    pages = []
    for stage in room["stages"]:
        moments = "".join(_moment(m) for m in stage["moments"])
        pages.append(
            f'<section class="room" id="stage-{escape(stage["stage"])}">'
            f"<h2>Customer Room: {escape(stage['name'])}</h2>"
            f'<p class="note">{escape(pack["period"])}. Comments as stored (masked where '
            "masking is on), with the sentiment and themes labelled beside them.</p>"
            f"{moments}</section>"
        )
    return "".join(pages)
