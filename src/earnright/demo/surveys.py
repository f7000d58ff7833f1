"""Listening: survey invitations and responses, and unsolicited feedback (complaints, reviews…).

Every visit is invited with probability INVITE_P a few hours later; an invitation is answered with
the store's planted response rate. Invitation, response and unsolicited feedback all fall in the
calendar month of the visit, so a response's month is its visit's month. Answers follow the
answer model (``answers.py``); comments agree in theme and tone with the respondent's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from earnright.demo.answers import (
    ANSWER_P,
    LTR_ANSWER_P,
    OSAT_ANSWER_P,
    draw_latents,
    ltr_answers,
    osat_answers,
    scale_answers,
)
from earnright.demo.behaviour import Visits
from earnright.demo.calendar import Calendar
from earnright.demo.comments import compose_comments
from earnright.demo.company import StoreParams
from earnright.demo.customers import Customers
from earnright.demo.incidents import Hurt
from earnright.demo.questionnaire import (
    APP,
    CHANNELS,
    MOMENT_ASKS,
    MOMENT_PROBS,
    MOMENTS,
    PLATFORMS,
    QUESTIONS,
    THEME_MOMENT,
)
from earnright.demo.tables import labels, serial_ids, timestamps

__all__ = ["INVITE_P", "Listening", "draw_listening", "platform_group"]

INVITE_P = 0.5
COMMENT_P = (0.5, 0.35)  # P(comment) for detractors, others
OTHER_P = 0.02  # visits that may prompt unsolicited feedback ...
OTHER_KEEP = (1.0, 0.2, 0.3)  # ... kept with this probability for ltr <= 6, 7-8, >= 9
# Channel probabilities of unsolicited feedback (CHANNELS order without "survey") by tone
# (negative, positive).
CHANNEL_P = np.array([[0.40, 0.15, 0.20, 0.25], [0.0, 0.60, 0.30, 0.10]])
_HOUR = 3600
_NONE = PLATFORMS.index("none")


@dataclass(frozen=True)
class Listening:
    """A chunk's invitations and feedback tables, and (store, month) of each row for the truth.

    ``invited_visit`` / ``feedback_visit`` are the visit of each row of the two tables,
    ``other_visit`` of each unsolicited row (``other`` order), ``surveys`` the (visit,
    response time, ltr answer or NaN) of each survey response, and ``serials`` how many
    invitation and unsolicited-feedback serials were used.
    """

    invitations: pa.Table
    feedback: pa.Table
    invited: tuple[np.ndarray, np.ndarray]
    responded: tuple[np.ndarray, np.ndarray]
    other: tuple[np.ndarray, np.ndarray]
    invited_visit: np.ndarray
    feedback_visit: np.ndarray
    other_visit: np.ndarray
    surveys: tuple[np.ndarray, np.ndarray, np.ndarray]
    serials: tuple[int, int]


def platform_group(platform: np.ndarray) -> np.ndarray:
    """0 for app users, 1 for customers without the app (they are asked different moments)."""
    return (platform == _NONE).astype(np.int64)


def _later(
    calendar: Calendar, start: np.ndarray, low: float, high: float, rng: np.random.Generator
) -> np.ndarray:
    """A time between ``low`` and ``high`` seconds after ``start``, before its month ends."""
    room = calendar.month_end_second(start // 86_400) - start
    top = np.minimum(high, room - 600)
    return start + (low + rng.uniform(size=len(start)) * (top - low)).astype(np.int64)


def _response_time(calendar: Calendar, sent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minutes to days after the invitation (exponential, mean 10 h), before the month ends."""
    room = calendar.month_end_second(sent // 86_400) - sent
    delay = 60 + rng.exponential(10 * _HOUR, len(sent))
    late = delay >= room - 1
    delay = np.where(late, 1 + rng.uniform(size=len(sent)) * (room - 2), delay)
    return sent + delay.astype(np.int64)


def _damage(hurt: Hurt, visit_index: np.ndarray, n_visits: int) -> np.ndarray:
    """(len(visit_index), questions) incident damage to the driver latents of these visits."""
    position = np.full(n_visits, -1, dtype=np.int64)
    position[visit_index] = np.arange(len(visit_index))
    rows = position[hurt.visit]
    sel = rows >= 0
    damage = np.zeros((len(visit_index), len(QUESTIONS)))
    np.add.at(damage, (rows[sel], hurt.driver[sel]), hurt.shift[sel])
    return damage


def _theme_tone(z: np.ndarray, ltr: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Theme: the lowest (negative) or highest (positive) driver among ``mask``; tone from ltr.

    Detractors are negative, promoters positive; passives are negative only when their lowest
    driver answer is 2 or below.
    """
    low = np.argmin(np.where(mask, z, np.inf), axis=1)
    high = np.argmax(np.where(mask, z, -np.inf), axis=1)
    low_answer = scale_answers(np.take_along_axis(z, low[:, None], axis=1)[:, 0])
    tone = np.where(ltr >= 9, 1, np.where(ltr <= 6, 0, (low_answer > 2).astype(np.int64)))
    return np.where(tone == 0, low, high), tone


def _theme_mask(platform: np.ndarray, asked: np.ndarray | None = None) -> np.ndarray:
    """Drivers a comment may be about: those answered, else all (the app only for app users)."""
    everything = np.ones((len(platform), len(QUESTIONS)), dtype=bool)
    everything[:, APP] = platform != _NONE
    if asked is None:
        return everything
    return np.where(asked.any(axis=1, keepdims=True), asked, everything)


def _pick(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of ``probs``."""
    u = rng.uniform(size=(len(probs), 1))
    return np.minimum((u > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1), probs.shape[1] - 1)


def _mask_draw(values: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.uniform(size=values.shape) < p, values, np.nan)


def _survey_rows(
    chosen: np.ndarray,
    visits: Visits,
    customers: Customers,
    params: StoreParams,
    damage: np.ndarray,
    calendar: Calendar,
    rng: np.random.Generator,
) -> dict[str, object]:
    """Columns of the survey responses to the visits ``chosen`` (before ids and times)."""
    store, cust = visits.store[chosen], visits.customer[chosen]
    platform = customers.platform[cust]
    moment = _pick(MOMENT_PROBS[platform_group(platform)], rng)
    month = calendar.month_of(visits.day[chosen])
    z, latent, o_latent = draw_latents(params, store, month, moment, damage, rng)
    asked = MOMENT_ASKS[moment] & (rng.uniform(size=z.shape) < ANSWER_P)
    ltr = ltr_answers(latent)
    theme, tone = _theme_tone(z, ltr, _theme_mask(platform, asked))
    commented = rng.uniform(size=len(chosen)) < np.where(ltr <= 6, *COMMENT_P)
    comment = compose_comments(theme, tone, rng)
    columns: dict[str, object] = {
        "channel": labels(CHANNELS, np.zeros(len(chosen), dtype=np.int64)),
        "moment": labels(MOMENTS, moment),
        "comment": _null_where(comment, ~commented),
        "ltr": _mask_draw(ltr, LTR_ANSWER_P, rng),
        "osat": _mask_draw(osat_answers(o_latent), OSAT_ANSWER_P, rng),
    }
    answers = np.where(asked, scale_answers(z), np.nan)
    columns.update({q: answers[:, k] for k, q in enumerate(QUESTIONS)})
    return columns


def _null_where(array: pa.Array, mask: np.ndarray) -> pa.Array:
    """``array`` with nulls where ``mask`` is True."""
    index = pa.array(np.arange(len(array)), mask=mask)
    return array.take(index)


def _other_rows(
    visits: Visits,
    customers: Customers,
    params: StoreParams,
    hurt: Hurt,
    calendar: Calendar,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, object], np.ndarray]:
    """Unsolicited feedback: chosen visits, their columns and which rows are anonymous.

    Unhappy customers speak up more (OTHER_KEEP); complaints and calls are negative, reviews
    and social posts either; reviews carry an ltr-like star rating on 0-10, others no numbers.
    """
    chosen = np.flatnonzero(rng.uniform(size=len(visits)) < OTHER_P)
    store, cust = visits.store[chosen], visits.customer[chosen]
    month = calendar.month_of(visits.day[chosen])
    damage = _damage(hurt, chosen, len(visits))
    z, latent, _ = draw_latents(params, store, month, np.zeros_like(store), damage, rng)
    ltr = ltr_answers(latent)
    keep = (
        rng.uniform(size=len(chosen)) < np.asarray(OTHER_KEEP)[(ltr >= 7).astype(int) + (ltr >= 9)]
    )
    chosen, z, ltr, cust = chosen[keep], z[keep], ltr[keep], cust[keep]
    theme, tone = _theme_tone(z, ltr, _theme_mask(customers.platform[cust]))
    channel = 1 + _pick(CHANNEL_P[tone], rng)
    review = channel == CHANNELS.index("review")
    empty = np.full(len(chosen), np.nan)
    columns: dict[str, object] = {
        "channel": labels(CHANNELS, channel),
        "moment": labels(MOMENTS, THEME_MOMENT[theme]),
        "comment": compose_comments(theme, tone, rng),
        "ltr": np.where(review, ltr, np.nan),
        "osat": empty,
        **dict.fromkeys(QUESTIONS, empty),
    }
    return chosen, columns, review | (channel == CHANNELS.index("social"))


def _feedback_table(
    ids: pa.Array,
    visit: np.ndarray,
    time: np.ndarray,
    anonymous: np.ndarray,
    columns: dict[str, object],
    context: tuple[Visits, pa.Array, pa.Array, Calendar],
) -> pa.Table:
    visits, customer_ids, store_ids, calendar = context
    index = pa.array(visits.customer[visit], mask=anonymous)
    return pa.table(
        {
            "response_id": ids,
            "unit_id": store_ids.take(visits.store[visit]),
            "responded_at": timestamps(calendar, time),
            "customer_id": customer_ids.take(index),
            **columns,
        }
    )


def _invitations(
    serial: np.ndarray,
    invited: np.ndarray,
    sent: np.ndarray,
    context: tuple[Visits, pa.Array, pa.Array, Calendar],
) -> pa.Table:
    """The invitations table of the ``invited`` visits (``sent`` their send times)."""
    visits, customer_ids, store_ids, calendar = context
    return pa.table(
        {
            "invitation_id": serial_ids("I", serial, 10),
            "unit_id": store_ids.take(visits.store[invited]),
            "customer_id": customer_ids.take(visits.customer[invited]),
            "sent_at": timestamps(calendar, sent),
        }
    )


def _feedback(
    serial: np.ndarray,
    first_other: int,
    rows: tuple[Any, ...],
    context: tuple[Visits, pa.Array, pa.Array, Calendar],
) -> tuple[pa.Table, np.ndarray]:
    """The feedback table (survey responses and unsolicited feedback, by store and time) and
    the order that sorted the concatenation of the two."""
    chosen, survey_time, survey, other, other_time, other_columns, anonymous = rows
    visits = context[0]
    feedback = pa.concat_tables(
        [
            _feedback_table(
                serial_ids("RS", serial, 10),
                chosen,
                survey_time,
                np.zeros(len(chosen), dtype=bool),
                survey,
                context,
            ),
            _feedback_table(
                serial_ids("RN", first_other + 1 + np.arange(len(other)), 10),
                other,
                other_time,
                anonymous,
                other_columns,
                context,
            ),
        ]
    )
    order = np.lexsort(
        (
            np.concatenate([survey_time, other_time]),
            np.concatenate([visits.store[chosen], visits.store[other]]),
        )
    )
    return feedback.take(pa.array(order)), order


def draw_listening(
    visits: Visits,
    customers: Customers,
    params: StoreParams,
    hurt: Hurt,
    context: tuple[pa.Array, pa.Array, Calendar],
    first: tuple[int, int],
    rng: np.random.Generator,
) -> Listening:
    """Invitations, survey responses and unsolicited feedback of a chunk's visits.

    ``context`` is (customer ids, store ids, calendar); ``first`` the last invitation and
    unsolicited-feedback serials used so far. A survey response's id is ``RS`` + its
    invitation's serial; unsolicited feedback ids are ``RN`` + serial.
    """
    customer_ids, store_ids, calendar = context
    invited = np.flatnonzero(rng.uniform(size=len(visits)) < INVITE_P)
    sent = _later(calendar, visits.time[invited], _HOUR, 6 * _HOUR, rng)
    answered = rng.uniform(size=len(invited)) < params.response_rate[visits.store[invited]]
    serial = first[0] + 1 + np.arange(len(invited))
    chosen = invited[answered]
    damage = _damage(hurt, chosen, len(visits))
    survey = _survey_rows(chosen, visits, customers, params, damage, calendar, rng)
    other, other_columns, anonymous = _other_rows(visits, customers, params, hurt, calendar, rng)
    survey_time = _response_time(calendar, sent[answered], rng)
    other_time = _later(calendar, visits.time[other], 2 * _HOUR, 72 * _HOUR, rng)
    full_context = (visits, customer_ids, store_ids, calendar)
    rows = (chosen, survey_time, survey, other, other_time, other_columns, anonymous)
    feedback, order = _feedback(serial[answered], first[1], rows, full_context)
    month = calendar.month_of(visits.day)
    return Listening(
        invitations=_invitations(serial, invited, sent, full_context),
        feedback=feedback,
        invited=(visits.store[invited], month[invited]),
        responded=(visits.store[chosen], month[chosen]),
        other=(visits.store[other], month[other]),
        invited_visit=invited,
        feedback_visit=np.concatenate([chosen, other])[order],
        other_visit=other,
        surveys=(chosen, survey_time, np.asarray(survey["ltr"], dtype=np.float64)),
        serials=(len(invited), len(other)),
    )
