"""Error budgets and ratings: the typed reliability report and how a segment is rated.

Given each segment's good and total events in the objective's window, its burn rate and the burn
alerts firing at the window's last bucket, ``assess_segments`` computes attainment (with a 95%
Wilson interval), the error budget consumed and left, and the rating; ``summarise_moment`` rolls
the indicators of a moment up into its rating. Definitions in docs/reliability.md. Everything
here works on per-segment aggregates; the engine has done the scanning.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from earnright.config import Indicator, Moment, Reliability
from earnright.stats import wilson_interval

__all__ = [
    "FRAME_COLUMNS",
    "RATINGS",
    "WORST_SEGMENTS",
    "IndicatorReliability",
    "MomentReliability",
    "Rating",
    "ReliabilityReport",
    "SegmentReliability",
    "WorstSegment",
    "assess_segments",
    "rate_segment",
    "summarise_moment",
]

Rating = Literal["broken", "at risk", "reliable", "no data"]
RATINGS: tuple[Rating, ...] = ("broken", "at risk", "reliable", "no data")  # worst first
WORST_SEGMENTS = 5  # segments listed per moment under worst_segments
FRAME_COLUMNS = [
    "moment",
    "moment_rating",
    "indicator",
    "metric",
    "owner",
    "segment",
    "window_start",
    "window_end",
    "good",
    "total",
    "attainment",
    "attainment_low",
    "attainment_high",
    "target",
    "error_budget",
    "budget_consumed",
    "budget_left",
    "burn_rate",
    "alerts_firing",
    "rating",
]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class SegmentReliability(_Result):
    """One segment of one indicator over the window (``segment`` "" is the overall series).

    ``attainment`` = good ÷ total with its 95% Wilson interval; ``budget_consumed`` = (1 −
    attainment) ÷ (1 − target); ``budget_left`` = 1 − consumed (negative when overspent);
    ``burn_rate`` = bad share over the first burn alert's long window ending at the window end,
    ÷ the error budget, null when that window holds fewer than ``min_events`` events (as an
    alert needs); ``alerts_firing`` the burn alerts firing at the window's last bucket.
    Shares are null without events.
    """

    segment: str
    good: float
    total: float
    attainment: float | None
    attainment_low: float | None
    attainment_high: float | None
    budget_consumed: float | None
    budget_left: float | None
    burn_rate: float | None
    alerts_firing: list[str]
    rating: Rating


class IndicatorReliability(_Result):
    """An indicator's objective, its window ``[window_start, window_end)`` and its segments."""

    indicator: str
    name: str
    metric: str
    measure: str
    owner: str
    target: float
    error_budget: float
    window_start: datetime
    window_end: datetime
    overall: SegmentReliability
    segments: list[SegmentReliability]


class WorstSegment(_Result):
    """A broken or at-risk segment of a moment, for the moment's summary."""

    indicator: str
    segment: str
    rating: Rating
    budget_left: float | None
    burn_rate: float | None


class MomentReliability(_Result):
    """A journey moment: its rating, the worst of every series of its indicators (overall and
    segments: a moment with a broken segment is broken, however fine the average), the worst
    rating of the overall series alone (``overall_rating``), and its weak segments."""

    moment: str
    name: str
    owner: str
    rating: Rating
    overall_rating: Rating = "no data"
    broken_segments: int
    at_risk_segments: int
    worst_segments: list[WorstSegment]
    indicators: list[IndicatorReliability]


class ReliabilityReport(_Result):
    """Every moment with indicators, in journey order, as of ``at`` (the end of the windows).

    Every ``burn_rate`` is over ``burn_window`` (the first burn alert's long window) ending at
    ``at``.

    ``period_start``/``period_end`` are set when a fixed period was asked for instead of each
    indicator's rolling window.
    """

    at: datetime
    burn_window: str = ""  # the window of every burn_rate: the first burn alert's long window
    period_start: datetime | None
    period_end: datetime | None
    step: str
    min_events: int
    moments: list[MomentReliability]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO timestamps, null for missing numbers)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReliabilityReport:
        return cls.model_validate(data)

    def without_segments(self) -> ReliabilityReport:
        """The same report with only the overall series of every indicator."""
        moments = [
            m.model_copy(
                update={"indicators": [i.model_copy(update={"segments": []}) for i in m.indicators]}
            )
            for m in self.moments
        ]
        return self.model_copy(update={"moments": moments})

    def to_frame(self) -> pd.DataFrame:
        """One row per moment × indicator × segment (overall first), columns FRAME_COLUMNS."""
        rows = []
        for m in self.moments:
            for ind in m.indicators:
                head = {"moment": m.moment, "moment_rating": m.rating, "indicator": ind.indicator}
                head |= {"metric": ind.metric, "owner": ind.owner}
                for seg in [ind.overall, *ind.segments]:
                    values = seg.model_dump()
                    values["alerts_firing"] = ",".join(seg.alerts_firing)
                    values |= {"window_start": ind.window_start, "window_end": ind.window_end}
                    values |= {"target": ind.target, "error_budget": ind.error_budget}
                    rows.append(head | values)
        frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
        for col in ("window_start", "window_end"):
            frame[col] = pd.to_datetime(frame[col])
        return frame


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def rate_segment(
    total: float,
    budget_left: float | None,
    severities: list[str],
    settings: Reliability,
    *,
    overall: bool = False,
) -> Rating:
    """The rating of one segment (the overall series is "no data" only without any event)."""
    if total <= 0 or (not overall and total < settings.min_events) or budget_left is None:
        return "no data"
    if budget_left <= 0 or "page" in severities:
        return "broken"
    if budget_left < settings.at_risk_budget or "ticket" in severities:
        return "at risk"
    return "reliable"


def assess_segments(
    totals: pd.DataFrame,
    burn: dict[str, float],
    firing: dict[str, list[tuple[str, str]]],
    indicator: Indicator,
    settings: Reliability,
) -> tuple[SegmentReliability, list[SegmentReliability]]:
    """The overall series and the other segments, from per-segment ``good``/``total``.

    ``totals`` has one row per segment (columns segment, good, total; the overall segment "" is
    added with zero events when missing); ``burn`` maps a segment to its burn rate (NaN or
    absent: no events); ``firing`` to the (name, severity) of each burn alert firing.
    """
    frame = totals.set_index("segment")[["good", "total"]].astype(float)
    if "" not in frame.index:
        frame.loc[""] = [0.0, 0.0]
    frame = frame.sort_index()
    good, total = frame["good"].to_numpy(), frame["total"].to_numpy()
    attainment, low, high = wilson_interval(good, total)
    consumed = (1.0 - attainment) / indicator.error_budget
    out = []
    for i, segment in enumerate(frame.index):
        alerts = firing.get(str(segment), [])
        left = _optional(1.0 - consumed[i])
        out.append(
            SegmentReliability(
                segment=str(segment),
                good=float(good[i]),
                total=float(total[i]),
                attainment=_optional(attainment[i]),
                attainment_low=_optional(low[i]),
                attainment_high=_optional(high[i]),
                budget_consumed=_optional(consumed[i]),
                budget_left=left,
                burn_rate=_optional(burn.get(str(segment), np.nan)),
                alerts_firing=[name for name, _ in alerts],
                rating=rate_segment(
                    total[i], left, [s for _, s in alerts], settings, overall=segment == ""
                ),
            )
        )
    return out[0], out[1:]


def _worst(ratings: list[Rating]) -> Rating:
    """The worst rating among those with data; "no data" when none has any."""
    rated = [r for r in ratings if r != "no data"]
    return min(rated, key=RATINGS.index) if rated else "no data"


def summarise_moment(moment: Moment, indicators: list[IndicatorReliability]) -> MomentReliability:
    """A moment's rating and its weakest segments.

    The rating is the worst among every indicator's overall series and segments with data: an
    average can be fine while a segment is broken, and then the moment is broken for those
    customers. ``overall_rating`` keeps the worst rating of the overall series alone.
    """
    weak = [
        (ind.indicator, seg)
        for ind in indicators
        for seg in ind.segments
        if seg.rating in ("broken", "at risk")
    ]
    weak.sort(
        key=lambda pair: (
            RATINGS.index(pair[1].rating),
            pair[1].budget_left if pair[1].budget_left is not None else math.inf,
            pair[0],
            pair[1].segment,
        )
    )
    worst = [
        WorstSegment(
            indicator=ind,
            segment=seg.segment,
            rating=seg.rating,
            budget_left=seg.budget_left,
            burn_rate=seg.burn_rate,
        )
        for ind, seg in weak[:WORST_SEGMENTS]
    ]
    return MomentReliability(
        moment=moment.id,
        name=moment.name,
        owner=moment.owner,
        rating=_worst([s.rating for ind in indicators for s in [ind.overall, *ind.segments]]),
        overall_rating=_worst([ind.overall.rating for ind in indicators]),
        broken_segments=sum(seg.rating == "broken" for _, seg in weak),
        at_risk_segments=sum(seg.rating == "at risk" for _, seg in weak),
        worst_segments=worst,
        indicators=indicators,
    )
