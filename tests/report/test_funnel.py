"""The funnel plot is valid SVG with one point per unit, the chain mean and both limit pairs."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from earnright.report.funnel import HIGH, LIMITS, LOW, funnel_plot

NS = "{http://www.w3.org/2000/svg}"


def _points(element: ET.Element) -> list[list[float]]:
    return [[float(x) for x in p.split(",")] for p in element.attrib["points"].split()]


def _one(root: ET.Element, path: str) -> ET.Element:
    found = root.find(path)
    assert found is not None, path
    return found


def test_funnel_plot_draws_points_target_and_limits() -> None:
    labels = ["S1 <Main>", "S2", "S3", "S4", "S5", "S6"]
    values = [95.0, 20.0, float("nan"), -60.0, 35.0, 30.0]
    ns = [400, 10, 50, 300, 0, 40]
    svg = funnel_plot(labels, values, ns, target=30.0, sd=75.0, title="NPS & n", notes=["a"] * 6)
    root = ET.fromstring(svg)  # well-formed: labels are escaped
    circles = root.findall(f"{NS}circle")
    assert len(circles) == 4  # NaN value and n = 0 left out
    tips = [_one(c, f"{NS}title").text for c in circles]
    assert tips[0] == "S1 <Main>: 95.0, n = 400, a"
    # 95 at n = 400 is above 30 + 3.09 × 75/20; -60 at n = 300 below; the others inside
    assert [c.attrib["fill"] for c in circles][:3] == [HIGH, "#1f5fa8", LOW]
    assert len(root.findall(f"{NS}line[@class='target']")) == 1
    limits = {name: root.findall(f"{NS}polyline[@class='limit-{name}']") for name in LIMITS}
    assert all(len(pair) == 2 for pair in limits.values())
    # At the right edge the limits are unclipped: symmetric about the target, in ratio z.
    target_y = float(_one(root, f"{NS}line[@class='target']").attrib["y1"])
    reach = {
        name: [_points(line)[-1][1] - target_y for line in pair] for name, pair in limits.items()
    }
    for up, down in reach.values():
        assert up == pytest.approx(-down, abs=0.15)
    assert reach["99.8"][1] / reach["95"][1] == pytest.approx(3.090232 / 1.959964, rel=0.01)
    # and the 95% limit narrows as 1/√n: at the left it is clipped to the plot or wider
    first = _points(limits["95"][1])[0][1] - target_y
    assert first >= reach["95"][1] * math.sqrt(400 * 1.05) * 0.99 or first > 100


def test_funnel_plot_of_nothing_is_still_an_svg() -> None:
    root = ET.fromstring(funnel_plot([], [], [], target=0.5, sd=0.4, lo=0, hi=1))
    assert root.findall(f"{NS}circle") == []
    assert len(root.findall(f"{NS}polyline")) == 4
