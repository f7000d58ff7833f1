"""Pricing an incident: customers affected × value × extra churn, each episode measured once.

An incident's own churn is measured when its follow-up is complete and the counts are stored on
it (migration 3), so a later pass pools stored effects instead of re-scanning past episodes,
and an incident priced on history is re-priced on its own churn once its follow-up is in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import pandas as pd

from earnright.config import Config
from earnright.reliability.records import Incident, load_incidents, save_incidents, utcnow
from earnright.reliability.revenue import (
    ChurnEffect,
    Exposure,
    RiskPass,
    follow_up_window,
    measure_extra_churns,
    revenue_at_risk,
)
from earnright.warehouse import Warehouse

__all__ = ["price_incident", "price_incidents", "settle_churn"]


def _exposure(incident: Incident) -> Exposure:
    return Exposure(
        segments=incident.segments,
        start=incident.window[0],
        end=incident.window[1],
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


def _measure_churns(
    wh: Warehouse,
    config: Config,
    incidents: Sequence[Incident],
    as_of: datetime,
    context: RiskPass,
) -> dict[str, ChurnEffect | None]:
    """The churn effect of each incident whose follow-up is complete (None: nobody exposed or
    nobody to compare with), all counted in one engine query (:func:`measure_extra_churns`);
    the others are left out."""
    data_end = context.data_end(as_of)
    ready = [
        i
        for i in incidents
        if data_end is not None and follow_up_window(config, _exposure(i))[1] <= data_end
    ]
    exposures = [_exposure(i) for i in ready]
    effects = measure_extra_churns(wh, config, exposures, as_of=data_end, context=context)
    return {i.incident_id: e for i, e in zip(ready, effects, strict=True)}


def _store_churn(incident: Incident, measured: dict[str, ChurnEffect | None]) -> None:
    """Keep the incident's churn counts and when they were measured (clear them when its
    follow-up is not complete)."""
    effect = measured.get(incident.incident_id)
    incident.churn_exposed = effect.exposed if effect else None
    incident.churn_exposed_lost = effect.exposed_churned if effect else None
    incident.churn_control = effect.control if effect else None
    incident.churn_control_lost = effect.control_churned if effect else None
    incident.churn_measured_at = utcnow() if incident.incident_id in measured else None


def price_incident(
    wh: Warehouse, config: Config, incident: Incident, history: list[Incident], as_of: datetime
) -> None:
    """Set the incident's customers affected, value, extra churn and revenue at risk.

    Its own churn is measured once its follow-up is complete, for the exposure it has then (the
    counts are kept on the incident; a changed segment or window is measured again), else the
    stored effects of the incidents in ``history`` that ended before it began are pooled.
    """
    price_incidents(wh, config, [incident], history, as_of)


def price_incidents(
    wh: Warehouse,
    config: Config,
    incidents: Sequence[Incident],
    history: list[Incident],
    as_of: datetime,
    context: RiskPass | None = None,
) -> None:
    """:func:`price_incident` for each of ``incidents``, as one pass: the units are read and
    the transactions' range scanned once, every incident's customers are valued in one engine
    query (:meth:`RiskPass.value`) and the churn of those due counted in another; the figures
    are the same as one at a time."""
    context = context or RiskPass.read(wh, config)
    context.value(wh, config, [_exposure(i) for i in incidents], as_of)
    stale = [i for i in incidents if _churn_stale(i, history)]
    measured = _measure_churns(wh, config, stale, as_of, context)
    for incident in incidents:  # in turn: one's churn measured here joins the next's history
        if any(incident is i for i in stale):
            _store_churn(incident, measured)
        _set_risk(wh, config, incident, history, (as_of, context))


def _churn_stale(incident: Incident, history: list[Incident]) -> bool:
    """Is the incident's churn to be measured (again): new, never measured, or its segment
    or window changed since it was?"""
    before = next((h for h in history if h.incident_id == incident.incident_id), None)
    return (
        before is None
        or before.churn_measured_at is None
        or _exposure(before) != _exposure(incident)
    )


def _set_risk(
    wh: Warehouse,
    config: Config,
    incident: Incident,
    history: list[Incident],
    at: tuple[datetime, RiskPass],
) -> None:
    """Price the incident on its own stored churn, else on the history before it began."""
    as_of, context = at
    past = [
        effect
        for h in history
        if h.incident_id != incident.incident_id and h.window[1] <= incident.started_at
        if (effect := _stored_effect(config, h)) is not None
    ]
    own = _stored_effect(config, incident)
    exposure = _exposure(incident)
    risk = revenue_at_risk(
        wh, config, exposure, history=past, as_of=as_of, effect=own, context=context
    )
    incident.customers_affected = risk.customers_affected
    incident.customer_value = risk.customer_value
    incident.value_basis = risk.value_basis
    incident.extra_churn = risk.extra_churn
    incident.extra_churn_low = risk.extra_churn_low
    incident.extra_churn_high = risk.extra_churn_high
    incident.churn_basis = risk.basis
    incident.revenue_at_risk = risk.revenue_at_risk
    incident.revenue_at_risk_low = risk.revenue_at_risk_low
    incident.revenue_at_risk_high = risk.revenue_at_risk_high


def settle_churn(
    wh: Warehouse,
    config: Config,
    as_of: datetime,
    pending: Collection[str],
    context: RiskPass | None = None,
) -> list[Incident]:
    """Measure and store the churn of every stored incident whose follow-up is complete and not
    measured yet (but ``pending``, which this pass prices), re-pricing it on its own churn
    without a message; return every stored incident: the history later ones pool."""
    incidents = load_incidents(wh)
    ends = {i.incident_id: follow_up_window(config, _exposure(i))[1] for i in incidents}
    due = [
        i
        for i in incidents
        if i.churn_measured_at is None
        and i.incident_id not in pending
        and ends[i.incident_id] <= as_of
    ]
    if not due:  # scan only when one may be due
        return incidents
    context = context or RiskPass.read(wh, config)
    data_end = context.data_end(as_of)
    ready = [i for i in due if data_end is not None and ends[i.incident_id] <= data_end]
    price_incidents(wh, config, ready, incidents, as_of, context)
    for incident in ready:
        incident.updated_at = utcnow()
    save_incidents(wh, ready)
    return incidents
