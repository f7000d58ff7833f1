"""The report site's page charts drawn as small inline SVG straight from their rows.

A site has a page per unit (10,000+ at 10,000 stores): its trend and horse race are drawn here
from the rows the page already holds, in microseconds and without a chart engine, rather than
by a Vega-Lite render per page (about 0.2 CPU s each). The charts show what the Vega-Lite ones
showed: a title, labelled axes with ticks and grid lines, each value's 95% interval (an error
bar or a rule), its value written beside the mark, tiers as shapes named in a legend (never
colour alone). The page puts the same numbers in a table under each chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["nice_ticks", "race_svg", "trend_svg"]

INK = "#1f5fa8"
GRID = "#e4e4e4"
FONT = 'font-family="sans-serif"'
WIDTH = 620  # the plot's width, as the Vega-Lite charts had it
SHAPES = ("circle", "square", "triangle", "diamond", "cross")  # tiers, in sorted order


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering ``[low, high]``: steps of 1, 2 or 5 times a power of ten,
    about ``count`` of them, every tick inside the range."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9 * step:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _svg(width: float, height: float, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" {FONT} font-size="10">' + "".join(body) + "</svg>"
    )


def _title(text: str, x: float) -> str:
    return f'<text x="{x:.1f}" y="14" text-anchor="middle" font-size="13" font-weight="bold">' \
        f"{escape(text)}</text>"  # fmt: skip


def trend_svg(points: Sequence[dict[str, Any]], title: str, axis: str) -> str:
    """Each month's value (``month``, ``value``, ``low``, ``high``, ``label``) as a line with
    points, its interval as an error bar with ticks, its ``label`` beside the point; the value
    axis spans the intervals with 5 points to spare."""
    left, top, plot_h = 50.0, 28.0, 200.0
    low = min(p["low"] for p in points) - 5.0
    high = max(p["high"] for p in points) + 5.0
    step = WIDTH / max(len(points), 1)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (high - v) / (high - low)

    body = [_title(title, left + WIDTH / 2)]
    for tick in nice_ticks(low, high):
        body.append(f'<line x1="{left}" x2="{left + WIDTH}" y1="{y(tick):.1f}" '
                    f'y2="{y(tick):.1f}" stroke="{GRID}"/>'
                    f'<text x="{left - 5}" y="{y(tick) + 3:.1f}" text-anchor="end">'
                    f"{_tick_label(tick)}</text>")  # fmt: skip
    body.append(f'<rect x="{left}" y="{top}" width="{WIDTH}" height="{plot_h}" fill="none" '
                'stroke="#888"/>')  # fmt: skip
    mid = top + plot_h / 2
    body.append(f'<text transform="translate(14,{mid:.1f}) rotate(-90)" text-anchor="middle" '
                f'font-weight="bold">{escape(axis)}</text>')  # fmt: skip
    line = " ".join(f"{x(i):.1f},{y(p['value']):.1f}" for i, p in enumerate(points))
    body.append(f'<polyline points="{line}" fill="none" stroke="{INK}" stroke-width="2"/>')
    base = top + plot_h
    for i, p in enumerate(points):
        cx, lo, hi = x(i), y(p["low"]), y(p["high"])
        body.append(
            f'<g stroke="{INK}"><line x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}"/>'
            f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{lo:.1f}" y2="{lo:.1f}"/>'
            f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{hi:.1f}" y2="{hi:.1f}"/></g>'
            f'<circle cx="{cx:.1f}" cy="{y(p["value"]):.1f}" r="3" fill="{INK}"/>'
            f'<text x="{cx + 6:.1f}" y="{y(p["value"]) - 8:.1f}" font-size="11">'
            f"{escape(str(p['label']))}</text>"
            f'<text transform="translate({cx + 3:.1f},{base + 8:.1f}) rotate(-45)" '
            f'text-anchor="end">{escape(str(p["month"]))}</text>'
        )
    body.append(f'<text x="{left + WIDTH / 2:.1f}" y="{base + 58:.1f}" text-anchor="middle" '
                'font-weight="bold">Month</text>')  # fmt: skip
    return _svg(left + WIDTH + 30, base + 66, body)


def _shape(kind: str, cx: float, cy: float) -> str:
    """A filled mark of ``kind`` (one of ``SHAPES``) centred on (cx, cy)."""
    r = 4.5
    if kind == "circle":
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" fill="{INK}"/>'
    if kind == "square":
        return f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{2 * r}" height="{2 * r}" ' \
            f'fill="{INK}"/>'  # fmt: skip
    corners = {
        "triangle": [(0, -r - 1), (r + 1, r), (-r - 1, r)],
        "diamond": [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
        "cross": [(-1.5, -r), (1.5, -r), (1.5, -1.5), (r, -1.5), (r, 1.5), (1.5, 1.5),
                  (1.5, r), (-1.5, r), (-1.5, 1.5), (-r, 1.5), (-r, -1.5), (-1.5, -1.5)],
    }[kind]  # fmt: skip
    points = " ".join(f"{cx + dx:.1f},{cy + dy:.1f}" for dx, dy in corners)
    return f'<polygon points="{points}" fill="{INK}"/>'


def race_svg(units: Sequence[dict[str, Any]], title: str, axis: str) -> str:
    """Each unit's value (``unit``, ``value``, ``low``, ``high``, ``tier``, ``label``), best
    first, its interval as a rule, its tier as the mark's shape (named in the legend) and its
    ``label`` beside it; the value axis spans the intervals with 2 points to spare."""
    rows = sorted(units, key=lambda u: -u["value"])
    names = [str(u["unit"]) for u in rows]
    left = min(200.0, 6.0 * max((len(n) for n in names), default=4) + 12)
    top, row_h, plot_w = 28.0, 22.0, WIDTH - 120.0
    plot_h = max(60.0, row_h * len(rows))
    low = min(u["low"] for u in rows) - 2.0
    high = max(u["high"] for u in rows) + 2.0
    tiers = sorted({str(u["tier"]) for u in rows})
    shape = {t: SHAPES[i % len(SHAPES)] for i, t in enumerate(tiers)}

    def x(v: float) -> float:
        return left + plot_w * (v - low) / (high - low)

    body = [_title(title, left + plot_w / 2)]
    base = top + plot_h
    for tick in nice_ticks(low, high, 10):
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" y2="{base}" '
                    f'stroke="{GRID}"/><text x="{x(tick):.1f}" y="{base + 13}" '
                    f'text-anchor="middle">{_tick_label(tick)}</text>')  # fmt: skip
    body.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                'stroke="#888"/>')  # fmt: skip
    for i, u in enumerate(rows):
        cy = top + plot_h * (i + 0.5) / len(rows)
        limit = int((left - 8) / 6)
        name = names[i] if len(names[i]) <= limit else names[i][: limit - 1] + "…"
        body.append(
            f'<text x="{left - 6:.1f}" y="{cy + 3:.1f}" text-anchor="end">{escape(name)}</text>'
            f'<line x1="{x(u["low"]):.1f}" x2="{x(u["high"]):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
            f'stroke="{INK}" stroke-width="1.5"/>{_shape(shape[str(u["tier"])], x(u["value"]), cy)}'
            f'<text x="{x(u["value"]) + 8:.1f}" y="{cy - 5:.1f}">{escape(str(u["label"]))}</text>'
        )
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{base + 28}" text-anchor="middle" '
                f'font-weight="bold">{escape(axis)}</text>')  # fmt: skip
    legend = left + plot_w + 14
    body.append(f'<text x="{legend}" y="{top + 8}" font-weight="bold">Tier</text>')
    for i, tier in enumerate(tiers):
        cy = top + 22 + 16 * i
        body.append(
            _shape(shape[tier], legend + 5, cy)
            + f'<text x="{legend + 14}" y="{cy + 3}">{escape(tier or "unranked")}</text>'
        )
    return _svg(legend + 100, max(base + 36, top + 30 + 16 * len(tiers)), body)
