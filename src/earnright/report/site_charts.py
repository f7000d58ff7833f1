"""The report's charts: a site page's as small inline SVG (:mod:`earnright.report.inline_charts`),
the pack's as Vega-Lite specs (altair) rendered to SVG offline (vl-convert).

Charts draw results; they never compute them. Every chart has a title, labelled axes, its
values written beside the marks (no colour-only meaning; tiers are shapes and words) and an
alt text; the page puts the same numbers in a table under it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from html import escape
from typing import Any

from earnright.report.inline_charts import race_svg, trend_svg

__all__ = ["figure", "page_race_chart", "race_chart", "trend_chart"]

WIDTH = 620
INK = "#1f5fa8"
DATA = "rows"  # the name of the one dataset a chart draws


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(spec)
    return svg


def figure(svg: str, alt: str) -> str:
    """The chart as an accessible figure: ``alt`` is its text for screen readers."""
    return (
        f'<figure role="img" aria-label="{escape(alt)}">{svg}'
        f"<figcaption>{escape(alt)}</figcaption></figure>"
    )


@cache
def _race_spec() -> dict[str, Any]:
    """The horse race's Vega-Lite spec, built once with altair; data, title, axis and domain
    are filled in per chart (building the spec is half the cost of drawing it)."""
    import altair as alt

    base = alt.Chart(alt.NamedData(name=DATA))
    y = alt.Y("unit:N", title=None, sort=alt.EncodingSortField("value", order="descending"))
    x = alt.X("low:Q", title="", scale=alt.Scale(domain=[0, 1], nice=False))
    bars = base.mark_rule(color=INK).encode(y=y, x=x, x2="high:Q")
    shape = alt.Shape("tier:N", title="Tier")
    points = base.mark_point(filled=True, size=70, color=INK).encode(y=y, x="value:Q", shape=shape)
    text = base.mark_text(align="left", dx=8, dy=-8, fontSize=10)
    chart = bars + points + text.encode(y=y, x="value:Q", text="label:N")
    return chart.properties(title="", width=WIDTH - 120, height=60).to_dict(validate=False)


def _fill(
    template: dict[str, Any], rows: list[dict[str, Any]], title: str, axis: tuple[str, str]
) -> dict[str, Any]:
    """A copy of ``template`` drawing ``rows`` under ``title``, its scale axis (``x`` or
    ``y``) titled ``axis[1]`` and spanning the rows' intervals."""
    spec = copy.deepcopy(template)
    spec["title"], spec["datasets"] = title, {DATA: rows}
    channel = spec["layer"][0]["encoding"][axis[0]]
    pad = 5.0 if axis[0] == "y" else 2.0
    low, high = min(r["low"] for r in rows) - pad, max(r["high"] for r in rows) + pad
    channel["title"], channel["scale"]["domain"] = axis[1], [low, high]
    return spec


def trend_chart(rows: Sequence[dict[str, Any]], metric: str, title: str, axis: str) -> str:
    """The metric by month with its 95% interval as an error bar and its value as a label:
    small inline SVG drawn from the rows (:mod:`earnright.report.inline_charts`), since every
    page of the site has one."""
    points = [
        {"month": r["period"], "value": r[metric], "low": r[f"{metric}_low"],
         "high": r[f"{metric}_high"], "label": f"{r[metric]:.0f}"}
        for r in rows
        if r.get(metric) is not None
    ]  # fmt: skip
    return trend_svg(points, title, axis)


def _race_units(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"unit": r["name"] or r["unit_id"], "value": r["estimate"], "low": r["estimate_low"],
         "high": r["estimate_high"], "tier": str(r.get("tier") or ""),
         "label": f"{r['estimate']:.0f} ({r.get('tier') or 'unranked'})"}
        for r in rows
        if r.get("estimate") is not None
    ]  # fmt: skip


def page_race_chart(rows: Sequence[dict[str, Any]], title: str, axis: str) -> str:
    """The horse race of a site page (:func:`race_chart`'s chart) as small inline SVG drawn
    from the rows (:mod:`earnright.report.inline_charts`): a site has a race on every page
    above the stores."""
    return race_svg(_race_units(rows), title, axis)


def race_chart(rows: Sequence[dict[str, Any]], title: str, axis: str) -> str:
    """The horse race: each child's shrunk score with its interval, best first, its tier
    written beside it and drawn as a shape (rendered by vl-convert: the pack's one race)."""
    units = _race_units(rows)
    spec = _fill(_race_spec(), units, title, ("x", axis))
    spec["height"] = max(60, 22 * len(units))
    return _svg(spec)
