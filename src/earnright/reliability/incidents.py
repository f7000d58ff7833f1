"""Incidents: alerts grouped, localised to the customers hurt, priced, stored and routed.

``run_detection`` is one pass of the early-warning process over every indicator:

1. scan the indicator's series for new alerts (:mod:`earnright.reliability.detection`);
2. group them: an alert whose segment overlaps an open incident's (or one resolved less than
   ``[reliability] resolve_after`` before: a flapping incident) joins it — one incident, not
   fifty alerts for fifty stores — otherwise its candidate is localised and opens a new one (or
   joins the incident its confirmed segment overlaps); an open incident with no alert for
   ``resolve_after`` is resolved;
3. localise each changed incident: the metric's leaves (unit × metric dimensions) over the
   whole episode against their level in the four weeks before it, searched for the segment
   that explains the deviation (:func:`earnright.reliability.localize.localize`);
4. price it: the customers affected, their value and the extra churn such failures cause
   (:func:`earnright.reliability.revenue.revenue_at_risk`), its own once its follow-up is
   complete (the counts are stored, so an episode is measured once), else pooled from earlier
   incidents' stored counts;
5. write the alerts, the incident, the detector states and the outbox messages to the owning
   team in one transaction per indicator, so a crash loses nothing and sends nothing twice
   unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd

from earnright.config import Config, Indicator, Moment
from earnright.delivery import enqueue_messages
from earnright.progress import Progress
from earnright.reliability.departures import departure_alerts, departure_start, last_scanned
from earnright.reliability.detection import SEVERITY_RANK, Alert, scan_indicator
from earnright.reliability.episode import BASELINE, in_segments
from earnright.reliability.indicators import indicator_events
from earnright.reliability.judge import Judge
from earnright.reliability.pricing import price_incidents, settle_churn
from earnright.reliability.records import (
    CAUSE_SEPARATOR,
    Incident,
    load_incidents,
    save_incidents,
    utcnow,
)
from earnright.reliability.revenue import RiskPass
from earnright.reliability.segment import leaf_dims
from earnright.units import ancestors_by_level
from earnright.warehouse import Warehouse

__all__ = ["DetectionRun", "Incident", "list_incidents", "run_detection"]


@dataclass
class DetectionRun:
    """What one pass found: alert count and incidents opened, updated and resolved."""

    alerts: int = 0
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    chronic: list[str] = field(default_factory=list)
    messages: int = 0
    data_until: datetime | None = None
    late_rows: dict[str, int] = field(default_factory=dict)  # per indicator: rows that came
    # after their bucket had been scored (see detection.scan_indicator)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data_until"] = self.data_until.isoformat() if self.data_until else None
        return out


def _save_alerts(wh: Warehouse, alerts: list[tuple[Alert, str | None]]) -> int:
    """Insert alerts not stored before (an alert id is its series, rule and bucket). The
    stored ids are read by indicator and time, not by a list of every id (tens of thousands
    of literals in one query took longer than the rest of a thousand stores' scan)."""
    if not alerts:
        return 0
    t = wh.table("alerts")
    since = min(a.fired_at for a, _ in alerts)
    stored = t.filter(t.indicator.isin(sorted({a.indicator for a, _ in alerts})))
    seen = set(stored.filter(stored.fired_at >= since).alert_id.execute())
    new = [(a, inc) for a, inc in alerts if a.alert_id not in seen]
    if new:
        now = utcnow()
        wh.insert(
            "alerts",
            {
                "alert_id": [a.alert_id for a, _ in new],
                "incident_id": [inc for _, inc in new],
                "indicator": [a.indicator for a, _ in new],
                "segment": [a.segment for a, _ in new],
                "rule": [a.rule for a, _ in new],
                "severity": [a.severity for a, _ in new],
                "fired_at": [a.fired_at for a, _ in new],
                "score": [a.score for a, _ in new],
                "created_at": [now] * len(new),
            },
        )
    return len(new)


Overlaps = Callable[[str, "Incident"], bool]
Accepts = Callable[["Incident"], bool]
Belongs = Callable[[Alert, "Incident"], bool]


@dataclass
class _Grouping:
    """The state of grouping one indicator's alerts: its open incidents and what changed."""

    open: list[Incident]
    recent: list[Incident] = field(default_factory=list)  # resolved: reopened if they flap
    touched: dict[str, Incident] = field(default_factory=dict)
    assigned: list[tuple[Alert, str | None]] = field(default_factory=list)
    opened: set[str] = field(default_factory=set)
    chronic: list[str] = field(default_factory=list)

    def resolve_quiet(self, clock: datetime, quiet: timedelta) -> None:
        """Resolve open incidents that had no alert for ``quiet``."""
        for incident in [i for i in self.open if clock - i.last_alert_at > quiet]:
            incident.status, incident.resolved_at = "resolved", incident.last_alert_at
            self.touched[incident.incident_id] = incident
            self.open.remove(incident)
            self.recent.append(incident)

    def home(
        self, segment: str, fired_at: datetime, quiet: timedelta, judge: tuple[Overlaps, Accepts]
    ) -> Incident | None:
        """The incident a segment belongs to: an open one it overlaps, or one resolved less than
        ``quiet`` before going quiet (a flapping incident is reopened, not opened twice), that
        ``accept`` takes (the alert falls within its failure)."""
        overlaps, accept = judge
        causes = segment.split(CAUSE_SEPARATOR) if segment else [""]
        flapping = [i for i in self.recent if fired_at - i.last_alert_at <= 2 * quiet]
        for incident in [*self.open, *flapping]:
            if not any(overlaps(cause, incident) for cause in causes) or not accept(incident):
                continue
            if incident.status == "resolved":
                incident.status, incident.resolved_at = "open", None
                self.recent.remove(incident)
                self.open.append(incident)
            return incident
        return None

    def join(self, incident: Incident, alerts: list[Alert]) -> None:
        for alert in alerts:
            incident.last_alert_at = max(incident.last_alert_at, alert.fired_at)
            if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[incident.severity]:
                incident.severity = alert.severity
            self.assigned.append((alert, incident.incident_id))
        self.touched[incident.incident_id] = incident

    def merge_same_failure(self, overlaps: Overlaps) -> None:
        """Fold an incident opened in this pass into an earlier one of the same failure.

        Alerts on parts of one failure (a store on Monday, its neighbour on Thursday) can open
        two incidents before either's episode is measured; once each is localised over its whole
        episode, two whose segments overlap and whose failure spans overlap are one incident:
        the later one's alerts join the earlier one."""
        ordered = sorted([*self.touched.values(), *self.open, *self.recent], key=_span_start)
        for later in [i for i in ordered if i.incident_id in self.opened]:
            earlier = next((i for i in ordered if _same_failure(i, later, overlaps)), None)
            if earlier is None:
                continue
            ordered.remove(later)
            self._fold(later, earlier)

    def _fold(self, later: Incident, earlier: Incident) -> None:
        for pool in (self.open, self.recent):
            if later in pool:
                pool.remove(later)
        self.touched.pop(later.incident_id, None)
        self.opened.discard(later.incident_id)
        if later.status == "open" and earlier.status == "resolved":
            earlier.status, earlier.resolved_at = "open", None
            self.recent.remove(earlier)
            self.open.append(earlier)
        earlier.last_alert_at = max(earlier.last_alert_at, later.last_alert_at)
        if SEVERITY_RANK[later.severity] > SEVERITY_RANK[earlier.severity]:
            earlier.severity = later.severity
        if later.ended_at and (earlier.ended_at is None or later.ended_at > earlier.ended_at):
            earlier.ended_at = later.ended_at
        self.assigned = [
            (a, earlier.incident_id if home == later.incident_id else home)
            for a, home in self.assigned
        ]
        self.touched[earlier.incident_id] = earlier


def _span_start(incident: Incident) -> tuple[datetime, datetime, str]:
    """Incidents in order of their failure's start; the first detected first on a tie."""
    return incident.started_at, incident.detected_at, incident.incident_id


def _same_failure(earlier: Incident, later: Incident, overlaps: Overlaps) -> bool:
    """Is ``earlier`` (another incident, starting no later) the same failure as ``later``?"""
    if _span_start(earlier) >= _span_start(later):
        return False
    ends = earlier.ended_at or earlier.resolved_at or earlier.last_alert_at
    if later.started_at >= ends:
        return False
    return any(overlaps(cause, earlier) for cause in later.segment.split(CAUSE_SEPARATOR))


def _candidate(alerts: list[Alert], context: tuple[Moment, Indicator, str]) -> Incident:
    moment, indicator, owner = context
    first = min(alerts, key=lambda a: a.bucket)
    return Incident(
        incident_id=f"{indicator.id}-{first.bucket:%Y%m%dT%H%M}",
        indicator=indicator.id,
        moment=moment.id,
        metric=indicator.metric,
        owner=owner,
        segment=first.segment,
        status="open",
        severity="ticket",
        started_at=first.bucket,
        detected_at=first.fired_at,
        last_alert_at=first.fired_at,
    )


def _group(
    alerts: list[Alert],
    grouping: _Grouping,
    context: tuple[Moment, Indicator, str],
    resolve_after: timedelta,
    judge: tuple[Callable[[Incident, list[Alert]], str | None], Overlaps, Belongs],
) -> None:
    """Assign alerts, one bucket at a time as a stream would see them, to incidents.

    An alert joins an open incident whose segment it overlaps; the others form a candidate,
    which ``confirm(candidate, its alerts)`` turns into an incident (returning its
    segment) or dismisses as a chronic miss (None) — so a chronically weak store does not chain
    unrelated alerts into one endless incident. An alert, or a candidate's confirmed segment,
    that overlaps an open incident or one resolved less than ``resolve_after`` before joins
    (reopens) it: a sibling store's alert, or a flapping incident, is not a second incident. An
    incident with no alert for ``resolve_after`` is resolved. An alert ``belongs`` to an
    incident only when its bucket falls within the incident's failure (measured on the segment's
    series): a slow rule still firing after the failure ended, or a chronic store's ticket
    noise, neither keeps an incident open nor attaches to it.
    """
    confirm, overlaps, belongs = judge
    for fired_at in sorted({a.fired_at for a in alerts}):
        batch = [a for a in alerts if a.fired_at == fired_at]
        grouping.resolve_quiet(fired_at, resolve_after)
        rest = []
        for alert in batch:
            accept = partial(belongs, alert)
            home = grouping.home(alert.segment, fired_at, resolve_after, (overlaps, accept))
            if home is None:
                rest.append(alert)
            else:
                grouping.join(home, [alert])
        if not rest:
            continue
        candidate = _candidate(rest, context)
        segment = confirm(candidate, rest)
        if segment is None:
            grouping.chronic.append(candidate.incident_id)
            grouping.assigned += [(a, None) for a in rest]
            continue

        def accept_any(incident: Incident, batch: list[Alert] = rest) -> bool:
            return any(belongs(a, incident) for a in batch)

        home = grouping.home(segment, fired_at, resolve_after, (overlaps, accept_any))
        if home is not None:  # a sibling's alert confirmed into a segment already followed
            grouping.join(home, rest)
            continue
        candidate.segment = segment
        grouping.open.append(candidate)
        grouping.opened.add(candidate.incident_id)
        grouping.join(candidate, rest)


def _onset(
    wh: Warehouse, config: Config, indicator: Indicator, incident: Incident, ancestors: pd.DataFrame
) -> datetime:
    """When the incident started: walking back from its first alert, the earliest bucket of an
    unbroken run in which the hurt segment burned its error budget (bad share above it)."""
    step = config.reliability.step
    lookback = max((a.long for a in config.reliability.burn_alerts), default=step)
    _, metric_dims = leaf_dims(wh, config, indicator)
    span = (incident.started_at - lookback, incident.started_at)
    ev = indicator_events(wh, indicator, step, span)
    per = (
        ev.group_by(["_bidx", "unit_id", *metric_dims])
        .aggregate(good=ev._good.sum(), total=ev._total.sum())
        .execute()
        .merge(ancestors, on="unit_id", how="left")
    )
    sums = per[in_segments(per, incident.segments)].groupby("_bidx")[["good", "total"]].sum()
    bad = (1 - sums.good / sums.total).to_dict()
    start = int(incident.started_at.timestamp() // step.total_seconds())  # naive UTC
    first = start
    while bad.get(first - 1, 0.0) > indicator.error_budget:
        first -= 1
    return incident.started_at - (start - first) * step


def _event(incident: Incident, opened: set[str]) -> str:
    if incident.status == "resolved":
        return "resolved"  # also when opened and closed within one pass (a replay)
    return "opened" if incident.incident_id in opened else "updated"


def _scan_and_group(
    wh: Warehouse,
    config: Config,
    pair: tuple[Moment, Indicator],
    run: DetectionRun,
    shared: tuple[RiskPass | None, pd.DataFrame | None] = (None, None),
) -> None:
    """Everything one indicator's pass writes (call inside a transaction); updates ``run``.
    ``shared``: what the run's indicators share, none of which detection changes: what pricing
    does (the units, the transactions' range, the lifetime-value fit and the customers' values)
    and the units' ancestors (``ancestors_by_level``)."""
    moment, indicator = pair
    settings = config.reliability
    clock = run.data_until or utcnow()
    risk, ancestors = shared
    if ancestors is None:
        ancestors = ancestors_by_level(wh, config.units.levels)
    alerts, grouping, judge = _alerts_and_judge(wh, config, (indicator, ancestors), run, clock)
    context = (moment, indicator, config.owner_of(moment, indicator))
    rules = (judge.confirm, judge.overlaps, judge.belongs)
    _group(alerts, grouping, context, settings.resolve_after, rules)
    grouping.resolve_quiet(clock, settings.resolve_after)
    for incident in grouping.touched.values():
        # the whole episode names the segment best: alerts thin out as the detector adapts to a
        # lasting failure, so the episode runs until the incident resolves (or now)
        until = min(clock, incident.last_alert_at + settings.resolve_after)
        segment = judge.locate(incident, until)
        if segment:  # keep the first one when the episode names none (or none departing)
            incident.segment = judge.departing(incident, segment) or incident.segment
        incident.segment = judge.refine(incident)
        failing = judge.span(incident)
        if incident.incident_id in grouping.opened:
            incident.started_at = (
                failing[0] if failing else _onset(wh, config, indicator, incident, judge.ancestors)
            )
        incident.ended_at = failing[1] if failing else None
    grouping.merge_same_failure(judge.overlaps)
    risk = risk or RiskPass.read(wh, config)
    history = settle_churn(wh, config, clock, pending=grouping.touched, context=risk)
    price_incidents(wh, config, list(grouping.touched.values()), history, clock, risk)
    for incident in grouping.touched.values():
        incident.updated_at = utcnow()
    save_incidents(wh, list(grouping.touched.values()))
    for incident in grouping.touched.values():
        event = _event(incident, grouping.opened)
        {"opened": run.opened, "updated": run.updated, "resolved": run.resolved}[event].append(
            incident.incident_id
        )
        run.messages += enqueue_messages(wh, config, incident.record(), event, now=clock)
    run.chronic += grouping.chronic
    run.alerts += _save_alerts(wh, grouping.assigned)


def _alerts_and_judge(
    wh: Warehouse,
    config: Config,
    which: tuple[Indicator, pd.DataFrame],
    run: DetectionRun,
    clock: datetime,
) -> tuple[list[Alert], _Grouping, Judge]:
    """The pass's alerts (the series' and the departure watch's, sorted), the stored open and
    recent incidents, and the judge of the indicator (and the units' ancestors) ``which``. The
    departure watch's first bucket counts as an alert's: the leaves read once from the earliest
    of them serve the watch and the judge alike."""
    indicator, ancestors = which
    after = last_scanned(wh, indicator)  # before the scan moves it on
    alerts, _ = scan_indicator(wh, config, indicator, late=run.late_rows)
    stored = load_incidents(wh, indicator=indicator.id)
    grouping = _Grouping(
        open=[i for i in stored if i.status == "open"],
        recent=[i for i in stored if i.status == "resolved"],
    )
    watched = departure_start(wh, config, indicator, after)
    starts = [a.bucket for a in alerts] + ([watched] if watched else [])
    judge = Judge(wh, config, indicator, ancestors, clock, _judged_since(config, starts, grouping))
    cube = judge.cube() if watched else None
    alerts += departure_alerts(wh, config, indicator, ancestors, after, cube)  # depth 2 too
    alerts.sort(key=lambda a: (a.bucket, a.segment, a.rule))
    return alerts, grouping, judge


def _judged_since(config: Config, buckets: list[datetime], grouping: _Grouping) -> datetime | None:
    """The earliest time judging this pass's alerts (their ``buckets``) and open incidents
    reads (the bucket start of their earliest start, less a failure span's reach back and its
    baseline), so that one engine scan serves the whole pass; None when there is nothing to
    judge."""
    starts = [*buckets, *(i.started_at for i in grouping.open)]
    if not starts:
        return None
    settings = config.reliability
    lookback = max((a.long for a in settings.burn_alerts), default=settings.step)
    earliest = pd.Timestamp(min(starts) - 2 * lookback - BASELINE - settings.step)
    return earliest.floor(settings.step).to_pydatetime()


def _data_until(wh: Warehouse, config: Config) -> datetime | None:
    """The end of the step holding the newest metrics observation."""
    newest = wh.table("metrics").observed_at.max().execute()
    if newest is None or pd.isna(newest):
        return None
    step = config.reliability.step.total_seconds()
    seconds = pd.Timestamp(newest).timestamp()
    return datetime.fromtimestamp((seconds // step + 1) * step, UTC).replace(tzinfo=None)


def run_detection(
    wh: Warehouse, config: Config, *, now: datetime | None = None, progress: Progress | None = None
) -> DetectionRun:
    """One pass over every indicator; see the module docstring. ``now`` (default: the end of
    the step holding the newest metrics observation) decides which quiet incidents resolve.

    Alert groups in which no segment departs from its own normal level (and the overall series
    did not alert) are a chronic miss of the objective, not an incident: their alerts are kept,
    the unit shows as broken in ``earnright reliability``, and nobody is paged.
    """
    run = DetectionRun(data_until=now or _data_until(wh, config))
    pairs = config.journey.indicators()
    risk = RiskPass.read(wh, config) if pairs else None  # one lifetime-value fit per run
    ancestors = ancestors_by_level(wh, config.units.levels) if pairs else None
    for done, pair in enumerate(pairs):
        if progress:
            progress("detection", done, len(pairs))
        with wh.transaction():
            wh.lock("detection")  # two watchers on one PostgreSQL database take turns
            _scan_and_group(wh, config, pair, run, (risk, ancestors))
    if progress:
        progress("detection", len(pairs), len(pairs))
    return run


def list_incidents(
    wh: Warehouse, *, since: datetime | None = None, status: str | None = None
) -> list[Incident]:
    """Stored incidents, newest first; ``since`` keeps those still open or active after it."""
    incidents = load_incidents(wh, **({"status": status} if status else {}))
    if since is not None:
        incidents = [i for i in incidents if i.last_alert_at >= since or i.status == "open"]
    return sorted(incidents, key=lambda i: i.started_at, reverse=True)
