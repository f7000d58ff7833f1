"""A site page's charts: inline SVG drawn from the page's rows, no chart engine per page."""

from __future__ import annotations

import re
import sys
import types
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from earnright.report.inline_charts import nice_ticks, race_svg, trend_svg
from earnright.report.site_page import render_page

TREND = [
    {"period": f"2026-0{m}", "n": 100 + m, "nps": v, "nps_low": v and v - 8,
     "nps_high": v and v + 8,
     "csat": 0.7, "csat_low": 0.65, "csat_high": 0.75, "response_rate": 0.2}
    for m, v in zip(range(1, 7), (20.0, 31.0, 25.0, 40.0, None, 35.0), strict=True)
]  # fmt: skip
RACE = [
    {"unit_id": u, "name": f"Store {u}", "level": "store", "href": f"../{u}/page.html",
     "n": 50, "raw": e, "estimate": e, "estimate_low": e - 10, "estimate_high": e + 10,
     "rank": r, "rank_low": r, "rank_high": r + 1, "tier": t}
    for u, e, r, t in (("S2", 30.0, 2, "middle"), ("S1", 45.0, 1, "top"),
                       ("S3", 12.0, 3, None))
]  # fmt: skip


def page(**extra: Any) -> dict[str, Any]:
    return {
        "unit_id": "D1", "name": "North district", "level": "district", "company": "Co",
        "period": "2026-06", "period_reason": "latest complete month", "currency": "EUR",
        "ancestors": [], "children": [{k: r[k] for k in ("unit_id", "name", "level", "href")}
                                      for r in RACE],
        "trend": TREND, "race": RACE, "drivers": [], "focus": [], "reliability": [],
        "incidents": [], "comments": {"total": 0}, "notes": [],
    } | extra  # fmt: skip


def test_nice_ticks_are_round_steps_inside_the_range() -> None:
    assert nice_ticks(7.0, 53.0) == [10, 20, 30, 40, 50]
    assert nice_ticks(-3.5, 1.2) == [-3, -2, -1, 0, 1]
    assert nice_ticks(0.61, 0.79) == [0.65, 0.7, 0.75]
    assert nice_ticks(5.0, 5.0) == [5.0]


def _marks(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, text) of every text element of the chart."""
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    found = []
    for t in root.iter("{http://www.w3.org/2000/svg}text"):
        x, y = float(t.get("x", "nan")), float(t.get("y", "nan"))
        found.append((x, y, t.text or ""))
    return found


def test_trend_draws_each_month_its_interval_and_its_value() -> None:
    points = [{"month": r["period"], "value": r["nps"], "low": r["nps_low"],
               "high": r["nps_high"], "label": f"{r['nps']:.0f}"}
              for r in TREND if r["nps"] is not None]  # fmt: skip
    svg = trend_svg(points, "NPS by month: A & B", "NPS (points)")
    marks = _marks(svg)
    labels = {text: y for x, y, text in marks if text in {"20", "31", "25", "40", "35"}}
    assert set(labels) == {"20", "31", "25", "40", "35"}  # every value written beside it
    # higher values are drawn higher (smaller y), in proportion
    assert labels["40"] < labels["35"] < labels["31"] < labels["25"] < labels["20"]
    gap = (labels["20"] - labels["40"]) / 20
    assert labels["20"] - labels["31"] == pytest.approx(11 * gap, abs=0.2)
    assert "NPS by month: A &amp; B" in svg and "NPS (points)" in svg and ">Month<" in svg
    assert svg.count("<circle") == 5 and "2026-06" in svg and "2026-05" not in svg
    assert svg.count("<g stroke") == 5  # an error bar per month


def test_race_is_best_first_with_tiers_as_shapes_named_in_a_legend() -> None:
    units = [{"unit": r["name"], "value": r["estimate"], "low": r["estimate_low"],
              "high": r["estimate_high"], "tier": str(r["tier"] or ""), "label": "x"}
             for r in RACE]  # fmt: skip
    svg = race_svg(units, "Horse race", "NPS shrunk (95%)")
    names = [(y, text) for x, y, text in _marks(svg) if text.startswith("Store")]
    assert [t for _, t in sorted(names)] == ["Store S1", "Store S2", "Store S3"]
    legend = [text for _, _, text in _marks(svg) if text in {"top", "middle", "unranked"}]
    assert legend == ["unranked", "middle", "top"]  # one entry per tier
    assert svg.count("<circle") == 2 and svg.count("<rect") == 3  # shapes, not colour alone


def test_a_site_page_draws_its_charts_without_a_chart_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: Any) -> str:
        raise AssertionError("a chart engine was run for a site page")

    engine = types.ModuleType("vl_convert")
    engine.vegalite_to_svg = refuse  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vl_convert", engine)
    html = render_page(page())
    assert html.count("<svg") == 2  # the trend and the horse race
    for svg in re.findall(r"<svg.*?</svg>", html):
        ET.fromstring(svg)
    assert "NPS by month: North district" in html and "Horse race among its store units" in html
