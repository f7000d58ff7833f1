"""Judging an indicator's alerts: which incident an alert belongs to, and which candidates are
incidents at all (see :mod:`earnright.reliability.incidents`, step 2).

A candidate (alerts no open incident took) is localised over its window; the causes named must
lie on an alerted segment and **depart on their own series** (:func:`earnright.reliability.
episode.failure_span`) at the candidate's first alert, one of them by at least ``CONFIRM_Z``
(when no cause is named and the overall series alerted, the overall series must depart).
Otherwise the candidate is a chronic miss (a segment that is always weak, or noise), not an
incident. An alert belongs to an incident only when its bucket falls within the incident's
failure on its segment's series: a slow rule firing after the failure ended, or a weak store's
ticket noise, neither joins nor keeps it open.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import pandas as pd

from earnright.config import Config, Indicator
from earnright.reliability.detection import Alert
from earnright.reliability.episode import CONFIRM_Z, DEPARTURE_Z, Span, failure_span
from earnright.reliability.localize import parse_cause
from earnright.reliability.records import CAUSE_SEPARATOR, Incident
from earnright.reliability.segment import leaf_dims, localize_episode
from earnright.warehouse import Warehouse

__all__ = ["Judge", "compatible"]


def compatible(a: dict[str, str], b: dict[str, str], ancestors: pd.DataFrame) -> bool:
    """Can a leaf satisfy both conditions? Unit levels are compared through the hierarchy."""
    levels = [c for c in ancestors.columns if c != "unit_id"]
    for dim in a.keys() & b.keys():
        if a[dim] != b[dim]:
            return False
    units_a = [(d, v) for d, v in a.items() if d in levels]
    units_b = [(d, v) for d, v in b.items() if d in levels]
    for (la, ua), (lb, ub) in ((x, y) for x in units_a for y in units_b):
        fine, coarse = (
            ((la, ua), (lb, ub)) if levels.index(la) > levels.index(lb) else ((lb, ub), (la, ua))
        )
        row = ancestors[ancestors[fine[0]] == fine[1]]
        if fine[0] != coarse[0] and not (row[coarse[0]] == coarse[1]).any():
            return False
    return True


@dataclass
class Judge:
    """One indicator's pass: localisations and failure spans, each computed once."""

    wh: Warehouse
    config: Config
    indicator: Indicator
    ancestors: pd.DataFrame
    clock: datetime
    located: dict[tuple[str, datetime, datetime], str | None] = field(default_factory=dict)
    spans: dict[tuple[str, str], Span | None] = field(default_factory=dict)

    def locate(self, incident: Incident, until: datetime | None = None) -> str | None:
        """Localise once per window: from the start to ``until`` (default: the last alert)."""
        window = (incident.started_at, until or incident.last_alert_at)
        key = (incident.incident_id, *window)
        if key not in self.located:
            self.located[key] = localize_episode(
                self.wh, self.config, self.indicator, window, self.ancestors
            )
        return self.located[key]

    def confirm(self, candidate: Incident, alerted: set[str]) -> str | None:
        """The candidate's segment, or None when it is a chronic miss."""
        segment = self.locate(candidate)
        if segment is None:  # nothing to search: the alerted segment is all we know
            return candidate.segment
        if segment == "" and "" not in alerted:
            return None  # no segment departs from its normal level: a chronic miss
        if not segment:  # everyone, and the overall series alerted: it must depart
            return segment if self.live(candidate) else None
        named = [replace(candidate, segment=c) for c in segment.split(CAUSE_SEPARATOR)]
        near = [i.segment for i in named if any(self.overlaps(a, i) for a in alerted)]
        segment = self.departing(candidate, CAUSE_SEPARATOR.join(near))
        kept = [replace(candidate, segment=c) for c in segment.split(CAUSE_SEPARATOR)]
        if not segment or not any(self.live(i, CONFIRM_Z) for i in kept):
            return None  # none departs clearly from its normal level: a chronic miss
        return segment

    def overlaps(self, segment: str, incident: Incident) -> bool:
        cond = parse_cause(segment) if segment else {}
        return any(compatible(cond, seg, self.ancestors) for seg in incident.segments)

    def span(self, incident: Incident) -> Span | None:
        """The incident's failure on its segment's series (once per incident and segment)."""
        key = (incident.incident_id, incident.segment)
        if key not in self.spans:
            dims = leaf_dims(self.wh, self.config, self.indicator)[1]
            where = (incident.segments, self.ancestors, dims)
            anchor = incident.detected_at - self.config.reliability.step  # first alert's bucket
            self.spans[key] = failure_span(
                self.wh, self.config, self.indicator, where, anchor, self.clock
            )
        return self.spans[key]

    def live(self, incident: Incident, z: float = DEPARTURE_Z) -> bool:
        """Is its segment failing at its first alert (not a failure that ended before), by at
        least ``z`` at its worst?"""
        failing = self.span(incident)
        if failing is None or failing.peak < z:
            return False
        return failing.end > incident.detected_at - self.config.reliability.step

    def departing(self, incident: Incident, segment: str) -> str:
        """The causes of ``segment`` whose own series departs at the incident's first alert."""
        causes = segment.split(CAUSE_SEPARATOR)
        kept = [c for c in causes if self.live(replace(incident, segment=c))]
        return CAUSE_SEPARATOR.join(kept)

    def belongs(self, alert: Alert, incident: Incident) -> bool:
        failing = self.span(incident)
        return failing is None or alert.bucket < failing.end
