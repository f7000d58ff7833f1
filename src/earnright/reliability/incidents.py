"""Incidents: alerts grouped, localised to the customers hurt, priced, stored and routed.

``run_detection`` is one pass of the early-warning process over every indicator:

1. scan the indicator's series for new alerts (:mod:`earnright.reliability.detection`);
2. group them: an alert within ``[reliability] resolve_after`` of the indicator's open incident
   joins it — one incident, not fifty alerts for fifty stores — otherwise it opens a new one;
   an open incident with no alert for ``resolve_after`` is resolved;
3. localise each changed incident: the metric's leaves (unit × metric dimensions) over the
   incident's window against their level in the four weeks before it, searched for the segment
   that explains the deviation (:func:`earnright.reliability.localize.localize`);
4. price it: the customers affected, their value and the extra churn such failures cause
   (:func:`earnright.reliability.revenue.revenue_at_risk`);
5. write the alerts, the incident, the detector states and the outbox messages to the owning
   team in one transaction per indicator, so a crash loses nothing and sends nothing twice
   unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd

from earnright.config import Config, Indicator, Moment
from earnright.listening.scorecard import unit_ancestors
from earnright.reliability.delivery import enqueue_messages
from earnright.reliability.detection import SEVERITY_RANK, Alert, scan_indicator
from earnright.reliability.indicators import indicator_events
from earnright.reliability.localize import localize, parse_cause
from earnright.reliability.revenue import (
    ChurnEffect,
    Exposure,
    churn_data_end,
    follow_up_window,
    measure_extra_churn,
    revenue_at_risk,
)
from earnright.warehouse import Warehouse

__all__ = ["DetectionRun", "Incident", "list_incidents", "run_detection"]

BASELINE = timedelta(days=28)  # the leaves' normal level is measured over this span before
CAUSE_SEPARATOR = "; "
Progress = Callable[[str, int, int], None]


@dataclass
class Incident:
    """One incident as stored in the ``incidents`` table."""

    incident_id: str
    indicator: str
    moment: str
    metric: str
    owner: str
    segment: str
    status: str
    severity: str
    started_at: datetime
    detected_at: datetime
    last_alert_at: datetime
    resolved_at: datetime | None = None
    customers_affected: int | None = None
    customer_value: float | None = None
    extra_churn: float | None = None
    extra_churn_low: float | None = None
    extra_churn_high: float | None = None
    churn_basis: str = "none"
    revenue_at_risk: float | None = None
    revenue_at_risk_low: float | None = None
    revenue_at_risk_high: float | None = None
    updated_at: datetime | None = None
    # the episode's churn counts, measured once its follow-up is complete (see _price)
    churn_exposed: int | None = None
    churn_exposed_lost: int | None = None
    churn_control: int | None = None
    churn_control_lost: int | None = None
    churn_measured_at: datetime | None = None

    def __post_init__(self) -> None:
        for f in fields(self):  # a null timestamp reads back from the table as NaT
            if getattr(self, f.name) is pd.NaT:
                setattr(self, f.name, None)

    @property
    def segments(self) -> list[dict[str, str]]:
        """The root causes as dimension -> value conditions ([{}] when everyone is hurt)."""
        if not self.segment:
            return [{}]
        return [parse_cause(part) for part in self.segment.split(CAUSE_SEPARATOR)]

    @property
    def window(self) -> tuple[datetime, datetime]:
        return self.started_at, self.last_alert_at

    def record(self) -> dict[str, Any]:
        """The JSON-ready record ``earnright warnings`` prints and alerts carry."""
        out = {
            "id": self.incident_id,
            "moment": self.moment,
            "indicator": self.indicator,
            "metric": self.metric,
            "segment": self.segment,
            "started_at": self.started_at,
            "detected_at": self.detected_at,
            "resolved_at": self.resolved_at,
            "status": self.status,
            "severity": self.severity,
            "owner": self.owner,
            "customers_affected": self.customers_affected,
            "customer_value": self.customer_value,
            "extra_churn": self.extra_churn,
            "extra_churn_low": self.extra_churn_low,
            "extra_churn_high": self.extra_churn_high,
            "churn_basis": self.churn_basis,
            "revenue_at_risk": self.revenue_at_risk,
            "revenue_at_risk_low": self.revenue_at_risk_low,
            "revenue_at_risk_high": self.revenue_at_risk_high,
        }
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


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

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["data_until"] = self.data_until.isoformat() if self.data_until else None
        return out


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    return value


def _load_incidents(wh: Warehouse, **where: str) -> list[Incident]:
    t = wh.table("incidents")
    for col, value in where.items():
        t = t.filter(t[col] == value)
    rows = t.order_by("started_at").execute()
    names = [f.name for f in fields(Incident)]
    return [Incident(**{n: _clean(row[n]) for n in names}) for row in rows.to_dict("records")]


def _save_incident(wh: Warehouse, incident: Incident) -> None:
    wh.delete("incidents", {"incident_id": incident.incident_id})
    wh.insert("incidents", {f.name: [getattr(incident, f.name)] for f in fields(Incident)})


def _save_alerts(wh: Warehouse, alerts: list[tuple[Alert, str | None]]) -> int:
    """Insert alerts not stored before (an alert id is its series, rule and bucket)."""
    t = wh.table("alerts")
    seen = set(t.filter(t.alert_id.isin([a.alert_id for a, _ in alerts])).alert_id.execute())
    new = [(a, inc) for a, inc in alerts if a.alert_id not in seen]
    if new:
        now = _utcnow()
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
        self, segment: str, fired_at: datetime, quiet: timedelta, overlaps: Overlaps
    ) -> Incident | None:
        """The incident a segment belongs to: an open one it overlaps, or one resolved less than
        ``quiet`` before going quiet (a flapping incident is reopened, not opened twice)."""
        causes = segment.split(CAUSE_SEPARATOR) if segment else [""]
        flapping = [i for i in self.recent if fired_at - i.last_alert_at <= 2 * quiet]
        for incident in [*self.open, *flapping]:
            if not any(overlaps(cause, incident) for cause in causes):
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
    judge: tuple[Callable[[Incident, set[str]], str | None], Overlaps],
) -> None:
    """Assign alerts, one bucket at a time as a stream would see them, to incidents.

    An alert joins an open incident whose segment it overlaps; the others form a candidate,
    which ``confirm(candidate, alerted segments)`` turns into an incident (returning its
    segment) or dismisses as a chronic miss (None) — so a chronically weak store does not chain
    unrelated alerts into one endless incident. An alert, or a candidate's confirmed segment,
    that overlaps an open incident or one resolved less than ``resolve_after`` before joins
    (reopens) it: a sibling store's alert, or a flapping incident, is not a second incident. An
    incident with no alert for ``resolve_after`` is resolved.
    """
    confirm, overlaps = judge
    for fired_at in sorted({a.fired_at for a in alerts}):
        batch = [a for a in alerts if a.fired_at == fired_at]
        grouping.resolve_quiet(fired_at, resolve_after)
        rest = []
        for alert in batch:
            home = grouping.home(alert.segment, fired_at, resolve_after, overlaps)
            if home is None:
                rest.append(alert)
            else:
                grouping.join(home, [alert])
        if not rest:
            continue
        candidate = _candidate(rest, context)
        segment = confirm(candidate, {a.segment for a in rest})
        if segment is None:
            grouping.chronic.append(candidate.incident_id)
            grouping.assigned += [(a, None) for a in rest]
            continue
        home = grouping.home(segment, fired_at, resolve_after, overlaps)
        if home is not None:  # a sibling's alert confirmed into a segment already followed
            grouping.join(home, rest)
            continue
        candidate.segment = segment
        grouping.open.append(candidate)
        grouping.opened.add(candidate.incident_id)
        grouping.join(candidate, rest)


def _compatible(a: dict[str, str], b: dict[str, str], ancestors: pd.DataFrame) -> bool:
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


def _leaf_dims(wh: Warehouse, config: Config, indicator: Indicator) -> tuple[list[str], list[str]]:
    """The indicator's dimensions split into unit levels and metric dimension columns."""
    metric_dims = set(wh.open_columns("metrics"))
    levels = [d for d in indicator.dimensions if d in config.units.levels]
    return levels, [d for d in indicator.dimensions if d in metric_dims]


def _leaf_sums(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    dims: list[str],
    window: tuple[datetime, datetime],
) -> pd.DataFrame:
    """Per leaf (unit × metric dimensions) with events in ``window``: value sum, good and total
    events there (``value, good, total``) and over the ``BASELINE`` before it (``*_base``),
    from one engine scan."""
    start, end = window
    ev = indicator_events(wh, indicator, config.reliability.step, (start - BASELINE, end))
    now = ev.observed_at >= start
    sums = {}
    for name, col in (("value", ev._vsum), ("good", ev._good), ("total", ev._total)):
        sums[name] = ibis.ifelse(now, col, 0.0).sum()
        sums[f"{name}_base"] = ibis.ifelse(now, 0.0, col).sum()
    leaves = ev.group_by(["unit_id", *dims]).aggregate(**sums).execute()
    return leaves[leaves.total > 0]


def _localize_incident(
    wh: Warehouse,
    config: Config,
    indicator: Indicator,
    window: tuple[datetime, datetime],
    ancestors: pd.DataFrame,
) -> str | None:
    """The root causes of the indicator in ``window`` ("" when every leaf moved alike), or None
    when there is nothing to search."""
    levels, metric_dims = _leaf_dims(wh, config, indicator)
    if not levels and not metric_dims:
        return None
    leaves = _leaf_sums(wh, config, indicator, metric_dims, window)
    if indicator.measure == "events":
        bad_base = leaves.total_base - leaves.good_base
        overall = bad_base.sum() / max(leaves.total_base.sum(), 1)
        leaves["real"] = leaves.total - leaves.good
        leaves["predict"] = (bad_base / leaves.total_base).fillna(overall) * leaves.total
    else:  # a threshold indicator's total is its readings with a value
        overall = leaves.value_base.sum() / max(leaves.total_base.sum(), 1)
        leaves["real"] = leaves.value
        leaves["predict"] = (leaves.value_base / leaves.total_base).fillna(overall) * leaves.total
    leaves = leaves.replace([np.inf, -np.inf], np.nan).dropna(subset=["real", "predict"])
    leaves = leaves.merge(ancestors, on="unit_id", how="left")
    for dim in metric_dims:
        leaves = leaves[leaves[dim] != "all"]
    dims = [*levels, *metric_dims]
    worse_is_up = not (indicator.measure == "threshold" and indicator.good_when == "above")
    causes = localize(leaves.fillna({d: "null" for d in dims}), dims)
    found = [c.cause for c in causes if (c.z > 0) == worse_is_up]
    return CAUSE_SEPARATOR.join(found)


def _in_segments(leaves: pd.DataFrame, segments: list[dict[str, str]]) -> pd.Series:
    """Which leaves fall in any of the segments (an OR of dimension = value conditions)."""
    hit = pd.Series(False, index=leaves.index)
    for segment in segments:
        cond = pd.Series(True, index=leaves.index)
        for dim, value in segment.items():
            cond &= leaves[dim].astype("string") == value if dim in leaves else False
        hit |= cond
    return hit


def _onset(
    wh: Warehouse, config: Config, indicator: Indicator, incident: Incident, ancestors: pd.DataFrame
) -> datetime:
    """When the incident started: walking back from its first alert, the earliest bucket of an
    unbroken run in which the hurt segment burned its error budget (bad share above it)."""
    step = config.reliability.step
    lookback = max((a.long for a in config.reliability.burn_alerts), default=step)
    _, metric_dims = _leaf_dims(wh, config, indicator)
    span = (incident.started_at - lookback, incident.started_at)
    ev = indicator_events(wh, indicator, step, span)
    per = (
        ev.group_by(["_bidx", "unit_id", *metric_dims])
        .aggregate(good=ev._good.sum(), total=ev._total.sum())
        .execute()
        .merge(ancestors, on="unit_id", how="left")
    )
    sums = per[_in_segments(per, incident.segments)].groupby("_bidx")[["good", "total"]].sum()
    bad = (1 - sums.good / sums.total).to_dict()
    start = int(incident.started_at.timestamp() // step.total_seconds())  # naive UTC
    first = start
    while bad.get(first - 1, 0.0) > indicator.error_budget:
        first -= 1
    return incident.started_at - (start - first) * step


def _unit_ancestors(wh: Warehouse, config: Config) -> pd.DataFrame:
    """unit_id -> its ancestor at every level (a unit is its own ancestor at its level)."""
    units = wh.table("units").select("unit_id", "level", "parent_id").execute()
    levels = config.units.levels
    frame = units[["unit_id"]].astype("string")
    for level in levels:
        up = unit_ancestors(units, levels, level).rename(columns={"ancestor_id": level})
        frame = frame.merge(up, on="unit_id", how="left")
    return frame


def _exposure(incident: Incident) -> Exposure:
    return Exposure(
        segments=incident.segments,
        start=incident.started_at,
        end=incident.last_alert_at,
        indicator=incident.indicator,
    )


def _stored_effect(config: Config, incident: Incident) -> ChurnEffect | None:
    """The incident's churn effect from its stored counts (None: not measured, or nobody was
    exposed or nobody to compare with)."""
    counts = (
        incident.churn_exposed_lost,
        incident.churn_exposed,
        incident.churn_control_lost,
        incident.churn_control,
    )
    k_e, n_e, k_c, n_c = (-1 if c is None or pd.isna(c) else int(c) for c in counts)
    if min(k_e, k_c) < 0 or n_e <= 0 or n_c <= 0:
        return None
    window = follow_up_window(config, _exposure(incident))
    return ChurnEffect.from_counts((k_e, n_e, k_c, n_c), window, incident.indicator)


def _measure_churn(wh: Warehouse, config: Config, incident: Incident, as_of: datetime) -> None:
    """Measure the incident's churn counts if its follow-up is complete; clear them if not."""
    ends = follow_up_window(config, _exposure(incident))[1]
    data_end = churn_data_end(wh, as_of) if ends <= as_of else None
    effect, measured_at = None, None
    if data_end is not None and ends <= data_end:
        effect = measure_extra_churn(wh, config, _exposure(incident), as_of=data_end)
        measured_at = _utcnow()
    incident.churn_exposed = effect.exposed if effect else None
    incident.churn_exposed_lost = effect.exposed_churned if effect else None
    incident.churn_control = effect.control if effect else None
    incident.churn_control_lost = effect.control_churned if effect else None
    incident.churn_measured_at = measured_at


def _price(
    wh: Warehouse, config: Config, incident: Incident, history: list[Incident], as_of: datetime
) -> None:
    """Set the incident's customers affected, value, extra churn and revenue at risk.

    Its own churn is measured once its follow-up is complete, for the exposure it has then (the
    counts are kept on the incident; a changed segment or window is measured again), else the
    stored effects of the incidents in ``history`` that ended before it began are pooled.
    """
    stored = next((h for h in history if h.incident_id == incident.incident_id), None)
    if (
        stored is None
        or stored.churn_measured_at is None
        or _exposure(stored) != _exposure(incident)
    ):
        _measure_churn(wh, config, incident, as_of)
    past = [
        effect
        for h in history
        if h.incident_id != incident.incident_id and h.last_alert_at <= incident.started_at
        if (effect := _stored_effect(config, h)) is not None
    ]
    own = _stored_effect(config, incident)
    risk = revenue_at_risk(wh, config, _exposure(incident), history=past, as_of=as_of, effect=own)
    incident.customers_affected = risk.customers_affected
    incident.customer_value = risk.customer_value
    incident.extra_churn = risk.extra_churn
    incident.extra_churn_low = risk.extra_churn_low
    incident.extra_churn_high = risk.extra_churn_high
    incident.churn_basis = risk.basis
    incident.revenue_at_risk = risk.revenue_at_risk
    incident.revenue_at_risk_low = risk.revenue_at_risk_low
    incident.revenue_at_risk_high = risk.revenue_at_risk_high


def _settle_churn(
    wh: Warehouse, config: Config, as_of: datetime, pending: Collection[str]
) -> list[Incident]:
    """Measure and store the churn of every stored incident whose follow-up is complete and not
    measured yet (but ``pending``, which this pass prices), re-pricing it on its own churn
    without a message; return every stored incident: the history later ones pool."""
    incidents = _load_incidents(wh)
    due = [
        i
        for i in incidents
        if i.churn_measured_at is None
        and i.incident_id not in pending
        and follow_up_window(config, _exposure(i))[1] <= as_of
    ]
    data_end = churn_data_end(wh, as_of) if due else None  # scan only when one may be due
    for incident in due:
        if data_end is None or follow_up_window(config, _exposure(incident))[1] > data_end:
            continue
        _price(wh, config, incident, incidents, as_of)
        incident.updated_at = _utcnow()
        _save_incident(wh, incident)
    return incidents


def _event(incident: Incident, opened: set[str]) -> str:
    if incident.status == "resolved":
        return "resolved"  # also when opened and closed within one pass (a replay)
    return "opened" if incident.incident_id in opened else "updated"


def _scan_and_group(
    wh: Warehouse, config: Config, pair: tuple[Moment, Indicator], run: DetectionRun
) -> None:
    """Everything one indicator's pass writes (call inside a transaction); updates ``run``."""
    moment, indicator = pair
    settings = config.reliability
    alerts, _ = scan_indicator(wh, config, indicator)
    clock = run.data_until or _utcnow()
    ancestors = _unit_ancestors(wh, config)

    located: dict[tuple[str, datetime, datetime], str | None] = {}

    def locate(incident: Incident, until: datetime | None = None) -> str | None:
        """Localise once per window: from the start to ``until`` (default: the last alert)."""
        window = (incident.started_at, until or incident.last_alert_at)
        key = (incident.incident_id, *window)
        if key not in located:
            located[key] = _localize_incident(wh, config, indicator, window, ancestors)
        return located[key]

    def confirm(candidate: Incident, alerted: set[str]) -> str | None:
        segment = locate(candidate)
        if segment is None:  # nothing to search: the alerted segment is all we know
            return candidate.segment
        if segment == "" and "" not in alerted:
            return None  # no segment departs from its normal level: a chronic miss
        return segment

    def overlaps(segment: str, incident: Incident) -> bool:
        cond = parse_cause(segment) if segment else {}
        return any(_compatible(cond, seg, ancestors) for seg in incident.segments)

    grouping = _Grouping(
        open=_load_incidents(wh, indicator=indicator.id, status="open"),
        recent=_load_incidents(wh, indicator=indicator.id, status="resolved"),
    )
    context = (moment, indicator, config.owner_of(moment, indicator))
    _group(alerts, grouping, context, settings.resolve_after, (confirm, overlaps))
    grouping.resolve_quiet(clock, settings.resolve_after)
    history = _settle_churn(wh, config, clock, pending=grouping.touched)
    for incident in grouping.touched.values():
        # the whole episode names the segment best: an anomaly alert is followed by the
        # detector's rest, so the episode runs until the incident resolves (or now)
        segment = locate(incident, min(clock, incident.last_alert_at + settings.resolve_after))
        if segment:  # keep the first one when the episode names none
            incident.segment = segment
        if incident.incident_id in grouping.opened:
            incident.started_at = _onset(wh, config, indicator, incident, ancestors)
        _price(wh, config, incident, history, clock)
        incident.updated_at = _utcnow()
        _save_incident(wh, incident)
        event = _event(incident, grouping.opened)
        {"opened": run.opened, "updated": run.updated, "resolved": run.resolved}[event].append(
            incident.incident_id
        )
        run.messages += enqueue_messages(wh, config, incident.record(), event, now=clock)
    run.chronic += grouping.chronic
    run.alerts += _save_alerts(wh, grouping.assigned)


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
    for done, pair in enumerate(pairs):
        if progress:
            progress("detection", done, len(pairs))
        with wh.transaction():
            wh.lock("detection")  # two watchers on one PostgreSQL database take turns
            _scan_and_group(wh, config, pair, run)
    if progress:
        progress("detection", len(pairs), len(pairs))
    return run


def list_incidents(
    wh: Warehouse, *, since: datetime | None = None, status: str | None = None
) -> list[Incident]:
    """Stored incidents, newest first; ``since`` keeps those still open or active after it."""
    incidents = _load_incidents(wh, **({"status": status} if status else {}))
    if since is not None:
        incidents = [i for i in incidents if i.last_alert_at >= since or i.status == "open"]
    return sorted(incidents, key=lambda i: i.started_at, reverse=True)
