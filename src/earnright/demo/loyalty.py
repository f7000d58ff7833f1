"""Planted behavioural loyalty: what customers do after they answer a survey.

Each customer's **first** survey response in the period sets their behaviour from then on:

- a detractor (ltr 0-6) lapses faster: their monthly lapse hazard is multiplied by
  ``DETRACTOR_HAZARD_FACTOR`` from the response on (a competing lapse time at rate
  ``(factor − 1) × hazard`` is drawn from the response day; the earlier of the two wins, which
  is exactly the raised hazard, the exponential being memoryless);
- a promoter (ltr 9-10) spends ``PROMOTER_SPEND_LIFT`` more per visit on every visit after the
  response;
- passives and customers whose first response has no ltr answer are unchanged.

Visits after a detractor's new lapse day are removed with the invitations and feedback they
carried, so the other planted truths (computed from the surviving visits) keep holding. A first
answer that an incident damaged does not cut (the incident's planted extra churn stays exactly
its own), and an incident's exposures and extra lapses count only what the cut left
(``Exposures.counts``).

The truth (:class:`LoyaltyTally`) records, per answer group of the first responses that have
``FOLLOW_UP_DAYS`` of follow-up before the calendar ends, how many there are and the realised
effect of the plant: retained (a purchase in the last ``RETAINED_DAYS`` of the follow-up window:
still buying at its end) and spend in the whole window, each with the plant minus without it,
on the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from earnright.demo.behaviour import NEVER, Visits
from earnright.demo.calendar import SECONDS_PER_DAY, Calendar
from earnright.demo.customers import DAYS_PER_MONTH, Customers
from earnright.demo.incidents import Hurt
from earnright.demo.surveys import Listening

__all__ = [
    "DETRACTOR_HAZARD_FACTOR",
    "FOLLOW_UP_DAYS",
    "GROUPS",
    "PROMOTER_SPEND_LIFT",
    "RETAINED_DAYS",
    "LoyaltyTally",
    "loyalty_rng",
    "plant_loyalty",
]

DETRACTOR_HAZARD_FACTOR = 3.0
PROMOTER_SPEND_LIFT = 0.15
FOLLOW_UP_DAYS = 180
RETAINED_DAYS = 90  # retained: a purchase in the last RETAINED_DAYS of the follow-up window
GROUPS = ("promoter", "passive", "detractor")


@dataclass
class LoyaltyTally:
    """Per answer group (GROUPS order): first responses with full follow-up, and the sums of
    their retained and spend with and without the plant."""

    n: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))
    sums: np.ndarray = field(default_factory=lambda: np.zeros((3, 4)))  # ret, ret0, spend, sp0

    def add(self, group: np.ndarray, outcomes: np.ndarray) -> None:
        """Add responses: their group (0-2) and (retained, retained0, spend, spend0) rows."""
        self.n += np.bincount(group, minlength=3)
        for k in range(4):
            self.sums[:, k] += np.bincount(group, weights=outcomes[:, k], minlength=3)

    def to_truth(self) -> dict[str, Any]:
        """The truth's ``loyalty`` entry (module doc)."""
        n = np.maximum(self.n, 1)
        effect = {
            "retained": (self.sums[:, 0] - self.sums[:, 1]) / n,
            "spend": (self.sums[:, 2] - self.sums[:, 3]) / n,
        }
        groups = {
            g: {
                "n": int(self.n[i]),
                "retained": round(float(self.sums[i, 0] / n[i]), 6),
                "spend": round(float(self.sums[i, 2] / n[i]), 6),
                "retained_effect": round(float(effect["retained"][i]), 6),
                "spend_effect": round(float(effect["spend"][i]), 6),
            }
            for i, g in enumerate(GROUPS)
        }
        difference = {
            g: {k: round(float(v[i] - v[0]), 6) for k, v in effect.items()}
            for i, g in enumerate(GROUPS)
            if i > 0
        }
        return {
            "detractor_hazard_factor": DETRACTOR_HAZARD_FACTOR,
            "promoter_spend_lift": PROMOTER_SPEND_LIFT,
            "follow_up_days": FOLLOW_UP_DAYS,
            "retained_days": RETAINED_DAYS,
            "groups": groups,
            "difference_from_promoters": difference,
        }


def _first_responses(
    listening: Listening, visits: Visits, n_customers: int, hurt: Hurt
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per customer: the time of their first survey response (NEVER if none), its ltr, and
    whether an incident damaged it."""
    visit, time, ltr = listening.surveys
    cust = visits.customer[visit]
    order = np.lexsort((time, cust))
    cust, time, ltr, visit = cust[order], time[order], ltr[order], visit[order]
    first = np.r_[True, cust[1:] != cust[:-1]] if len(cust) else np.zeros(0, dtype=bool)
    when = np.full(n_customers, NEVER, dtype=np.int64)
    answer = np.full(n_customers, np.nan)
    when[cust[first]], answer[cust[first]] = time[first], ltr[first]
    damaged_visit = np.zeros(len(visits), dtype=bool)
    damaged_visit[hurt.visit] = True
    damaged = np.zeros(n_customers, dtype=bool)
    damaged[cust[first]] = damaged_visit[visit[first]]
    return when, answer, damaged


def _groups(ltr: np.ndarray) -> np.ndarray:
    """0 promoter, 1 passive, 2 detractor, -1 no answer."""
    group = np.where(ltr >= 9, 0, np.where(ltr >= 7, 1, 2))
    return np.where(np.isnan(ltr), -1, group)


def _window_sums(
    visits: Visits, amount: np.ndarray, keep: np.ndarray, when: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: visits among ``keep`` in the last RETAINED_DAYS of the follow-up window
    (when, when + FOLLOW_UP_DAYS days], and spend in the whole window."""
    start = when[visits.customer]
    end = start + FOLLOW_UP_DAYS * SECONDS_PER_DAY
    inside = keep & (visits.time > start) & (visits.time <= end)
    late = inside & (visits.time > end - RETAINED_DAYS * SECONDS_PER_DAY)
    size = len(when)
    count = np.bincount(visits.customer[late], minlength=size)
    spend = np.bincount(visits.customer[inside], weights=amount[inside], minlength=size)
    return count, spend


def _tally(
    visits: Visits, changed: tuple[np.ndarray, np.ndarray], first: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Group and (retained, retained0, spend, spend0) of every customer's first response."""
    keep, amount = changed
    when, group = first
    everything = np.ones(len(visits), dtype=bool)
    count, spend = _window_sums(visits, amount, keep, when)
    count0, spend0 = _window_sums(visits, visits.amount, everything, when)
    rows = np.stack([count > 0, count0 > 0, spend, spend0], axis=1).astype(np.float64)
    return group, rows


def _filter_listening(listening: Listening, keep: np.ndarray) -> Listening:
    """The listening rows whose visits are kept (serials used are unchanged)."""
    inv, fb = keep[listening.invited_visit], keep[listening.feedback_visit]
    visit, time, ltr = listening.surveys
    survey = keep[visit]
    other = keep[listening.other_visit]
    return replace(
        listening,
        invitations=listening.invitations.filter(pa.array(inv)),
        feedback=listening.feedback.filter(pa.array(fb)),
        invited=tuple(a[inv] for a in listening.invited),
        responded=tuple(a[survey] for a in listening.responded),
        other=tuple(a[other] for a in listening.other),
        invited_visit=listening.invited_visit[inv],
        feedback_visit=listening.feedback_visit[fb],
        surveys=(visit[survey], time[survey], ltr[survey]),
        other_visit=listening.other_visit[other],
    )


def loyalty_rng(seed: int, chunk: int) -> np.random.Generator:
    """The plant's own random stream for a chunk, so every other draw stays as it was."""
    return np.random.default_rng([seed, chunk, 12])


def plant_loyalty(
    visits: Visits,
    customers: Customers,
    hurt: Hurt,
    listening: Listening,
    calendar: Calendar,
    rng: np.random.Generator,
    *,
    lapse: bool = True,
) -> tuple[Visits, Hurt, Listening, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Apply the plant (module doc) to a chunk: the surviving visits (promoters' amounts
    raised), the incident damage and listening rows re-indexed to them, the tally rows
    (group, outcomes) of the first responses with full follow-up, and each customer's cut
    (the day from which a detractor buys nothing; NEVER for everyone else). ``lapse=False``
    plants only the promoters' spend: detractors lapse as they would have."""
    when, ltr, damaged = _first_responses(listening, visits, len(customers), hurt)
    group = _groups(ltr)
    daily = -np.log1p(-customers.hazard) / DAYS_PER_MONTH
    extra = rng.exponential(1.0, len(customers)) / np.maximum(
        (DETRACTOR_HAZARD_FACTOR - 1.0) * daily, 1e-12
    )
    answer_day = np.minimum(when // SECONDS_PER_DAY, NEVER)
    # an answer an incident damaged does not cut: the incident's planted churn stays its own
    cut = np.where(
        lapse & (group == 2) & ~damaged, np.minimum(answer_day + 1 + np.floor(extra), NEVER), NEVER
    )
    keep = visits.day < cut[visits.customer]
    lifted = (group[visits.customer] == 0) & (visits.time > when[visits.customer])
    raised = np.round(visits.amount * (1 + PROMOTER_SPEND_LIFT), 2)
    amount = np.where(lifted, raised, visits.amount)
    followed = (group >= 0) & (
        when + FOLLOW_UP_DAYS * SECONDS_PER_DAY <= calendar.days * SECONDS_PER_DAY
    )
    g, rows = _tally(visits, (keep, amount), (when, group))
    tally = (g[followed], rows[followed])
    position = np.full(len(visits), -1, dtype=np.int64)
    position[keep] = np.arange(int(keep.sum()))
    hit = keep[hurt.visit]
    new_hurt = Hurt(visit=position[hurt.visit[hit]], driver=hurt.driver[hit], shift=hurt.shift[hit])
    kept = replace(visits, amount=amount).take(np.flatnonzero(keep))
    new_listening = _reindex(_filter_listening(listening, keep), position)
    return kept, new_hurt, new_listening, tally, cut


def _reindex(listening: Listening, position: np.ndarray) -> Listening:
    visit, time, ltr = listening.surveys
    return replace(
        listening,
        invited_visit=position[listening.invited_visit],
        feedback_visit=position[listening.feedback_visit],
        surveys=(position[visit], time, ltr),
        other_visit=position[listening.other_visit],
    )
