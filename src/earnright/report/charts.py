"""Inline SVG charts for self-contained pages: no scripts, no network, no chart library.

Charts draw results; they never compute them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["interval_plot", "trend_plot"]

WIDTH = 760
AXIS = "#555"
POINT = "#1f5fa8"
BAND = "#c9daf0"


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    span = (hi - lo) or 1.0
    k = (b - a) / span
    return k, a - lo * k


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi]."""
    raw = max((hi - lo) / count, 1e-9)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) // step) + 1)]


def _open_svg(height: int, left: int, title: str) -> list[str]:
    """The opening tag and the title of a chart, as a list to append the marks to."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def interval_plot(
    labels: Sequence[str],
    estimates: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    notes: Sequence[str],
    *,
    lo: float = -100.0,
    hi: float = 100.0,
    title: str = "",
    note_width: int = 120,
) -> str:
    """A forest plot: one row per label, the estimate as a dot and its interval as a line."""
    row_h, left, right, top = 16, 150, note_width, 28
    height = top + row_h * len(labels) + 30
    k, c = _scale(lo, hi, left, WIDTH - right)
    parts = _open_svg(height, left, title)
    for t in _ticks(lo, hi):
        x = k * t + c
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" '
            f'stroke="#eee"/><text x="{x:.1f}" y="{height - 10}" text-anchor="middle" '
            f'fill="{AXIS}">{t:g}</text>'
        )
    for i, (label, est, low, high, note) in enumerate(
        zip(labels, estimates, lows, highs, notes, strict=True)
    ):
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<text x="{WIDTH - right + 6}" y="{y + 4:.1f}" fill="{AXIS}">{escape(note)}</text>'
        )
        if est != est:  # NaN: no data, nothing to draw
            continue
        parts.append(
            f'<line x1="{k * low + c:.1f}" y1="{y:.1f}" x2="{k * high + c:.1f}" y2="{y:.1f}" '
            f'stroke="{POINT}" stroke-width="2"/>'
            f'<circle cx="{k * est + c:.1f}" cy="{y:.1f}" r="3.5" fill="{POINT}">'
            f"<title>{escape(label)}: {est:.1f} ({low:.1f} to {high:.1f}), {escape(note)}</title>"
            "</circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def trend_plot(
    labels: Sequence[str],
    estimates: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    title: str = "",
) -> str:
    """A line of estimates over periods with their interval as a shaded band."""
    height, left, right, top, bottom = 220, 50, 20, 28, 40
    lo = min(lows) - 5
    hi = max(highs) + 5
    kx, cx = _scale(0, max(len(labels) - 1, 1), left, WIDTH - right)
    ky, cy = _scale(lo, hi, height - bottom, top)
    xs = [kx * i + cx for i in range(len(labels))]
    band = [f"{x:.1f},{ky * h + cy:.1f}" for x, h in zip(xs, highs, strict=True)]
    band += [
        f"{x:.1f},{ky * low + cy:.1f}" for x, low in reversed(list(zip(xs, lows, strict=True)))
    ]
    line = [f"{x:.1f},{ky * e + cy:.1f}" for x, e in zip(xs, estimates, strict=True)]
    parts = _open_svg(height, left, title)
    for t in _ticks(lo, hi):
        y = ky * t + cy
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{t:g}</text>'
        )
    parts.append(f'<polygon points="{" ".join(band)}" fill="{BAND}"/>')
    parts.append(
        f'<polyline points="{" ".join(line)}" fill="none" stroke="{POINT}" stroke-width="2"/>'
    )
    for x, label in zip(xs, labels, strict=True):
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{AXIS}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
