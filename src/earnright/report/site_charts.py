"""The report site's charts: Vega-Lite specs (altair) rendered to SVG offline (vl-convert).

Charts draw results; they never compute them. Every chart has a title, labelled axes, its
values written beside the marks (no colour-only meaning; tiers are shapes and words) and an
alt text; the page puts the same numbers in a table under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["figure", "race_chart", "trend_chart"]

WIDTH = 620
INK = "#1f5fa8"


def _svg(chart: Any) -> str:
    import vl_convert as vlc

    svg: str = vlc.vegalite_to_svg(chart.to_dict(validate=False))
    return svg


def figure(svg: str, alt: str) -> str:
    """The chart as an accessible figure: ``alt`` is its text for screen readers."""
    return (
        f'<figure role="img" aria-label="{escape(alt)}">{svg}'
        f"<figcaption>{escape(alt)}</figcaption></figure>"
    )


def trend_chart(rows: Sequence[dict[str, Any]], metric: str, title: str, axis: str) -> str:
    """The metric by month with its 95% interval as an error bar and its value as a label."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "month": r["period"],
                "value": r[metric],
                "low": r[f"{metric}_low"],
                "high": r[f"{metric}_high"],
                "label": f"{r[metric]:.0f}",
            }
            for r in rows
            if r.get(metric) is not None
        ]
    )
    x = alt.X("month:O", title="Month", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(frame)
    bars = base.mark_errorbar(ticks=True, color=INK).encode(
        x=x, y=alt.Y("low:Q", title=axis, scale=alt.Scale(zero=False)), y2="high:Q"
    )
    line = base.mark_line(point=True, color=INK).encode(x=x, y="value:Q")
    text = base.mark_text(dx=12, dy=-8, fontSize=11).encode(x=x, y="value:Q", text="label:N")
    chart = (bars + line + text).properties(title=title, width=WIDTH, height=200)
    return _svg(chart)


def race_chart(rows: Sequence[dict[str, Any]], title: str, axis: str) -> str:
    """The horse race: each child's shrunk score with its interval, best first, its tier
    written beside it and drawn as a shape."""
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "unit": r["name"] or r["unit_id"],
                "value": r["estimate"],
                "low": r["estimate_low"],
                "high": r["estimate_high"],
                "tier": str(r.get("tier") or ""),
                "label": f"{r['estimate']:.0f} ({r.get('tier') or 'unranked'})",
            }
            for r in rows
            if r.get("estimate") is not None
        ]
    )
    order = list(frame.sort_values("value", ascending=False)["unit"]) if len(frame) else []
    y = alt.Y("unit:N", title=None, sort=order)
    base = alt.Chart(frame)
    bars = base.mark_rule(color=INK).encode(
        y=y, x=alt.X("low:Q", title=axis, scale=alt.Scale(zero=False)), x2="high:Q"
    )
    points = base.mark_point(filled=True, size=70, color=INK).encode(
        y=y, x="value:Q", shape=alt.Shape("tier:N", title="Tier")
    )
    text = base.mark_text(align="left", dx=8, dy=-8, fontSize=10).encode(
        y=y, x="value:Q", text="label:N"
    )
    height = max(60, 22 * len(frame))
    chart = (bars + points + text).properties(title=title, width=WIDTH - 120, height=height)
    return _svg(chart)
