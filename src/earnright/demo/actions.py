"""Actions with known effects on NPS, planted in a small company, for the outcomes tests and
``bench/outcomes.py``.

:func:`plant_actions` writes ``units.csv``, ``feedback.csv`` (one ``ltr`` answer per
response), ``actions.csv`` and ``truth.json`` (each action's planted effect over its
measurement window) into a folder. The company: regions × districts × stores; every store has
its own NPS level, response rate and a small trend of its own; every district shares a weekly
shock; the whole company drifts upward and moves with weekly news (so the naive before/after
difference is biased, as it is in real data, and the difference in differences is not). A
third of the stores act once: effects of 0, ±6 or +12 NPS points, some starting ``delay`` weeks
late (the planted effect over the window is then the share of the window after the delay), a
few too recently for their post-period to have passed.

With ``drivers`` > 0, every response also answers the driver question ``q_staff`` (1–5, one
in ten left blank; a latent normal per answer rounded and clipped, as the main demo's driver
answers) and that many stores that took no NPS action act on it (``metric`` = the question
id, kind ``training``): their latent mean moves by 0, 0.2 or 0.4 points from the action's
week (:data:`DRIVER_EFFECTS`). Its draws come from a stream of their own (``[seed, 1]``), so
the NPS answers and actions are the same with or without them. The truth of a driver action
is the exact expected change of the store's mean answer over the window, weighted by its
answers a week.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from earnright.demo.answers import expected_answer, scale_answers

__all__ = ["DRIVER", "DRIVER_EFFECTS", "EFFECTS", "PlantedActions", "plant_actions"]

EFFECTS = (0.0, 0.0, 6.0, 12.0, -6.0)  # NPS points; zero twice: most fixes do little
DRIVER, DRIVER_EFFECTS = "q_staff", (0.0, 0.2, 0.4)  # latent points of the driver question
START = pd.Timestamp("2026-01-05")  # a Monday


@dataclass(frozen=True)
class PlantedActions:
    """The files written and the truth: per action its planted effect over the window."""

    folder: Path
    truth: pd.DataFrame  # action_id, unit_id, effect, delay, started_at, complete


def _units(regions: int, districts: int, stores: int) -> pd.DataFrame:
    rows = [("C", "Company", "company", "")]
    for r in range(1, regions + 1):
        rows.append((f"R{r}", f"Region {r}", "region", "C"))
        for d in range(1, districts + 1):
            rows.append((f"D{r}{d}", f"District {r}.{d}", "district", f"R{r}"))
            for s in range(1, stores + 1):
                rows.append((f"S{r}{d}{s:02d}", f"Store {r}.{d}.{s}", "store", f"D{r}{d}"))
    return pd.DataFrame(rows, columns=["unit_id", "name", "level", "parent_id"])


def _plan(
    stores: list[str], weeks: int, post: int, effects: tuple[float, ...], rng: np.random.Generator
) -> pd.DataFrame:
    """Which stores act, when, with what effect and delay."""
    acting = rng.choice(len(stores), size=len(stores) // 3, replace=False)
    late = rng.random(len(acting)) < 0.15  # too early to judge at the data's end
    start = np.where(late, rng.integers(weeks - post + 2, weeks - 1, len(acting)),
                     rng.integers(weeks // 2 - 4, weeks - post, len(acting)))  # fmt: skip
    delay = np.where(rng.random(len(acting)) < 0.3, 3, 0)
    return pd.DataFrame(
        {
            "action_id": [f"A{i + 1:03d}" for i in range(len(acting))],
            "unit_id": [stores[i] for i in acting],
            "week": start,
            "effect": rng.choice(effects, len(acting)),
            "delay": delay,
            "complete": start + post <= weeks,
        }
    )


def _shift(plan: pd.DataFrame, stores: list[str], weeks: int) -> np.ndarray:
    """Store × week planted effect (NPS points)."""
    shift = np.zeros((len(stores), weeks))
    index = {s: i for i, s in enumerate(stores)}
    for unit_id, week, delay, effect in zip(
        plan.unit_id, plan.week, plan.delay, plan.effect, strict=True
    ):
        shift[index[unit_id], int(week + delay) :] += float(effect)
    return shift


def _answers(p: np.ndarray, q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One ltr answer per (promoter p, detractor q) pair."""
    u = rng.random(len(p))
    promoter, detractor = u < p, u >= 1 - q
    other = np.where(detractor, rng.integers(0, 7, len(p)), rng.integers(7, 9, len(p)))
    return np.where(promoter, rng.integers(9, 11, len(p)), other)


def _feedback(units: pd.DataFrame, shift: np.ndarray, weeks: int, rng: np.random.Generator,
              rate: float) -> pd.DataFrame:  # fmt: skip
    """Responses per store and week: level + own trend + district shock + company drift and
    weekly shock + planted effects."""
    stores = units[units.level == "store"]
    n_s = len(stores)
    level = rng.uniform(0, 35, n_s)  # NPS points
    trend = rng.normal(0, 0.15, n_s)
    districts = stores.parent_id.to_numpy()
    codes, inverse = np.unique(districts, return_inverse=True)
    shock = rng.normal(0, 2.0, (len(codes), weeks))[inverse]
    t = np.arange(weeks)
    common = 0.3 * t + rng.normal(0, 3.0, weeks)  # the company's drift and weekly news
    nps = level[:, None] + trend[:, None] * t + shock + common + shift
    counts = rng.poisson(rng.uniform(0.6, 1.4, n_s)[:, None] * rate, (n_s, weeks))
    store_idx, week_idx = (
        np.repeat(np.arange(n_s), counts.sum(1)),
        np.concatenate([np.repeat(t, c) for c in counts]),
    )
    share = np.clip(nps[store_idx, week_idx], -69, 69) / 100  # 30% passives: exact NPS
    p, q = (0.7 + share) / 2, (0.7 - share) / 2
    when = START + pd.to_timedelta(week_idx * 7 + rng.uniform(0, 7, len(store_idx)), unit="D")
    return pd.DataFrame(
        {
            "response_id": [f"F{i:07d}" for i in range(len(store_idx))],
            "unit_id": stores.unit_id.to_numpy()[store_idx],
            "responded_at": when.floor("s"),
            "ltr": _answers(p, q, rng),
        }
    )


def _driver_plan(plan: pd.DataFrame, stores: list[str], count: int, weeks: int, post: int,
                 rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """``count`` stores that took no NPS action act on the driver question."""
    free = [i for i, s in enumerate(stores) if s not in set(plan.unit_id)]
    acting = rng.choice(free, size=min(count, len(free)), replace=False)
    start = rng.integers(weeks // 2 - 4, weeks - post, len(acting))
    return pd.DataFrame(
        {
            "action_id": [f"Q{i + 1:03d}" for i in range(len(acting))],
            "unit_id": [stores[i] for i in acting],
            "week": start,
            "effect": rng.choice(DRIVER_EFFECTS, len(acting)),
            "delay": 0,
            "complete": start + post <= weeks,
        }
    )


def _driver_answers(feedback: pd.DataFrame, units: pd.DataFrame, plan: pd.DataFrame,
                    weeks: int, post: int, rng: np.random.Generator) -> pd.Series:  # fmt: skip
    """Each driver action's exact expected effect over its window; adds the answers to
    ``feedback`` (column :data:`DRIVER`). The latent mean: the store's level and own trend,
    its district's weekly shock, the company's drift and weekly news, the planted shift."""
    stores = units[units.level == "store"]
    ids, n_s, t = stores.unit_id.tolist(), len(stores), np.arange(weeks)
    _, inverse = np.unique(stores.parent_id.to_numpy(), return_inverse=True)
    mean = (rng.normal(3.4, 0.35, n_s)[:, None] + rng.normal(0, 0.004, n_s)[:, None] * t
            + rng.normal(0, 0.05, (inverse.max() + 1, weeks))[inverse]
            + 0.005 * t + rng.normal(0, 0.05, weeks))  # fmt: skip
    shift = _shift(plan, ids, weeks)
    store = pd.Index(ids).get_indexer(feedback.unit_id)
    week = ((pd.to_datetime(feedback.responded_at) - START).dt.days // 7).to_numpy()
    z = (mean + shift)[store, week] + rng.standard_normal(len(feedback))
    answer = np.where(rng.random(len(feedback)) < 0.1, np.nan, scale_answers(z))
    feedback[DRIVER] = pd.array(answer, dtype="Int64")
    counts = np.zeros((n_s, weeks))
    np.add.at(counts, (store[~np.isnan(answer)], week[~np.isnan(answer)]), 1)
    gain = expected_answer(mean + shift) - expected_answer(mean)
    effects = []
    for unit_id, first in zip(plan.unit_id, plan.week, strict=True):
        i, cols = ids.index(unit_id), slice(int(first), int(first) + post)
        effects.append(float((gain[i, cols] * counts[i, cols]).sum() / counts[i, cols].sum()))
    return pd.Series(effects, index=plan.index, dtype=float)


def plant_actions(
    folder: Path, *, seed: int = 0, regions: int = 2, districts: int = 3, stores: int = 8,
    weeks: int = 40, rate: float = 25.0, post_weeks: int = 8, effects: tuple[float, ...] = EFFECTS,
    drivers: int = 0,
) -> PlantedActions:  # fmt: skip
    """Write the company, its feedback and its actions with planted effects (NPS points, drawn
    from ``effects``) into ``folder``: ``rate`` answers a store-week on average; ``drivers``
    stores act on the driver question :data:`DRIVER` (module doc)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    units = _units(regions, districts, stores)
    store_ids = units[units.level == "store"].unit_id.tolist()
    plan = _plan(store_ids, weeks, post_weeks, effects, rng)
    feedback = _feedback(units, _shift(plan, store_ids, weeks), weeks, rng, rate)
    window = np.clip((post_weeks - plan.delay) / post_weeks, 0, 1)
    plan = plan.assign(metric="nps", kind=np.where(plan.delay > 0, "training", "staffing"),
                       planted=plan.effect, effect=plan.effect * window)  # fmt: skip
    if drivers:
        own = np.random.default_rng([seed, 1])
        extra = _driver_plan(plan, store_ids, drivers, weeks, post_weeks, own)
        found = _driver_answers(feedback, units, extra, weeks, post_weeks, own)
        extra = extra.assign(metric=DRIVER, kind="training", planted=extra.effect, effect=found)
        plan = pd.concat([plan, extra], ignore_index=True)
    started = START + pd.to_timedelta(plan.week * 7, unit="D") + pd.Timedelta(hours=9)
    actions = pd.DataFrame(
        {
            "action_id": plan.action_id, "unit_id": plan.unit_id, "started_at": started,
            "metric": plan.metric, "kind": plan.kind, "owner": "store-ops",
            "decided_by": "store-ops",
        }
    )  # fmt: skip
    truth = plan.assign(started_at=started)
    units.to_csv(folder / "units.csv", index=False)
    feedback.to_csv(folder / "feedback.csv", index=False)
    actions.to_csv(folder / "actions.csv", index=False)
    records = truth.assign(started_at=truth.started_at.astype(str)).to_dict("records")
    (folder / "truth.json").write_text(json.dumps(records, indent=1, default=float))
    return PlantedActions(folder, truth.drop(columns=["week", "kind", "metric"]))
