"""The pack's charts: measured values with their 95% intervals, as SVG drawn offline.

One chart shape serves the pack: a labelled dot per row with its interval as a rule and its
value written beside it (no colour-only meaning). Built with altair, rendered by vl-convert.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

from earnright.report.site_charts import DATA, INK, WIDTH, _svg

__all__ = ["interval_chart"]


@cache
def _spec() -> dict[str, Any]:
    import altair as alt

    base = alt.Chart(alt.NamedData(name=DATA))
    y = alt.Y("label:N", title=None, sort=None)
    x = alt.X("low:Q", title="", scale=alt.Scale(domain=[0, 1], nice=False))
    rule = base.mark_rule(color=INK).encode(y=y, x=x, x2="high:Q")
    dot = base.mark_point(filled=True, size=60, color=INK).encode(y=y, x="value:Q")
    text = base.mark_text(align="left", dx=8, dy=-8, fontSize=10)
    chart = rule + dot + text.encode(y=y, x="value:Q", text="text:N")
    return chart.properties(title="", width=WIDTH - 200, height=60).to_dict(validate=False)


def interval_chart(
    rows: Sequence[dict[str, Any]], title: str, axis: str, domain: tuple[float, float]
) -> str:
    """Each row's ``value`` (with ``low``/``high``, ``label`` on the axis, ``text`` beside the
    dot) on a scale spanning ``domain``; rows without a value are left out."""
    drawn = [r for r in rows if r.get("value") is not None]
    for r in drawn:
        r["low"] = r["value"] if r.get("low") is None else r["low"]
        r["high"] = r["value"] if r.get("high") is None else r["high"]
    spec = copy.deepcopy(_spec())
    spec["title"], spec["datasets"] = title, {DATA: list(drawn)}
    channel = spec["layer"][0]["encoding"]["x"]
    channel["title"], channel["scale"]["domain"] = axis, list(domain)
    spec["height"] = max(40, 22 * len(drawn))
    # labels measured in the font the PDF draws them with, and room to spare on the left
    spec["config"] = spec.get("config", {}) | {"font": "DejaVu Sans", "axis": {"labelLimit": 330}}
    spec["padding"] = {"left": 24, "right": 8, "top": 5, "bottom": 5}
    return _svg(spec)
