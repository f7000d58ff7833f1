"""``earnright reliability``: is each moment reliable, overall and for every segment, right now?"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from earnright.cli.common import (
    FormatOpt,
    GrainOpt,
    OutputOpt,
    WorkspaceOpt,
    open_workspace,
    render,
    say_notes,
)
from earnright.cli.output import Format, choose_format, write_frame
from earnright.errors import QueryError
from earnright.periods import Grain
from earnright.reliability.budget import ReliabilityReport, SegmentReliability

__all__ = ["register", "reliability", "report_table"]

TABLE_COLUMNS = [
    "moment",
    "indicator",
    "segment",
    "rating",
    "good",
    "total",
    "attainment",
    "target",
    "budget_left",
    "burn_rate",
    "alerts",
]


def register(app: typer.Typer) -> None:
    app.command("reliability")(reliability)


def _percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100.0 * value:.{digits}f}%"


def _segment_row(
    moment: str, indicator: str, seg: SegmentReliability, target: float
) -> dict[str, str]:
    return {
        "moment": moment,
        "indicator": indicator,
        "segment": seg.segment or "overall",
        "rating": seg.rating,
        "good": f"{seg.good:,.0f}",
        "total": f"{seg.total:,.0f}",
        "attainment": _percent(seg.attainment),
        "target": _percent(target, 1),
        "budget_left": _percent(seg.budget_left, 0),
        "burn_rate": "–" if seg.burn_rate is None else f"{seg.burn_rate:.2f}×",
        "alerts": ", ".join(seg.alerts_firing),
    }


def report_table(report: ReliabilityReport) -> pd.DataFrame:
    """The terminal view: a line per moment, then per indicator its overall series and the
    segments rated broken or at risk (every segment is in the csv and json output)."""
    rows = []
    for m in report.moments:
        counts = f"{m.broken_segments} broken, {m.at_risk_segments} at risk"
        rows.append(dict.fromkeys(TABLE_COLUMNS, "") | {"moment": m.name or m.moment})
        summary = f"segments: {counts}; overall {m.overall_rating}"
        rows[-1] |= {"rating": m.rating, "segment": summary}
        for ind in m.indicators:
            rows.append(_segment_row("", ind.indicator, ind.overall, ind.target))
            weak = [s for s in ind.segments if s.rating in ("broken", "at risk")]
            weak.sort(key=lambda s: (s.rating != "broken", s.budget_left or 0.0, s.segment))
            rows += [_segment_row("", "", s, ind.target) for s in weak]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def reliability(
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            help="Rate this one period at --grain instead, e.g. 2026-09 (default: each "
            "indicator's rolling window ending at --at).",
            show_default=False,
        ),
    ] = None,
    grain: GrainOpt = Grain.month,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="End of the rolling windows, ISO 8601 (e.g. 2026-09-30T12:00; UTC); default: "
            "the end of the step holding the latest metrics observation.",
            show_default=False,
        ),
    ] = None,
    indicator: Annotated[
        str | None,
        typer.Option("--indicator", help="Only this indicator id.", show_default=False),
    ] = None,
    segments: Annotated[
        bool,
        typer.Option(
            "--segments/--no-segments",
            help="Rate every segment (dimension value), or only each indicator's overall series.",
        ),
    ] = True,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Rate every journey moment's reliability indicators against their objectives.

    Per indicator, overall and per segment: good and total events, attainment with its 95%
    interval, error budget consumed and left, burn rate, burn alerts firing and a rating
    (broken, at risk, reliable, no data). A moment is rated by the worst of its indicators'
    series, segments included: a broken segment makes the moment broken, however fine the
    average. Over each indicator's rolling window ending at --at, or over --period. Indicators
    are declared in earnright.toml; see docs/reliability.md.
    """
    fmt = choose_format(fmt, output)
    if period is not None and at is not None:
        raise QueryError("give --period or --at, not both (--period rates a fixed period)")
    result = open_workspace(workspace).reliability(
        period=period, grain=grain, at=at, indicator=indicator, segments=segments
    )
    say_notes(result)
    if fmt is not Format.table:
        render(result, fmt, output)
        return
    report = result.report
    span = f"{period}" if period else f"windows ending {report.at:%Y-%m-%d %H:%M}"
    burn = f"; burn rate over the last {report.burn_window}" if report.burn_window else ""
    write_frame(report_table(report), fmt, output, title=f"Reliability, {span} (UTC){burn}")
