"""A funnel plot (Spiegelhalter 2005) as inline SVG: no scripts, no network, no chart library.

Each unit is a point at (n, score). The chain's mean is a horizontal line and the control limits
``target ± z · sd / √n`` for z = 1.96 (95%) and z = 3.09 (99.8%) narrow as n grows, so a small
unit's extreme score is seen to be within what chance alone produces, and only the units outside
the limits stand out. Hovering over a point shows its label, score and n (``<title>``).

Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. Statistics in
Medicine 24(8), 1185–1202.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from earnright.report.charts import AXIS, POINT, WIDTH, _open_svg, _scale, _ticks
from earnright.stats import z_quantile

__all__ = ["LIMITS", "funnel_plot"]

LIMITS = {"95": z_quantile(0.95), "99.8": z_quantile(0.998)}  # two-sided normal quantiles
_STYLE = {"95": 'stroke-dasharray="5,3"', "99.8": 'stroke-dasharray="2,3"'}
HIGH, LOW = "#2a8a3e", "#c0392b"  # points above / below the 99.8% limits


def _limit_points(
    target: float, sd: float, z: float, n_max: float, sign: int, box: tuple[float, ...]
) -> str:
    """The polyline of one control limit over n in [1, n_max], clipped to the plot's y range."""
    kx, cx, ky, cy, lo, hi = box
    points = []
    for i in range(81):
        n = n_max ** (i / 80)  # geometric grid: dense where the funnel bends
        y = min(max(target + sign * z * sd / math.sqrt(n), lo), hi)
        points.append(f"{kx * n + cx:.1f},{ky * y + cy:.1f}")
    return " ".join(points)


def _mark(
    label: str, value: float, n: float, colour: str, note: str, box: tuple[float, ...]
) -> str:
    kx, cx, ky, cy = box[:4]
    tip = f"{label}: {value:.1f}, n = {n:g}" + (f", {note}" if note else "")
    return (
        f'<circle class="unit" cx="{kx * n + cx:.1f}" cy="{ky * value + cy:.1f}" r="3.5" '
        f'fill="{colour}" fill-opacity="0.8"><title>{escape(tip)}</title></circle>'
    )


def _axes(box: tuple[float, ...], n_max: float, frame: tuple[int, ...]) -> list[str]:
    kx, cx, ky, cy, y_lo, y_hi = box
    height, left, right, bottom = frame
    parts = []
    for t in _ticks(y_lo, y_hi):
        y = ky * t + cy
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">{t:g}</text>'
        )
    for t in _ticks(0, n_max):
        parts.append(
            f'<text x="{kx * t + cx:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'fill="{AXIS}">{t:g}</text>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}" fill="{AXIS}">n (answers) →</text>'
        f'<text x="{WIDTH - right}" y="{height - 8}" text-anchor="end" fill="{AXIS}">'
        "solid: chain mean · dashed: 95% limits · dotted: 99.8% limits</text>"
    )
    return parts


def _target_and_limits(
    target: float, sd: float, n_max: float, box: tuple[float, ...], margins: tuple[int, int]
) -> list[str]:
    ky, cy = box[2], box[3]
    left, right = margins
    y = ky * target + cy
    parts = [
        f'<line class="target" x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
        f'stroke="{AXIS}" stroke-width="1.5"><title>chain mean {target:.1f}</title></line>'
    ]
    for name, z in LIMITS.items():
        for sign in (1, -1):
            points = _limit_points(target, sd, z, n_max, sign, box)
            parts.append(
                f'<polyline class="limit-{name}" points="{points}" fill="none" '
                f'stroke="{AXIS}" {_STYLE[name]}><title>{name}% control limit</title></polyline>'
            )
    return parts


def funnel_plot(
    labels: Sequence[str],
    values: Sequence[float],
    ns: Sequence[float],
    *,
    target: float,
    sd: float,
    lo: float = -100.0,
    hi: float = 100.0,
    notes: Sequence[str] | None = None,
    title: str = "",
) -> str:
    """Scores against n with the target line and 95% / 99.8% control limits, as inline SVG.

    ``target`` is the chain's mean and ``sd`` the standard deviation of one answer around it
    (``Ranking.chain_mean`` and ``Ranking.response_sd``); ``lo``/``hi`` bound the score scale.
    Points without a value (NaN) or with n < 1 are left out.
    """
    height, left, right, top, bottom = 320, 50, 20, 28, 44
    notes = list(notes) if notes is not None else [""] * len(labels)
    rows = [
        (str(lab), float(v), float(n), note)
        for lab, v, n, note in zip(labels, values, ns, notes, strict=True)
        if v == v and n >= 1
    ]
    n_max = max([n for *_, n, _ in rows] + [2.0]) * 1.05
    shown = [v for _, v, _, _ in rows] + [target]
    span = max(max(shown) - min(shown), 1e-9)
    y_lo, y_hi = max(lo, min(shown) - 0.1 * span), min(hi, max(shown) + 0.1 * span)
    kx, cx = _scale(0, n_max, left, WIDTH - right)
    ky, cy = _scale(y_lo, y_hi, height - bottom, top)
    box = (kx, cx, ky, cy, y_lo, y_hi)
    parts = _open_svg(height, left, title)
    parts += _axes(box, n_max, (height, left, right, bottom))
    parts += _target_and_limits(target, sd, n_max, box, (left, right))
    for label, value, n, note in rows:
        reach = LIMITS["99.8"] * sd / math.sqrt(n)
        colour = HIGH if value > target + reach else LOW if value < target - reach else POINT
        parts.append(_mark(label, value, n, colour, note, box))
    parts.append("</svg>")
    return "".join(parts)
