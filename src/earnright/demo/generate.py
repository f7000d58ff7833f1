"""Generate the demo company: a retail pharmacy chain with planted ground truth."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from earnright.demo.behaviour import (
    NEVER,
    Visits,
    draw_lapse_days,
    draw_visits,
    transactions_table,
)
from earnright.demo.calendar import Calendar, build_calendar
from earnright.demo.company import (
    StoreParams,
    Units,
    build_store_params,
    build_units,
    write_units_csv,
)
from earnright.demo.company_actions import (
    PlannedAction,
    adjust_lapse,
    cut_visits,
    plan_actions,
    raise_spend,
    retention_truth,
    shift_intercepts,
    spend_truth,
    write_actions,
)
from earnright.demo.customers import (
    Customers,
    customer_ids,
    customers_table,
    generate_customers,
)
from earnright.demo.incidents import Exposures, Hurt, Incident, apply_incidents, plan_incidents
from earnright.demo.loyalty import loyalty_rng, plant_loyalty
from earnright.demo.operations import metrics_table
from earnright.demo.surveys import Listening, draw_listening, platform_group
from earnright.demo.tables import ParquetFiles
from earnright.demo.truth import TruthBuilder
from earnright.progress import Progress

__all__ = ["GeneratedCompany", "Progress", "generate_company"]

CHUNK_CUSTOMERS = 60_000  # initial customers per chunk of stores (bounds memory)


@dataclass(frozen=True)
class GeneratedCompany:
    """Where the generator wrote each file, and how many rows (or records) each has."""

    out_dir: Path
    units: Path
    customers: Path
    transactions: Path
    invitations: Path
    feedback: Path
    metrics: Path
    truth: Path
    rows: dict[str, int] = field(default_factory=dict)
    actions: Path | None = None  # actions.csv: the planted actions (the actions kind)

    @property
    def files(self) -> dict[str, Path]:
        """Every file written, by file name."""
        paths = (self.units, self.customers, self.transactions, self.invitations, self.feedback)
        extra = () if self.actions is None else (self.actions,)
        return {p.name: p for p in (*paths, self.metrics, *extra, self.truth)}


@dataclass
class _Serials:
    customers: int = 0
    transactions: int = 0
    invitations: int = 0
    other: int = 0


@dataclass(frozen=True)
class _Plan:
    seed: int
    calendar: Calendar
    units: Units
    params: StoreParams
    incidents: list[Incident]
    store_ids: pa.Array
    loyalty_lapse: bool = True
    actions: tuple[PlannedAction, ...] = ()
    base_params: StoreParams | None = None  # before the NPS actions moved the ltr level


def _chunks(units: Units, params: StoreParams) -> list[tuple[int, int]]:
    """Contiguous store ranges of whole districts, ~CHUNK_CUSTOMERS customers (>= 4 chunks)."""
    base = np.bincount(units.store_district, weights=params.base_customers)
    target = min(CHUNK_CUSTOMERS, base.sum() / 4)
    first, size = units.district_first, units.district_size
    chunks, start, load = [], 0, 0.0
    for d in range(len(base)):
        load += base[d]
        if load >= target or d == len(base) - 1:
            end = int(first[d] + size[d])
            chunks.append((start, end))
            start, load = end, 0.0
    return chunks


def _simulate(
    stores: np.ndarray, plan: _Plan, first_customer: int, rng: np.random.Generator,
    effects: dict[str, float],
) -> tuple[Customers, Visits, Hurt, Exposures, np.ndarray]:  # fmt: skip
    """A chunk's customers and their visits (sorted by store and time) after the incidents,
    and each customer's cut: the day the planted retention actions make them lapse (NEVER
    for everyone else; their realised effects added to ``effects``). The cut is applied
    after the listening is drawn, so every draw of the chunk's stream stays as it was."""
    cal = plan.calendar
    customers = generate_customers(stores, plan.params, cal, first_customer, rng)
    lapse = draw_lapse_days(customers, rng)
    visits = draw_visits(customers, lapse, plan.units, cal, rng)
    lapse, hurt, exposure = apply_incidents(
        plan.incidents, customers, visits, lapse, (stores, cal.days), rng
    )
    actions = list(plan.actions)
    effects.update(retention_truth(actions, visits, (customers.home, lapse), cal, stores))
    acted = adjust_lapse(actions, customers.home, lapse, stores)
    cut = np.where(acted < lapse, acted, NEVER)
    alive = np.flatnonzero(visits.day < lapse[visits.customer])
    order = alive[np.lexsort((visits.time[alive], visits.store[alive]))]
    position = np.full(len(visits), -1, dtype=np.int64)
    position[order] = np.arange(len(order))
    hurt = Hurt(visit=position[hurt.visit], driver=hurt.driver, shift=hurt.shift)
    return customers, visits.take(order), hurt, exposure, cut


def _listen(
    stores: np.ndarray, plan: _Plan, drawn: tuple[Visits, Customers, Hurt],
    ids: tuple[Any, tuple[int, int]], rng: np.random.Generator,
) -> Listening:  # fmt: skip
    """The chunk's listening. Where an NPS action moved a store's answers, the answers (and
    what depends on them) are drawn from a copy of the stream, and the stream itself goes on
    as if no action had moved them: the operational metrics drawn after (and the incidents
    planted in them) are exactly those of the company without actions."""
    visits, customers, hurt = drawn
    moved = [a for a in plan.actions if a.metric == "nps" and stores[0] <= a.store <= stores[-1]]
    if not moved:
        return draw_listening(visits, customers, plan.params, hurt, *ids, rng)
    shadow = copy.deepcopy(rng)
    draw_listening(visits, customers, plan.base_params or plan.params, hurt, *ids, rng)
    return draw_listening(visits, customers, plan.params, hurt, *ids, shadow)


def _chunk(
    index: int,
    stores: np.ndarray,
    plan: _Plan,
    files: ParquetFiles,
    truth: TruthBuilder,
    serials: _Serials,
) -> None:
    """Generate, write and add to the truth everything about one chunk of stores."""
    rng = np.random.default_rng([plan.seed, index])
    cal, params = plan.calendar, plan.params
    effects = truth.action_effects
    customers, visits, hurt, exposure, acted = _simulate(
        stores, plan, serials.customers, rng, effects
    )
    ids = customer_ids(customers)
    context = (ids, plan.store_ids, cal)
    firsts = (serials.invitations, serials.other)
    listening = _listen(stores, plan, (visits, customers, hurt), (context, firsts), rng)
    visits, hurt, listening = cut_visits(visits, hurt, listening, acted)
    visits = raise_spend(list(plan.actions), visits, stores)  # before the loyalty plant tallies
    rng_loyalty = loyalty_rng(plan.seed, index)
    planted = plant_loyalty(
        visits, customers, hurt, listening, cal, rng_loyalty, lapse=plan.loyalty_lapse
    )
    visits, hurt, listening, loyalty, cut = planted
    spent, revenue = spend_truth(list(plan.actions), visits, cal, stores)
    effects.update(spent)
    truth.action_revenue.update(revenue)
    files.write("customers", customers_table(customers, *context))
    files.write("transactions", transactions_table(visits, *context, serials.transactions))
    files.write("invitations", listening.invitations)
    files.write("feedback", listening.feedback)
    context_m = (plan.store_ids, cal)
    metrics = metrics_table(stores, customers, params, plan.incidents, context_m, rng, plan.actions)
    files.write("metrics", metrics)
    truth.add_visits(visits, platform_group(customers.platform[visits.customer]), hurt)
    truth.add("invitations", *listening.invited)
    truth.add("responses", *listening.responded)
    truth.add("other_feedback", *listening.other)
    truth.exposure += exposure.counts(np.minimum(cut, acted))  # what the plants left of each
    truth.loyalty.add(*loyalty)
    serials.customers += len(customers)
    serials.transactions += len(visits)
    serials.invitations += listening.serials[0]
    serials.other += listening.serials[1]


def generate_company(
    out_dir: Path,
    *,
    stores: int = 60,
    months: int = 12,
    seed: int = 7,
    end_month: str = "2026-09",
    progress: Progress | None = None,
    loyalty_lapse: bool = True,
) -> GeneratedCompany:
    """Write a synthetic retail pharmacy chain and its planted truth into ``out_dir``.

    Files: ``units.csv``, ``customers``/``transactions``/``invitations``/``feedback``/
    ``metrics.parquet`` (canonical import formats) and ``truth.json``. The period is the
    ``months`` calendar months ending with ``end_month``. Deterministic: the same arguments give
    byte-identical files.

    Planted: store quality, size (lognormal customer base) and response rate; per store the
    driver means with 0-3 weak drivers and the driver weights on likelihood to recommend; a
    store-month ltr level; customers' heterogeneous visit rates, spend and lapse hazards (higher
    at poor stores); incidents that degrade one metric for one segment of some units, raise the
    hurt customers' lapse probability and, lagged, worsen their survey answers; from each
    customer's first survey answer on, detractors lapse faster and promoters spend more
    (``earnright.demo.loyalty``); a few stores' actions with known effects on NPS, spend,
    retention and the short-queue indicator, written as ``actions.csv``
    (``earnright.demo.company_actions``). ``truth.json`` holds the exact expectations (see
    ``earnright.demo.truth``).

    ``progress(stage, done, total)`` is called with stage ``"stores"`` (stores done) after each
    chunk of stores and ``"truth"`` when the truth is written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    calendar = build_calendar(end_month, months)
    rng = np.random.default_rng(seed)
    units = build_units(stores, rng)
    params = build_store_params(stores, months, rng)
    incidents = plan_incidents(units, calendar, rng)
    store_ids = pa.array(units.store_ids, type=pa.string())
    planned = plan_actions(units, params, calendar, incidents, seed)
    base_params, params = params, shift_intercepts(params, planned, calendar)
    plan = _Plan(seed, calendar, units, params, incidents, store_ids, loyalty_lapse,
                 tuple(planned), base_params)  # fmt: skip
    rows = {"units.csv": write_units_csv(units, out_dir / "units.csv")}
    rows["actions.csv"] = write_actions(planned, units, calendar, out_dir / "actions.csv")
    truth = TruthBuilder(params, calendar, incidents, planned)
    serials = _Serials()
    report = progress or (lambda stage, done, total: None)
    report("stores", 0, stores)
    with ParquetFiles(out_dir) as files:
        for index, (a, b) in enumerate(_chunks(units, params)):
            _chunk(index, np.arange(a, b), plan, files, truth, serials)
            report("stores", b, stores)
    rows.update({path.name: files.rows[name] for name, path in files.paths.items()})
    report("truth", 0, 1)
    truth.write(units, seed, out_dir / "truth.json")
    rows["truth.json"] = len(truth.counts["transactions"].ravel())
    report("truth", 1, 1)
    p = {name: path for name, path in files.paths.items()}
    return GeneratedCompany(
        out_dir=out_dir,
        units=out_dir / "units.csv",
        customers=p["customers"],
        transactions=p["transactions"],
        invitations=p["invitations"],
        feedback=p["feedback"],
        metrics=p["metrics"],
        truth=out_dir / "truth.json",
        rows=rows,
        actions=out_dir / "actions.csv",
    )
