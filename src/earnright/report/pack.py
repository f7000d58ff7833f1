"""The monthly leadership pack drawn from its data (:func:`earnright.services.pack.gather_pack`).

In the order a CCO presents it: the customer asset ledger in whole numbers (it opens the pack),
revenue at risk and the incidents of the month, reliability per journey stage, the listening
scorecard and horse race, the decisions of the month with their measured outcomes, the Customer
Room (:mod:`earnright.report.room`, a page per stage) and the maturity map. Every status is a
measured number with its 95% interval; a section with nothing to show says why. The same HTML
is the ``.html`` pack and, laid out by WeasyPrint, the ``.pdf``; ``.xlsx`` holds its tables
(:mod:`earnright.report.pack_xlsx`) and ``.json`` its data.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from earnright.errors import QueryError
from earnright.report.pack_charts import interval_chart
from earnright.report.room import render_room
from earnright.report.site_charts import figure, race_chart
from earnright.report.site_page import _table, number

__all__ = ["FORMATS", "render_pack", "write_pack"]

FORMATS = (".pdf", ".html", ".xlsx", ".json")
STYLE = (
    "@page{size:A4 landscape;margin:14mm}"
    "@media screen{body{max-width:1200px;margin:1em auto;padding:0 1em}}"
    "body{font-family:'DejaVu Sans',sans-serif;color:#222;font-size:10pt}"
    "h1{font-size:16pt;margin:0 0 .3em} h2{font-size:13pt;border-bottom:1px solid #999;"
    "margin-top:1.2em} h3{font-size:11pt;margin:.8em 0 .2em}"
    "table{border-collapse:collapse;margin:.3em 0} th,td{padding:2px 7px;"
    "border-bottom:1px solid #ddd;text-align:right} th:first-child,td:first-child{text-align:left}"
    ".ledger td,.ledger th{font-size:12pt} .note,.missing{color:#555} .missing{font-style:italic}"
    "section.room{page-break-before:always} section.maturity{page-break-before:always}"
    "figure{margin:.3em 0} figcaption{font-size:8pt;color:#555}"
    ".side{display:flex;gap:1.5em} .side>div{flex:1} blockquote{margin:.2em 0 .2em 1em}"
)


def _whole(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _money(value: Any, currency: str) -> str:
    return "–" if value is None else f"{currency}{round(value):,}"


def _share(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _between(row: dict[str, Any], key: str, show: Any = number) -> str:
    if row.get(key) is None:
        return "–"
    return f"{show(row[key])} ({show(row.get(f'{key}_low'))} to {show(row.get(f'{key}_high'))})"


def _missing(text: str | None) -> str:
    return f'<p class="missing">Not available: {escape(text)}.</p>' if text else ""


def _ledger(pack: dict[str, Any]) -> str:
    section, money = pack["ledger"], pack["currency"]
    row = section["row"]
    head = "<h2>Customer asset ledger</h2>"
    if row is None:
        return head + _missing(section["missing"])
    flows = [("Customers at the start", row["start"], None), ("Gained", row["gained"],
             row["gained_value"]), ("Reactivated", row["reactivated"], row["reactivated_value"]),
             ("Lost", row["lost"], row["lost_value"]), ("Customers at the end", row["end"], None),
             ("Grew their spend", row["grew"], None),
             ("Declined their spend", row["declined"], None)]  # fmt: skip
    body = "".join(f"<tr><td>{escape(n)}</td><td>{_whole(c)}</td><td>{_money(v, money)}</td></tr>"
                   for n, c, v in flows)  # fmt: skip
    table = ('<table class="ledger"><thead><tr><th scope="col">Customers</th><th scope="col">'
             'Number</th><th scope="col">Annual spend</th></tr></thead>'
             f"<tbody>{body}</tbody></table>")  # fmt: skip
    ltv = (
        f'<p class="note">Lifetime value gained {_money(row["gained_ltv"], money)}, lost '
        f"{_money(row['lost_ltv'], money)}. Start + gained + reactivated − lost = end.</p>"
    )
    return head + table + ltv + _reasons(section, money)


def _reasons(section: dict[str, Any], money: str) -> str:
    head = "<h3>Why they left</h3>"
    if not section["reasons"]:
        said = section.get("reasons_missing")
        return head + (_missing(said) if said else '<p class="note">No customer was lost.</p>')
    return head + _table(section["reasons"], [
        ("Reason", lambda r: escape(str(r["reason"]).replace("_", " "))),
        ("Moment", lambda r: escape(str(r["moment"] or ""))),
        ("Customers", lambda r: _whole(r["customers"])),
        ("Share of the lost", lambda r: _share(r["share"])),
        ("Annual spend", lambda r: _money(r["value"], money)),
    ])  # fmt: skip


def _risk(pack: dict[str, Any]) -> str:
    section, money = pack["risk"], pack["currency"]
    head = "<h2>Revenue at risk and the incidents of the month</h2>"
    if not section["incidents"]:
        return head + _missing(section["missing"])
    total = (f"<p>{len(section['incidents'])} incidents open in {escape(pack['period'])}; "
             f"{_money(section['revenue_at_risk'], money)} of revenue at risk "
             f"(the sum of the {section['priced']} priced incidents' estimates; each one's 95% "
             "interval is in its row).</p>")  # fmt: skip
    return head + total + _table(section["incidents"], [
        ("Incident", lambda r: escape(str(r["id"]))),
        ("Moment", lambda r: escape(str(r["moment"] or ""))),
        ("Segment", lambda r: escape(str(r["segment"] or "everyone"))),
        ("Detected", lambda r: escape(str(r["detected_at"] or "")[:10])),
        ("Status", lambda r: escape(str(r["status"]))),
        ("Customers", lambda r: _whole(r["customers_affected"])),
        ("Revenue at risk", lambda r: _between(r, "revenue_at_risk",
                                               lambda v: _money(v, money))),
    ])  # fmt: skip


def _reliability(pack: dict[str, Any]) -> str:
    section = pack["reliability"]
    head = "<h2>Reliability per journey stage</h2>"
    if not section["stages"]:
        return head + _missing(section["missing"])
    parts = [head, '<p class="note">Share of good events against the target, with its 95% '
             "interval, over the month.</p>"]  # fmt: skip
    for stage in section["stages"]:
        parts.append(f"<h3>{escape(stage['name'] or stage['stage'])}</h3>")
        parts.append(indicator_table(stage["indicators"]))
    rows = [{"label": r["name"][:48], "value": r["attainment"], "low": r["attainment_low"],
             "high": r["attainment_high"], "text": _share(r["attainment"])}
            for s in section["stages"] for r in s["indicators"]]  # fmt: skip
    floor = max(0.0, min(r["low"] for r in rows if r["low"] is not None) - 0.02)
    svg = interval_chart(rows, "Good events per indicator", "share good (95% interval)",
                         (round(floor, 2), 1.0))  # fmt: skip
    parts.append(figure(svg, "Each indicator's share of good events with its 95% interval"))
    return "".join(parts)


def indicator_table(rows: list[dict[str, Any]]) -> str:
    return _table(rows, [
        ("Indicator", lambda r: escape(str(r["name"]))),
        ("Moment", lambda r: escape(str(r["moment_name"]))),
        ("Good of all events", lambda r: f"{_whole(r['good'])} of {_whole(r['total'])}"),
        ("Good", lambda r: _between(r, "attainment", _share)),
        ("Target", lambda r: _share(r["target"])),
    ])  # fmt: skip


def _listening(pack: dict[str, Any]) -> str:
    section = pack["listening"]
    head = "<h2>Listening scorecard and horse race</h2>"
    score = section["score"]
    text = (
        _missing(section["missing"])
        if score is None
        else (
            f"<p>NPS {_between(score, 'nps')} from {_whole(score['n'])} answers; CSAT "
            f"{_between(score, 'csat', _share)}; response rate {_share(score['response_rate'])} "
            f"({_whole(score['responses'])} of {_whole(score['invitations'])} invited).</p>"
        )
    )
    if not section["race"]:
        return head + text + _missing(section["race_missing"])
    level = section["race_level"]
    chart = race_chart(section["race"], f"Horse race of the {level}s, {pack['period']}",
                       "NPS shrunk toward peers (95%)")  # fmt: skip
    table = _table(section["race"], [
        ("Rank", lambda r: f"{_whole(r['rank'])} ({_whole(r['rank_low'])}–"
                           f"{_whole(r['rank_high'])})"),
        (level.capitalize(), lambda r: escape(str(r["name"] or r["unit_id"]))),
        ("Answers", lambda r: _whole(r["n"])),
        ("NPS shrunk", lambda r: _between(r, "estimate")),
        ("Tier", lambda r: escape(str(r["tier"] or ""))),
    ])  # fmt: skip
    return head + text + figure(chart, f"The {level}s' NPS with 95% intervals") + table


def _decisions(pack: dict[str, Any]) -> str:
    section = pack["decisions"]
    head = "<h2>Decisions of the month and their measured outcomes</h2>"
    if not section["rows"]:
        return head + _missing(section["missing"])
    return head + _table(section["rows"], [
        ("Decided", lambda r: escape(str(r["decided_at"])[:10])),
        ("Unit", lambda r: escape(str(r["unit_id"]))),
        ("Action", lambda r: escape(str(r["action"]))),
        ("By", lambda r: escape(str(r["decided_by"]))),
        ("Effect on its metric", lambda r: _between(r, "effect", lambda v: number(v, 2))),
        ("Verdict", lambda r: escape(str(r.get("verdict") or "not measured yet"))),
    ])  # fmt: skip


def _maturity(pack: dict[str, Any]) -> str:
    section = pack["maturity"]
    since = section["previous_period"]
    parts = ['<section class="maturity"><h2>Where we stand on the five competencies</h2>',
             '<p class="note">Each sign is measured from the workspace: a share with its 95% '
             "interval and its change since the last pack"
             f"{' (' + escape(since) + ')' if since else ''}.</p>",
             _missing(section["trend_missing"])]  # fmt: skip
    parts.append(_table(section["signs"], [
        ("Competency", lambda r: escape(r["competency"])),
        ("Sign", lambda r: escape(r["sign"])),
        ("Measured", lambda r: f"{_whole(r['k'])} of {_whole(r['m'])}"),
        ("Share", lambda r: _between(r, "value", _share) if r["value"] is not None
         else escape(f"not measurable: {r['missing']}")),
        ("Change since last pack", lambda r: "–" if r["change"] is None
         else f"{100 * r['change']:+.1f} points"),
    ]))  # fmt: skip
    rows = [{"label": s["sign"][:46], "value": s["value"], "low": s["low"], "high": s["high"],
             "text": _share(s["value"])} for s in section["signs"]]  # fmt: skip
    svg = interval_chart(rows, "The signs of the five competencies", "share (95% interval)",
                         (0, 1))  # fmt: skip
    parts.append(figure(svg, "Each maturity sign's share with its 95% interval"))
    return "".join(parts) + "</section>"


def render_pack(pack: dict[str, Any]) -> str:
    """The pack as one self-contained HTML document (inline CSS and SVG, no scripts)."""
    unit = pack["unit"]
    title = f"{pack['company']}: customer pack {pack['period']}"
    if unit["level"] != "company":
        title += f", {unit['name']}"
    body = "".join([
        f"<h1>{escape(title)}</h1>", _ledger(pack), _risk(pack), _reliability(pack),
        _listening(pack), _decisions(pack), render_room(pack), _maturity(pack),
        f'<p class="note">{escape(pack["period_reason"])}. Intervals are 95%.</p>',
    ])  # fmt: skip
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def write_pack(pack: dict[str, Any], out: Path) -> Path:
    """Write the pack to ``out`` in the format its suffix names (``FORMATS``)."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise QueryError(f"'{out}': the pack is written as {', '.join(FORMATS)}", argument="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        out.write_text(json.dumps(pack, indent=2, default=str), encoding="utf-8")
    elif suffix == ".xlsx":
        from earnright.report.pack_xlsx import write_xlsx

        write_xlsx(pack, out)
    elif suffix == ".html":
        out.write_text(render_pack(pack), encoding="utf-8")
    else:
        from weasyprint import HTML

        HTML(string=render_pack(pack)).write_pdf(out)
    return out
