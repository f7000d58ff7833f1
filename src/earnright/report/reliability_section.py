"""The reliability section of the scorecard page: each moment's rating, numbers first, and the
incidents that hurt customers, with who was hurt and what revenue is at risk.

Renders results only (a ``ReliabilityReport`` and incident records as
``Incident.record()`` returns them); nothing is computed here beyond formatting. The HTML is
self-contained (inline CSS, no scripts) and every piece of text from the data is escaped. A
rating is never shown by colour alone: it is a word with a symbol, coloured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from earnright.delivery import CURRENCY, format_money, format_when
from earnright.reliability.budget import (
    IndicatorReliability,
    MomentReliability,
    Rating,
    ReliabilityReport,
    SegmentReliability,
)

__all__ = ["MAX_INCIDENTS", "RELIABILITY_CSS", "order_incidents", "render_reliability_section"]

MAX_INCIDENTS = 10  # incidents listed; open ones are always listed, resolved ones fill the rest
SEGMENT_SEPARATOR = "; "  # between the root causes of one incident

RELIABILITY_CSS = """
.rel-moment{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem;margin:.8rem 0}
.rel-moment h3{margin:.2rem 0;font-size:1.05rem}
.rating{font-weight:bold;white-space:nowrap;margin-left:.5rem}
.r-broken{color:#a4161a} .r-at-risk{color:#8a4b00} .r-reliable{color:#1b6e2d} .r-no-data{color:#555}
.rel-moment table{margin:.4rem 0} code{font-size:.85em;background:#f3f3f3;padding:0 .2rem}
.rel-weak{margin:.2rem 0 .4rem 1.2rem;padding:0;font-size:.85rem}
tr.open td{background:#fff6f5} td.d{white-space:nowrap}
"""

SYMBOLS: dict[str, str] = {"broken": "✕", "at risk": "▲", "reliable": "✓", "no data": "?"}
BASIS: dict[str, str] = {
    "observed": "measured",
    "history": "from past incidents",
    "none": "not yet known",
}
UNKNOWN = "not yet known"


def _badge(rating: Rating | str) -> str:
    """The rating as symbol + word, coloured (the colour is never the only signal)."""
    css = "r-" + str(rating).replace(" ", "-")
    symbol = SYMBOLS.get(str(rating), "")
    return (
        f'<span class="rating {escape(css)}"><span aria-hidden=true>{symbol}</span> '
        f"{escape(str(rating))}</span>"
    )


def _digits(error_budget: float) -> int:
    """Decimals of a percentage fine enough to tell attainment from target (0.1% budget: 2)."""
    if error_budget <= 0 or not math.isfinite(error_budget):
        return 1
    return max(1, math.ceil(-math.log10(error_budget * 100)) + 1)


def _pct(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _attainment(seg: SegmentReliability, digits: int) -> str:
    if seg.attainment is None:
        return "no events"
    return (
        f"{_pct(seg.attainment, digits)} <span class=iv>({_pct(seg.attainment_low, digits)} to "
        f"{_pct(seg.attainment_high, digits)})</span>"
    )


def _budget_left(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.0f}%" + (" <span class=iv>(overspent)</span>" if value <= 0 else "")


def _burn(value: float | None) -> str:
    return "–" if value is None else f"×{value:.1f}"


def _segment(text: str) -> str:
    """A segment (``dim=value&dim=value``, causes joined by "; ") as code; "" is everyone."""
    if not text:
        return "all customers"
    return ", ".join(f"<code>{escape(part)}</code>" for part in text.split(SEGMENT_SEPARATOR))


def _when(value: Any) -> str:
    """The time as the alerts show it (escaped); "–" when missing."""
    return escape(format_when(value)) or "–"


def _intro(report: ReliabilityReport | None) -> str:
    if report is None:
        return ""
    rules = (
        "Each indicator counts the share of good events against its objective. "
        "<b>Reliable</b>: error budget left and no burn alert firing; <b>at risk</b>: the "
        "budget running low or a slow-burn alert firing; <b>broken</b>: the budget spent or a "
        "fast-burn alert firing; <b>no data</b>: too few events to say. A moment is rated by the "
        "worst of its indicators and their segments: a broken segment makes the moment broken, "
        "however fine the average. Segments with fewer than "
    )
    if report.period_start and report.period_end:
        span = f"over {_when(report.period_start)} to {_when(report.period_end)}"
    else:
        days = sorted(
            {
                round((ind.window_end - ind.window_start).total_seconds() / 86400)
                for m in report.moments
                for ind in m.indicators
            }
        )
        span = f"over the {' or '.join(str(d) for d in days) or '–'} days to {_when(report.at)}"
    burn = f" over the last {escape(report.burn_window)}" if report.burn_window else ""
    return (
        f"<p class=note>{rules}{report.min_events:,} events are not rated. Attainment is shown "
        f"with its 95% interval, {span} (as of {_when(report.at)}, in steps of "
        f"{escape(report.step)}). Budget left is the share of the allowed failures not yet "
        f"used; the burn rate is how fast it is being spent{burn} (×1 spends it exactly over "
        "the window; – when too few events to say): a broken segment that has stopped failing "
        "burns below ×1 but stays broken until its failures leave the window.</p>"
    )


def _indicator_row(ind: IndicatorReliability) -> str:
    seg, digits = ind.overall, _digits(ind.error_budget)
    alerts = ", ".join(escape(a) for a in seg.alerts_firing) or "none"
    return (
        f"<tr><td class=l>{escape(ind.name)} <span class=iv>({escape(ind.metric)})</span></td>"
        f"<td>{_attainment(seg, digits)}</td><td>{_pct(ind.target, digits)}</td>"
        f"<td>{seg.good:,.0f} of {seg.total:,.0f}</td><td>{_budget_left(seg.budget_left)}</td>"
        f"<td>{_burn(seg.burn_rate)}</td><td class=l>{alerts}</td>"
        f"<td class=l>{_badge(seg.rating)}</td></tr>"
    )


def _weak_segments(moment: MomentReliability) -> str:
    """The broken and at-risk segments (the report's worst few), each with its attainment."""
    weak = moment.broken_segments + moment.at_risk_segments
    if not weak:
        return "<p class=note>No segment is broken or at risk.</p>"
    by_key = {
        (ind.indicator, seg.segment): (ind, seg)
        for ind in moment.indicators
        for seg in ind.segments
    }
    items = []
    for worst in moment.worst_segments:
        ind, seg = by_key.get((worst.indicator, worst.segment), (None, None))
        attained = (
            _attainment(seg, _digits(ind.error_budget))
            if ind is not None and seg is not None
            else "–"
        )
        items.append(
            f"<li>{_segment(worst.segment)} on {escape(worst.indicator)}: {attained}, "
            f"budget left {_budget_left(worst.budget_left)}, burn {_burn(worst.burn_rate)} "
            f"{_badge(worst.rating)}</li>"
        )
    shown = len(moment.worst_segments)
    more = f" (the weakest {shown} listed)" if shown < weak else ""
    counts = [
        f"{n:,} {word}"
        for n, word in ((moment.broken_segments, "broken"), (moment.at_risk_segments, "at risk"))
        if n
    ]
    noun = "segment" if weak == 1 else "segments"  # "4 segments broken and 1 at risk"
    first, _, rest = counts[0].partition(" ")
    text = " and ".join([f"{first} {noun} {rest}", *counts[1:]])
    return f"<p class=note>{text}{more}:</p><ul class=rel-weak>{''.join(items)}</ul>"


def _overall(moment: MomentReliability) -> str:
    """Say so when the average looks better than the moment's rating (a segment is worse)."""
    if moment.overall_rating == moment.rating:
        return ""
    return f" <span class=iv>(all customers together: {escape(moment.overall_rating)})</span>"


def _moment_card(moment: MomentReliability) -> str:
    head = (
        "<tr><th class=l>Indicator</th><th>Attainment (95% interval)</th><th>Target</th>"
        "<th>Good events</th><th>Budget left</th><th>Burn rate</th><th class=l>Alerts firing</th>"
        "<th class=l>Rating</th></tr>"
    )
    rows = "".join(_indicator_row(ind) for ind in moment.indicators)
    return (
        f'<div class=rel-moment data-moment="{escape(moment.moment)}">'
        f"<h3>{escape(moment.name or moment.moment)}{_badge(moment.rating)}{_overall(moment)}</h3>"
        f"<p class=note>Owner: {escape(moment.owner or '–')}</p>"
        f"<table>{head}{rows}</table>{_weak_segments(moment)}</div>"
    )


def order_incidents(
    incidents: Sequence[Mapping[str, Any]], limit: int = MAX_INCIDENTS
) -> tuple[list[Mapping[str, Any]], int]:
    """The incidents to list, open first then newest first, and how many are left off.

    Every open incident is listed; resolved ones fill the list up to ``limit``.
    """
    newest = sorted(incidents, key=lambda i: str(i.get("started_at") or ""), reverse=True)
    opened = [i for i in newest if i.get("status") == "open"]
    closed = [i for i in newest if i.get("status") != "open"]
    shown = opened + closed[: max(limit - len(opened), 0)]
    return shown, len(incidents) - len(shown)


def _revenue(incident: Mapping[str, Any]) -> str:
    value = incident.get("revenue_at_risk")
    if value is None:
        return UNKNOWN
    low, high = incident.get("revenue_at_risk_low"), incident.get("revenue_at_risk_high")
    currency = str(incident.get("currency") or CURRENCY)  # [company] currency
    band = (
        f" <span class=iv>(95%: {escape(format_money(low, currency))} to "
        f"{escape(format_money(high, currency))})</span>"
        if low is not None and high is not None
        else ""
    )
    basis = BASIS.get(str(incident.get("churn_basis")), "basis not recorded")
    money = escape(format_money(value, currency))
    return f"{money}{band}<br><span class=iv>{escape(basis)}</span>"


def _incident_row(incident: Mapping[str, Any], names: Mapping[str, str]) -> str:
    status = str(incident.get("status") or "–")
    moment = str(incident.get("moment") or "")
    customers = incident.get("customers_affected")
    return (
        f"<tr class={'open' if status == 'open' else 'resolved'} "
        f'data-incident="{escape(str(incident.get("id") or ""))}">'
        f"<td class=l><b>{escape(status)}</b> <span class=iv>"
        f"({escape(str(incident.get('severity') or '–'))})</span></td>"
        f"<td class=l>{escape(names.get(moment, moment) or '–')}</td>"
        f"<td class=l>{escape(str(incident.get('metric') or '–'))}</td>"
        f"<td class=l>{_segment(str(incident.get('segment') or ''))}</td>"
        f"<td class=d>{_when(incident.get('started_at'))}</td>"
        f"<td class=d>{_when(incident.get('detected_at'))}</td>"
        f"<td class=d>{_when(incident.get('resolved_at'))}</td>"
        f"<td>{UNKNOWN if customers is None else f'{int(customers):,}'}</td>"
        f"<td>{_revenue(incident)}</td>"
        f"<td class=l>{escape(str(incident.get('owner') or '–'))}</td></tr>"
    )


def _incident_table(incidents: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> str:
    if not incidents:
        return "<p>No incidents: no early-warning alert has opened one.</p>"
    shown, hidden = order_incidents(incidents)
    n_open = sum(i.get("status") == "open" for i in incidents)
    head = (
        "<tr><th class=l>Status</th><th class=l>Moment</th><th class=l>Metric</th>"
        "<th class=l>Customers hurt (segment)</th><th>Started</th><th>Detected</th>"
        "<th>Resolved</th><th>Customers affected</th><th>Revenue at risk</th>"
        "<th class=l>Owner</th></tr>"
    )
    rows = "".join(_incident_row(i, names) for i in shown)
    more = f"<p class=note>{hidden:,} older resolved incident(s) not shown.</p>" if hidden else ""
    return (
        f"<p class=note>{n_open:,} open, {len(incidents) - n_open:,} resolved. Revenue at risk: "
        "the customers affected × their value × the extra churn such failures cause, with its "
        "95% interval; <i>measured</i> when the extra churn was observed after this incident, "
        "<i>from past incidents</i> when estimated from earlier ones.</p>"
        f"<table class=rel-incidents>{head}{rows}</table>{more}"
    )


def render_reliability_section(
    report: ReliabilityReport | None,
    incidents: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The section's HTML: each moment with its indicators, then the incidents.

    ``report`` as ``compute_reliability`` returns it (None: incidents only); ``incidents`` as
    ``Incident.record()`` returns them. Open incidents come first, then the newest resolved
    ones, up to ``MAX_INCIDENTS`` with a count of the rest. Style with ``RELIABILITY_CSS``.
    """
    moments = report.moments if report is not None else []
    names = {m.moment: m.name for m in moments if m.name}
    cards = "".join(_moment_card(m) for m in moments)
    if report is not None and not moments:
        cards = "<p>No journey moment declares a reliability indicator.</p>"
    return (
        "<section id=reliability aria-labelledby=reliability-h>"
        "<h2 id=reliability-h>Reliability at the moments that matter</h2>"
        f"{_intro(report)}{cards}<h3>Incidents</h3>{_incident_table(incidents, names)}</section>"
    )
