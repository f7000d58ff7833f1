"""One page of the report site drawn from its JSON twin (:func:`earnright.report.site.page_data`).

Self-contained HTML: inline CSS and inline SVG charts, no scripts, no network; links are
relative, so the site works from the file system and from any web server. The comment feed's
filters by sentiment and theme are links to sections of the page (:mod:`earnright.report.said`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from earnright.report.said import FILTER_STYLE, filters, split, theme_table
from earnright.report.site_charts import figure, page_race_chart, trend_chart

__all__ = ["number", "render_page"]

STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}"
    "nav{font-size:.9em;margin-bottom:.5em} h1{margin:.2em 0}"
    "h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:.9em;margin:.5em 0}"
    "th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}"
    "th:first-child,td:first-child{text-align:left} figure{margin:.5em 0}"
    "figcaption{font-size:.8em;color:#555} .note{color:#555;font-size:.9em}"
    ".headline{font-size:1.2em} ul.children{columns:3}" + FILTER_STYLE
)


def number(value: Any, digits: int = 1) -> str:
    """A number as the page prints it: ``–`` when missing (suppressed or unknown)."""
    if value is None or value != value:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _interval(row: dict[str, Any], key: str, digits: int = 1) -> str:
    low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
    if row.get(key) is None:
        return "–"
    return f"{number(row[key], digits)} ({number(low, digits)} to {number(high, digits)})"


def _table(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, Callable[[dict[str, Any]], str]]]
) -> str:
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r)}</td>" for _, cell in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _link(unit: dict[str, Any]) -> str:
    name = escape(str(unit["name"] or unit["unit_id"]))
    return f'<a href="{escape(unit["href"])}">{name}</a>' if unit.get("href") else name


def _header(data: dict[str, Any]) -> str:
    crumbs = " › ".join(_link(a) for a in data["ancestors"])
    latest = next((r for r in data["trend"] if r["period"] == data["period"]), None)
    headline = "No answers in this month."
    if latest is not None:
        headline = (
            f"NPS {_interval(latest, 'nps')} from {number(latest['n'])} answers; "
            f"CSAT {_interval(latest, 'csat', 2)}"
        )
    return (
        f"<nav>{crumbs}</nav><h1>{escape(str(data['name']))} "
        f"<small>({escape(str(data['level']))} {escape(str(data['unit_id']))})</small></h1>"
        f'<p class="headline">{escape(str(data["period"]))}: {escape(headline)}</p>'
        f'<p class="note">{escape(str(data["period_reason"]))}. Intervals are 95%; '
        "“–” is a score hidden below the minimum number of answers.</p>"
    )


def _trend(data: dict[str, Any]) -> str:
    rows = data["trend"]
    if not any(r.get("nps") is not None for r in rows):
        return "<h2>Trend</h2><p>No month has enough answers to show a score.</p>"
    name = str(data["name"])
    chart = trend_chart(rows, "nps", f"NPS by month: {name}", "NPS (points, 95% interval)")
    alt = f"NPS of {name} by month with 95% intervals; the values are in the table below."
    table = _table(rows, [
        ("Month", lambda r: escape(str(r["period"]))), ("Answers", lambda r: number(r["n"])),
        ("NPS (95% interval)", lambda r: _interval(r, "nps")),
        ("CSAT (95% interval)", lambda r: _interval(r, "csat", 2)),
        ("Response rate", lambda r: number(r.get("response_rate"), 2)),
    ])  # fmt: skip
    return f"<h2>Trend</h2>{figure(chart, alt)}{table}"


def _race(data: dict[str, Any]) -> str:
    if not data["children"]:
        return ""
    rows = data["race"]
    level = data["children"][0]["level"]
    title = f"Horse race among its {level} units"
    if not rows:
        return f"<h2>{escape(title)}</h2><p>No ranking this month (see the notes).</p>"
    chart = page_race_chart(rows, f"{title}, {data['period']}", "NPS shrunk toward peers (95%)")
    alt = f"{title}: each unit's fair NPS with its interval and tier; the table below has them."
    table = _table(rows, [
        ("Unit", _link), ("Rank (interval)", lambda r: f"{number(r['rank'])} "
                          f"({number(r['rank_low'])}–{number(r['rank_high'])})"),
        ("Tier", lambda r: escape(str(r["tier"] or "not ranked"))),
        ("Answers", lambda r: number(r["n"])), ("Raw NPS", lambda r: number(r["raw"])),
        ("Fair NPS (95% interval)", lambda r: _interval(r, "estimate")),
    ])  # fmt: skip
    return f"<h2>{escape(title)}</h2>{figure(chart, alt)}{table}"


def _drivers(data: dict[str, Any]) -> str:
    peer = data["ancestors"][-1]["name"] if data["ancestors"] else None
    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("Driver", lambda r: escape(str(r["label"]))), ("Answers", lambda r: number(r["n"])),
        ("Mean (95% interval)", lambda r: _interval(r, "mean", 2)),
    ]  # fmt: skip
    if peer is not None:
        columns += [
            (f"{peer} (95% interval)", lambda r: _interval(r, "peer_mean", 2)),
            ("Difference", lambda r: number(r["difference"], 2)),
        ]
    rows = [dict(r, mean_low=r["low"], mean_high=r["high"], peer_mean_low=r["peer_low"],
                 peer_mean_high=r["peer_high"]) for r in data["drivers"]]  # fmt: skip
    return f"<h2>Drivers in {escape(str(data['period']))}</h2>{_table(rows, columns)}"


def _focus(data: dict[str, Any]) -> str:
    items = data["focus"]
    if not items:
        return "<h2>Focus</h2><p>Nothing credibly behind peers this month.</p>"
    currency = escape(str(data["currency"]))
    rows = "".join(
        f"<li><p>{escape(str(i['sentence']))}</p><p class='note'>Gap {_interval(i, 'gap', 2)}; "
        f"{_worth(i, currency)}.</p>"
        + "".join(f"<blockquote>{escape(str(c.get('text', '')))}</blockquote>"
                  for c in i["comments"][:2])
        + "</li>"
        for i in items
    )  # fmt: skip
    return f"<h2>Focus, most valuable first</h2><ol>{rows}</ol>"


def _worth(item: dict[str, Any], currency: str) -> str:
    if item.get("worth") is None:
        return f"worth in revenue not priced; about {number(item['expected_nps_gain'])} NPS points"
    low, high = number(item["worth_low"], 0), number(item["worth_high"], 0)
    return f"worth {number(item['worth'], 0)} {currency} a year ({low} to {high})"


def _reliability(data: dict[str, Any]) -> str:
    rows = data["reliability"]
    if not rows:
        return ""
    table = _table(rows, [
        ("Moment", lambda r: escape(str(r["moment_name"]))),
        ("Indicator", lambda r: escape(str(r["name"]))),
        ("Target", lambda r: number(r["target"], 3)),
        ("Attainment (95% interval)", lambda r: _interval(r, "attainment", 3)),
        ("Good / total", lambda r: f"{number(r['good'], 0)} / {number(r['total'], 0)}"),
        ("Budget left", lambda r: number(r["budget_left"], 2)),
        ("Rating", lambda r: escape(str(r["rating"]))),
    ])  # fmt: skip
    return f"<h2>Reliability of its moments</h2>{table}"


def _incidents(data: dict[str, Any]) -> str:
    rows = data["incidents"]
    if not rows:
        return "<h2>Incidents</h2><p>No incident names this unit.</p>"
    currency = escape(str(data["currency"]))
    table = _table(rows, [
        ("Started", lambda r: escape(str(r["started_at"])[:10])),
        ("Moment", lambda r: escape(str(r["moment"]))),
        ("Indicator", lambda r: escape(str(r["indicator"]))),
        ("Segment", lambda r: escape(str(r["segment"]))),
        ("Status", lambda r: escape(str(r["status"]))),
        ("Customers affected", lambda r: number(r["customers_affected"])),
        (f"Revenue at risk ({currency})", lambda r: number(r["revenue_at_risk"], 0)),
    ])  # fmt: skip
    return f"<h2>Incidents</h2>{table}"


def _said(data: dict[str, Any]) -> str:
    """The month's comments at the unit and below (:mod:`earnright.report.said`), filtered by
    sentiment or theme with plain links (no script)."""
    feed = data.get("comments") or {"total": 0}
    if not feed["total"]:
        return "<h2>What customers said</h2><p>No comment this month.</p>"
    parts = [f"<h2>What customers said</h2><p>{number(feed['total'])} comments: "
             f"{split(feed['sentiment'])}.</p>"]  # fmt: skip
    if feed["themes"]:
        parts.append(theme_table(feed["themes"]))
    parts.append(filters(feed))
    return '<div class="said">' + "".join(parts) + "</div>"


def _children(data: dict[str, Any]) -> str:
    if not data["children"]:
        return ""
    items = "".join(f"<li>{_link(c)}</li>" for c in data["children"])
    return f'<h2>Drill down</h2><ul class="children">{items}</ul>'


def render_page(data: dict[str, Any]) -> str:
    """The HTML page of one unit, from its JSON twin."""
    notes = "".join(f"<li>{escape(n)}</li>" for n in data["notes"])
    body = "".join([
        _header(data), _trend(data), _race(data), _drivers(data), _focus(data),
        _said(data), _reliability(data), _incidents(data), _children(data),
        f'<h2>Notes</h2><ul class="note">{notes}</ul>' if notes else "",
    ])  # fmt: skip
    title = f"{data['company']} customer report {data['period']}"
    if data["name"] != data["company"]:
        title = f"{data['name']}: {title}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f'</title><meta name="viewport" content="width=device-width"><style>{STYLE}</style>'
        f'</head><body><p class="note"><a href="page.json">This page as JSON</a></p>{body}'
        "</body></html>"
    )
