"""The planted truth: exact expectations of the answer process, written to ``truth.json``.

A store-month's ``nps`` and ``csat`` are the expected NPS and P(osat >= 4) of a survey response
drawn at random from that store-month. Each visit is invited and answered with the same
probability at a store, so responses are a uniform random subsample of the store-month's visits
(transactions.parquet); the expectation is the exact mixture, over those visits, of the normal
tail probabilities of ``answers.py`` — over the moment (known probabilities by platform group)
and the incident damage each visit carries. It conditions on the visits, never on the answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from earnright.demo import answers
from earnright.demo.behaviour import Visits
from earnright.demo.calendar import Calendar
from earnright.demo.company import COMPANY_WEIGHTS, DRIVER_BASE, StoreParams, Units
from earnright.demo.company_actions import PlannedAction, nps_truth, queue_truth, truth_records
from earnright.demo.incidents import Hurt, Incident
from earnright.demo.loyalty import LoyaltyTally
from earnright.demo.questionnaire import (
    DEMO_JOURNEY,
    MOMENT_OFFSETS,
    MOMENT_PROBS,
    MOMENTS,
    QUESTIONS,
)
from earnright.demo.surveys import INVITE_P

__all__ = ["TruthBuilder", "dumps"]

_COUNTS = ("transactions", "invitations", "responses", "other_feedback")


def _r(value: float) -> float:
    return round(float(value), 6)


class TruthBuilder:
    """Accumulates per store-month sufficient statistics chunk by chunk, then writes the truth."""

    def __init__(
        self, params: StoreParams, calendar: Calendar, incidents: list[Incident],
        actions: list[PlannedAction] | None = None,
    ) -> None:  # fmt: skip
        self.params, self.calendar, self.incidents = params, calendar, incidents
        self.actions = actions or []
        self.action_effects: dict[str, float] = {}  # realised effects (spend, retention)
        self.action_revenue: dict[str, float] = {}  # realised extra revenue (spend)
        shape = (len(params.quality), calendar.months)
        self._cells = shape[0] * shape[1]
        self.undamaged = np.zeros((*shape, 2))  # visits by platform group
        self.damaged = np.zeros((3, *shape))  # damaged visits: count, sum nps, sum csat
        self.counts = {name: np.zeros(shape, dtype=np.int64) for name in _COUNTS}
        self.exposure = np.zeros((len(incidents), 2), dtype=np.int64)
        self.sd = answers.ltr_sd(params)
        self.loyalty = LoyaltyTally()

    def _bincount(self, store: np.ndarray, month: np.ndarray, weights: Any = None) -> np.ndarray:
        cell = store * self.calendar.months + month
        counts = np.bincount(cell, weights=weights, minlength=self._cells)
        return counts.reshape(len(self.sd), self.calendar.months)

    def add(self, name: str, store: np.ndarray, month: np.ndarray) -> None:
        """Count rows of a file per store-month."""
        self.counts[name] += self._bincount(store, month).astype(np.int64)

    def add_visits(self, visits: Visits, group: np.ndarray, hurt: Hurt) -> None:
        """Add a chunk's visits: their platform group and the incident damage they carry."""
        month = self.calendar.month_of(visits.day)
        self.add("transactions", visits.store, month)
        loss = np.zeros(len(visits))
        weight = self.params.driver_weights[visits.store[hurt.visit], hurt.driver]
        np.add.at(loss, hurt.visit, weight * hurt.shift)
        hit = loss > 0
        for g in (0, 1):
            sel = ~hit & (group == g)
            self.undamaged[:, :, g] += self._bincount(visits.store[sel], month[sel])
        store, month, group, loss = visits.store[hit], month[hit], group[hit], loss[hit]
        nps, csat = np.zeros(len(store)), np.zeros(len(store))
        for m in range(len(MOMENTS)):
            mean = answers.ltr_mean(self.params, store, month, np.full(len(store), m)) - loss
            nps += MOMENT_PROBS[group, m] * answers.expected_nps(mean, self.sd[store])
            csat += MOMENT_PROBS[group, m] * answers.expected_csat(mean, self.sd[store])
        for row, values in enumerate((None, nps, csat)):
            self.damaged[row] += self._bincount(store, month, values)

    def _store_month(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected NPS and CSAT per store-month, mixing undamaged and damaged visits."""
        p = self.params
        mean = (
            p.ltr_intercept[:, :, None] + MOMENT_OFFSETS + p.driver_part[:, None, None]
        )  # (stores, months, moments)
        sd = self.sd[:, None, None]
        by_group = [answers.expected_nps(mean, sd) @ MOMENT_PROBS.T]
        by_group.append(answers.expected_csat(mean, sd) @ MOMENT_PROBS.T)
        share = self.undamaged.sum(axis=(0, 1)) / max(self.undamaged.sum(), 1.0)
        visits = self.undamaged.sum(axis=2) + self.damaged[0]
        out = []
        for k, expected in enumerate(by_group):
            total = (self.undamaged * expected).sum(axis=2) + self.damaged[k + 1]
            fallback = expected @ (share if share.sum() > 0 else np.array([0.75, 0.25]))
            out.append(np.where(visits > 0, total / np.maximum(visits, 1.0), fallback))
        return out[0], out[1]

    def _store_month_records(self, units: Units) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        nps, csat = self._store_month()
        records = []
        for s, store_id in enumerate(units.store_ids):
            for t, period in enumerate(self.calendar.labels):
                record: dict[str, Any] = {"unit_id": store_id, "period": period}
                record.update(nps=_r(nps[s, t]), csat=_r(csat[s, t]))
                record.update({name: int(self.counts[name][s, t]) for name in _COUNTS})
                records.append(record)
        # A random response of the company: store-months weigh by their expected responses.
        weight = self.counts["transactions"] * self.params.response_rate[:, None]
        company: dict[str, Any] = {}
        for name, values in (("nps", nps), ("csat", csat)):
            by_period = (weight * values).sum(axis=0) / np.maximum(weight.sum(axis=0), 1e-12)
            company[name] = _r((weight * values).sum() / max(weight.sum(), 1e-12))
            company[f"{name}_by_period"] = {
                t: _r(v) for t, v in zip(self.calendar.labels, by_period, strict=True)
            }
        return records, company

    def _per_store(self, units: Units) -> dict[str, Any]:
        p, ids = self.params, units.store_ids
        means = answers.expected_answer(p.driver_means)

        def table(values: np.ndarray) -> dict[str, dict[str, float]]:
            return {
                s: {q: _r(values[i, k]) for k, q in enumerate(QUESTIONS)} for i, s in enumerate(ids)
            }

        return {
            "store_quality": {s: _r(p.quality[i]) for i, s in enumerate(ids)},
            "response_rate": {s: _r(p.response_rate[i]) for i, s in enumerate(ids)},
            "base_customers": {s: int(p.base_customers[i]) for i, s in enumerate(ids)},
            "driver_weights": table(p.driver_weights),
            "driver_latent_means": table(p.driver_means),
            "driver_means": table(means),
            "weak_drivers": {
                s: [q for k, q in enumerate(QUESTIONS) if p.weak[i, k]] for i, s in enumerate(ids)
            },
        }

    def _answer_model(self) -> dict[str, Any]:
        return {
            "ltr_noise_sd": answers.NOISE_SD,
            "driver_reference": {q: _r(c) for q, c in zip(QUESTIONS, DRIVER_BASE, strict=True)},
            "driver_latent_sd": 1.0,
            "moment_offsets": {m: _r(b) for m, b in zip(MOMENTS, MOMENT_OFFSETS, strict=True)},
            "moment_probabilities": {
                group: {m: _r(p) for m, p in zip(MOMENTS, MOMENT_PROBS[g], strict=True)}
                for g, group in enumerate(("app_user", "no_app"))
            },
            "osat": {
                "intercept": answers.OSAT_INTERCEPT,
                "slope": answers.OSAT_SLOPE,
                "noise_sd": answers.OSAT_NOISE,
            },
            "answer_probability": {
                "driver": answers.ANSWER_P,
                "ltr": answers.LTR_ANSWER_P,
                "osat": answers.OSAT_ANSWER_P,
            },
            "invitation_probability": INVITE_P,
        }

    def build(self, units: Units, seed: int) -> dict[str, Any]:
        """The truth document (see the module docstring and ``generate_company``)."""
        records, company = self._store_month_records(units)
        incidents = []
        for incident, (exposed, lapsed) in zip(self.incidents, self.exposure, strict=True):
            entry = incident.to_truth(self.calendar, units.store_ids)
            entry.update(customers_exposed=int(exposed), extra_lapses=int(lapsed))
            incidents.append(entry)
        intercept = self.params.ltr_intercept
        return {
            "seed": seed,
            "stores": units.stores,
            "months": self.calendar.months,
            "periods": list(self.calendar.labels),
            "questions": list(QUESTIONS),
            "moments": list(MOMENTS),
            "journey": DEMO_JOURNEY,
            "store_month": records,
            "company": company,
            "company_driver_weights": {
                q: _r(w) for q, w in zip(QUESTIONS, COMPANY_WEIGHTS, strict=True)
            },
            "answer_model": self._answer_model(),
            "store_month_intercept": {
                s: [_r(v) for v in intercept[i]] for i, s in enumerate(units.store_ids)
            },
            "incidents": incidents,
            "loyalty": self.loyalty.to_truth(),
            "actions": self._actions(units),
            **self._per_store(units),
        }

    def _actions(self, units: Units) -> list[dict[str, Any]]:
        """The planted actions with their effect over the window (company_actions.py)."""
        share = self.undamaged.sum(axis=(0, 1))
        share = share / share.sum() if share.sum() > 0 else np.array([0.75, 0.25])
        effects = dict(self.action_effects)
        for a in self.actions:
            if a.metric == "nps":
                effects[a.action_id] = nps_truth(a, self.params, self.calendar, share)
            elif a.metric == "short_queue":
                effects[a.action_id] = queue_truth(a, self.params, self.calendar)
        return truth_records(self.actions, units, self.calendar, effects, self.action_revenue)

    def write(self, units: Units, seed: int, path: Path) -> None:
        """Write ``truth.json`` with sorted keys, indented two levels deep (see ``dumps``)."""
        path.write_text(dumps(self.build(units, seed)) + "\n", encoding="utf-8")


def dumps(value: Any, depth: int = 0, levels: int = 2) -> str:
    """JSON with sorted keys, indented by 2 for the first ``levels`` levels and each deeper
    value on one line: one line per store-month record or per store's driver means.

    Python's JSON encoder with ``indent`` runs in Python, value by value (a third of the time
    of generating 1,000 stores); without it, in C: each deeper value is encoded in C.
    """
    if depth >= levels or not isinstance(value, dict | list) or not value:
        return json.dumps(value, sort_keys=True)
    pad, end = "\n" + "  " * (depth + 1), "\n" + "  " * depth
    if isinstance(value, dict):
        items = [f"{json.dumps(str(k))}: {dumps(value[k], depth + 1)}" for k in sorted(value)]
        return "{" + pad + ("," + pad).join(items) + end + "}"
    items = [dumps(v, depth + 1) for v in value]
    return "[" + pad + ("," + pad).join(items) + end + "]"
