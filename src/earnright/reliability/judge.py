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
from earnright.reliability.departures import RULE as DEPARTURE_RULE
from earnright.reliability.detection import Alert
from earnright.reliability.episode import (
    BASELINE,
    CONFIRM_Z,
    DEPARTURE_Z,
    Span,
    failure_span,
    leaf_buckets,
    rest_departure,
)
from earnright.reliability.leafcube import LeafCube
from earnright.reliability.localize import format_cause, parse_cause
from earnright.reliability.records import CAUSE_SEPARATOR, Incident
from earnright.reliability.segment import leaf_dims, localize_episode
from earnright.reliability.windows import window_lengths
from earnright.warehouse import Warehouse

__all__ = ["SIBLINGS_Z", "Hierarchy", "Judge", "compatible"]

# the rest of a parent whose other leaves fail departs at a lower bar than a failure on its own:
# its siblings' failure is the prior (and "everyone" narrows only when the rest stays below it)
SIBLINGS_Z = 2.0
LEAF_FRAMES = 2  # leaf frames a pass keeps (Judge._leaf_frame)
Cond = dict[str, str]


class Hierarchy:
    """The unit ancestors (``ancestors_by_level``: ``unit_id`` and one column per level) indexed
    for the questions judging asks many times a pass: per column, the rows holding each value,
    in the frame's order. Filtering the frame for each pair of segments (pyarrow strings) was
    a tenth of detection's time at 1,000 stores; these lookups give the same answers."""

    def __init__(self, ancestors: pd.DataFrame) -> None:
        self.columns = [str(c) for c in ancestors.columns]
        self.levels = [c for c in self.columns if c != "unit_id"]
        self.values: dict[str, list[str | None]] = {}
        self.rows: dict[str, dict[str, list[int]]] = {}
        for column in self.columns:
            values = [None if pd.isna(v) else str(v) for v in ancestors[column].tolist()]
            rows: dict[str, list[int]] = {}
            for i, value in enumerate(values):
                if value is not None:
                    rows.setdefault(value, []).append(i)
            self.values[column], self.rows[column] = values, rows

    def meets(self, where: tuple[str, str], column: str, value: str) -> bool:
        """Does a row whose ``where`` column holds its value hold ``value`` in ``column``?"""
        have = self.values[column]
        return any(have[i] == value for i in self.rows[where[0]].get(where[1], ()))

    def first(self, where: tuple[str, str], column: str) -> str | None:
        """``column`` of the first row whose ``where`` column holds its value (None: no such
        row, or a missing value there)."""
        rows = self.rows[where[0]].get(where[1])
        return self.values[column][rows[0]] if rows else None


def compatible(a: dict[str, str], b: dict[str, str], ancestors: pd.DataFrame | Hierarchy) -> bool:
    """Can a leaf satisfy both conditions? Unit levels are compared through the hierarchy."""
    tree = ancestors if isinstance(ancestors, Hierarchy) else Hierarchy(ancestors)
    levels = tree.levels
    for dim in a.keys() & b.keys():
        if a[dim] != b[dim]:
            return False
    units_a = [(d, v) for d, v in a.items() if d in levels]
    units_b = [(d, v) for d, v in b.items() if d in levels]
    for (la, ua), (lb, ub) in ((x, y) for x in units_a for y in units_b):
        fine, coarse = (
            ((la, ua), (lb, ub)) if levels.index(la) > levels.index(lb) else ((lb, ub), (la, ua))
        )
        if fine[0] != coarse[0] and not tree.meets(fine, coarse[0], coarse[1]):
            return False
    return True


@dataclass
class Judge:
    """One indicator's pass: localisations and failure spans, each computed once, from the
    indicator's leaves read once from ``since`` (a bucket start; None: the whole history) into
    a :class:`LeafCube` when first needed (what lies before ``since`` is asked of the engine)."""

    wh: Warehouse
    config: Config
    indicator: Indicator
    ancestors: pd.DataFrame
    clock: datetime
    since: datetime | None = None
    held: LeafCube | None = field(default=None, repr=False)
    located: dict[tuple[str, datetime, datetime], str | None] = field(default_factory=dict)
    spans: dict[tuple[str, str], Span | None] = field(default_factory=dict)
    leaves: dict[Span, pd.DataFrame] = field(default_factory=dict)
    overlapping: dict[tuple[str, str], bool] = field(default_factory=dict)
    held_dims: tuple[list[str], list[str]] | None = field(default=None, repr=False)
    held_tree: Hierarchy | None = field(default=None, repr=False)

    def tree(self) -> Hierarchy:
        """The ancestors indexed (:class:`Hierarchy`), once per pass."""
        if self.held_tree is None:
            self.held_tree = Hierarchy(self.ancestors)
        return self.held_tree

    def dims(self) -> tuple[list[str], list[str]]:
        """:func:`leaf_dims`, read once per pass (each call asks the engine for the metrics
        columns: thousands of calls at a thousand stores)."""
        if self.held_dims is None:
            self.held_dims = leaf_dims(self.wh, self.config, self.indicator)
        return self.held_dims

    def cube(self) -> LeafCube:
        """The indicator's leaves per bucket from ``since``, scanned once."""
        if self.held is None:
            where = (self.ancestors, self.dims()[1])
            self.held = LeafCube.scan(self.wh, self.config, self.indicator, where, self.since)
        return self.held

    def locate(self, incident: Incident, until: datetime | None = None) -> str | None:
        """Localise once per window: from the start to ``until`` (default: the last alert)."""
        window = (incident.started_at, until or incident.last_alert_at)
        key = (incident.incident_id, *window)
        if key not in self.located:
            held = (self.cube(), self.dims())
            self.located[key] = localize_episode(
                self.wh, self.config, self.indicator, window, self.ancestors, *held
            )
        return self.located[key]

    def confirm(self, candidate: Incident, alerts: list[Alert]) -> str | None:
        """The candidate's segment (from its ``alerts``), or None when it is a chronic miss."""
        alerted = {a.segment for a in alerts}
        segment = self.locate(candidate)
        if segment is None:  # nothing to search: the alerted segment is all we know
            return candidate.segment
        if segment == "" and "" not in alerted:  # the search named nothing: the alerted
            return self.clearest(candidate, alerts)  # segment that departs, or chronic
        if not segment:  # everyone, and the overall series alerted: it must depart
            return self.refine(replace(candidate, segment="")) if self.live(candidate) else None
        named = [replace(candidate, segment=c) for c in segment.split(CAUSE_SEPARATOR)]
        near = [i.segment for i in named if any(self.overlaps(a, i) for a in alerted)]
        segment = self.departing(candidate, CAUSE_SEPARATOR.join(near))
        if not segment:  # none departs clearly: the leaves of a failing segment named one by
            return self.clearest(candidate, alerts)  # one (each too small), or a chronic miss
        return self.refine(replace(candidate, segment=segment))

    def clearest(self, candidate: Incident, alerts: list[Alert]) -> str | None:
        """The alerted segment departing most clearly (by ``CONFIRM_Z`` at least) on its own
        series, or None (a chronic miss). A search over few leaves, half of them hit (a
        district of two), finds no leaf standing out from the others, yet the segment's own
        series has just jumped: the segment that departs most, of those that alerted, is the
        one a parent dilutes and a child sees only part of. Only segments with two kinds of
        evidence count: a page, two rules (an anomaly and a burn rate) firing together, or a
        departure alert (a budget burnt twice over and a departure of ``CONFIRM_Z``)."""
        rules: dict[str, set[str]] = {}
        for alert in alerts:
            rules.setdefault(alert.segment, set()).add(alert.rule)
        pages = {a.segment for a in alerts if a.severity == "page" or a.rule == DEPARTURE_RULE}
        peaks = {}
        for segment, fired in sorted(rules.items()):
            if not segment or (len(fired) < 2 and segment not in pages):
                continue
            if self.live(named := replace(candidate, segment=segment), CONFIRM_Z):
                failing = self.span(named)
                peaks[segment] = failing.peak if failing else 0.0
        return max(peaks, key=peaks.__getitem__) if peaks else None

    def overlaps(self, segment: str, incident: Incident) -> bool:
        """Can a leaf lie in ``segment`` and in the incident's? (Once per pair of segments.)"""
        key = (segment, incident.segment)
        if key not in self.overlapping:
            cond = parse_cause(segment) if segment else {}
            found = any(compatible(cond, seg, self.tree()) for seg in incident.segments)
            self.overlapping[key] = found
        return self.overlapping[key]

    def span(self, incident: Incident) -> Span | None:
        """The incident's failure on its segment's series (once per incident and segment)."""
        key = (incident.incident_id, incident.segment)
        if key not in self.spans:
            dims = self.dims()[1]
            where = (incident.segments, self.ancestors, dims)
            anchor = incident.detected_at - self.config.reliability.step  # first alert's bucket
            self.spans[key] = failure_span(
                self.wh, self.config, self.indicator, where, anchor, self.clock, self.cube()
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
        """The causes of ``segment`` whose own series departs at the incident's first alert,
        each by ``CONFIRM_Z`` at its worst: the bar a cause would have to pass to open an
        incident of its own. A search over few leaves names beside a failure the leaves whose
        noise stands out from the rest (a quiet store of another district, ~3 spreads on one
        day); such a cause is no part of the failure and must not widen the incident."""
        causes = segment.split(CAUSE_SEPARATOR)
        kept = [c for c in causes if self.live(replace(incident, segment=c), CONFIRM_Z)]
        return CAUSE_SEPARATOR.join(kept)

    def belongs(self, alert: Alert, incident: Incident) -> bool:
        failing = self.span(incident)
        return failing is None or alert.bucket < failing.end

    def refine(self, incident: Incident) -> str:
        """The incident's segment, checked against the leaves around it during its failure.

        "Everyone" where one top-level value (a district, a platform) fails and the rest of
        the company does not is that value (the values of several dimensions: their
        intersection): a search over two districts, one hit, cannot tell the two apart. Causes
        under one parent (stores of a district) whose parent's other leaves fail too are the
        parent: a search names the stores whose shift stands out from the noise, an alert the
        first store to cross its threshold."""
        failing = self.span(incident)
        if failing is None:
            return incident.segment
        per = self._leaf_frame(failing)
        step = self.config.reliability.step.total_seconds()
        bidx = (int(failing.start.timestamp() // step), int(failing.end.timestamp() // step))
        segment = incident.segment or self._narrow(per, bidx)
        return self._widen(per, bidx, segment) if segment else segment

    def _leaf_frame(self, failing: Span) -> pd.DataFrame:
        """Every leaf per bucket over the failure and the baseline before it. Only the
        ``LEAF_FRAMES`` latest are kept: each holds every leaf of the indicator for weeks of
        buckets (at 10,000 stores, hundreds of MB), and a pass judges hundreds of failures."""
        if failing in self.leaves:
            self.leaves[failing] = self.leaves.pop(failing)  # now the latest
            return self.leaves[failing]
        lookback = max((a.long for a in self.config.reliability.burn_alerts), default=BASELINE)
        span = (failing.start - lookback - BASELINE, failing.end)
        held = self.cube().leaf_buckets(span)
        if held is None:
            where = (self.ancestors, self.dims()[1])
            held = leaf_buckets(self.wh, self.config, self.indicator, where, span)
        self.leaves[failing] = held
        while len(self.leaves) > LEAF_FRAMES:
            del self.leaves[next(iter(self.leaves))]  # the one used longest ago
        return held

    def _departs(
        self, per: pd.DataFrame, bidx: tuple[int, int], where: tuple[Cond, list[Cond]], z: float
    ) -> bool:
        windowed = bool(window_lengths(self.config.reliability.step))
        parts = ([where[0]], where[1])
        return rest_departure(per, self.indicator, parts, bidx, windowed) >= z

    def _narrow(self, per: pd.DataFrame, bidx: tuple[int, int]) -> str:
        levels, metric_dims = self.dims()
        top = [d for d in self.config.units.levels if d in levels][:1]
        found: dict[str, str] = {}
        for dim in [*top, *metric_dims]:
            for value in sorted(per[dim].dropna().astype("string").unique()):
                part = {dim: str(value)}
                hit: tuple[Cond, list[Cond]] = (part, [])
                rest: tuple[Cond, list[Cond]] = ({}, [part])
                if self._departs(per, bidx, hit, DEPARTURE_Z) and not self._departs(
                    per, bidx, rest, SIBLINGS_Z
                ):
                    found[dim] = str(value)
        return format_cause(found)

    def _widen(self, per: pd.DataFrame, bidx: tuple[int, int], segment: str) -> str:
        levels = [d for d in self.config.units.levels if d in self.indicator.dimensions]
        causes = [parse_cause(c) for c in segment.split(CAUSE_SEPARATOR)]
        for outer in list(causes):  # a cause holding others: the rest of it fails too, or not
            inner = [c for c in causes if c is not outer and self._contains(outer, c)]
            if inner:
                parts = (outer, inner)
                keep = self._departs(per, bidx, parts, SIBLINGS_Z)
                causes = [c for c in causes if c not in (inner if keep else [outer])]
        groups: dict[str, list[dict[str, str]]] = {}
        for cause in causes:
            groups.setdefault(format_cause(self._parent(cause, levels) or cause), []).append(cause)
        widened = []
        for parent, members in groups.items():
            whole = parse_cause(parent) if parent else {}
            siblings = (whole, members)
            if parent not in map(format_cause, members) and self._departs(
                per, bidx, siblings, SIBLINGS_Z
            ):
                widened.append(parent)
            else:
                widened += [format_cause(m) for m in members]
        return CAUSE_SEPARATOR.join(dict.fromkeys(widened))

    def _parent(self, cause: dict[str, str], levels: list[str]) -> dict[str, str] | None:
        """The cause with its unit replaced by that unit's ancestor one watched level up."""
        named = [d for d in levels if d in cause]
        if not named or levels.index(named[-1]) == 0:
            return None
        fine, coarse = named[-1], levels[levels.index(named[-1]) - 1]
        up = self.tree().first((fine, cause[fine]), coarse)
        if up is None:
            return None
        rest = {d: v for d, v in cause.items() if d not in (fine, coarse)}
        return {**rest, coarse: up}

    def _contains(self, outer: Cond, inner: Cond) -> bool:
        """Does every leaf of ``inner`` fall in ``outer``? Units through the hierarchy."""
        if outer == inner:
            return False
        levels = self.config.units.levels
        for dim, value in outer.items():
            if inner.get(dim) == value:
                continue
            if dim not in levels:
                return False
            finer = [d for d in inner if d in levels and levels.index(d) > levels.index(dim)]
            tree = self.tree()
            if not any(tree.meets(("unit_id", inner[d]), dim, value) for d in finer):
                return False
        return True
