"""Key-driver analysis: how much each driver question explains of an outcome, per unit.

The engine makes one grouped scan of the feedback table (or of any table) and returns, per
cluster, the sufficient statistics of the outcome and the drivers over complete cases: n, the
means and the centred cross-products (``covar_pop``, the numerically stable form of n, Σx, Σxy).
A cluster is (model, unit, block): the model is the journey moment whose drivers a response was
asked (or one model over all drivers), the unit the feedback unit (store), the block a hash of
the response id. numpy (:mod:`earnright.listening.shapley`) pools clusters into correlation
matrices, decomposes R² by LMG and Johnson's weights, bootstraps by re-weighting clusters and
shrinks each unit toward its parent. docs/drivers.md explains the method and its choices.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.clusters import (
    ClusterStats,
    ImportanceFit,
    bootstrap_weights,
    fit_importance,
    percentile_interval,
    shrinkage_targets,
)
from earnright.listening.shapley import DEFAULT_PERMUTATIONS, MAX_EXACT
from earnright.periods import Grain, parse_period
from earnright.units import pick_level, read_units, unit_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "DriverImportance",
    "DriverResult",
    "ModelFit",
    "compute_drivers",
    "compute_table_drivers",
    "drivers_frame",
]

DEFAULT_BOOTSTRAP = 200
STORE_BLOCKS = 20  # hash blocks of a store's responses: what is resampled within one store
TABLE_BLOCKS = 1000  # hash blocks of a plain table's rows (about one row each below ~500 rows)
ALL = "all"


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class DriverImportance(_Result):
    """One driver's importance for the outcome at one unit.

    ``lmg`` and ``relative_weight`` are parts of R² (0..1) with 95% bootstrap percentile
    intervals; ``share`` = lmg ÷ the sum of every driver's lmg (= lmg ÷ R² when all drivers are in
    one model). ``beta`` is the standardized coefficient of the full model, ``correlation`` the
    zero-order correlation with the outcome, ``direction`` the sign of ``beta``. ``n`` counts the
    responses of the models holding the driver, ``coverage`` their share of all responses used.
    """

    driver: str
    label: str
    rank: int
    lmg: float | None
    lmg_low: float | None
    lmg_high: float | None
    share: float | None
    relative_weight: float | None
    rw_low: float | None
    rw_high: float | None
    beta: float | None
    correlation: float | None
    direction: str
    n: int
    coverage: float


class ModelFit(_Result):
    """One regression: the responses about one journey moment (or all), over its drivers.

    Its ``lmg`` values sum to its ``r2`` (Shapley efficiency), and so do its relative weights.
    """

    moment: str | None
    drivers: list[str]
    n: int
    r2: float | None
    r2_low: float | None
    r2_high: float | None
    shrinkage: float
    lmg: dict[str, float | None]
    relative_weight: dict[str, float | None]


class DriverResult(_Result):
    """Key drivers of ``outcome`` at one unit (or in one table)."""

    outcome: str
    unit_id: str | None
    name: str | None
    level: str | None
    period: str | None
    parent_id: str | None
    n: int
    r2: float | None
    r2_low: float | None
    r2_high: float | None
    shrinkage: float
    bootstrap: int
    resampled: str
    seed: int
    method: str
    drivers: list[DriverImportance]
    models: list[ModelFit]
    notes: list[str]


def _num(value: float) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


# -- the engine's one scan -----------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    key: str  # moment id, or ALL
    columns: tuple[str, ...]  # the outcome, then the drivers


def _stats_query(t: ir.Table, specs: Sequence[_Spec]) -> ir.Table:
    """Per (model, unit, block): n, means and population co-variances over complete cases.

    ``t`` has columns ``_model``, ``_unit``, ``_block`` and every column the specs name. A row
    belongs to the model its ``_model`` names when the outcome and all that model's drivers are
    present (complete cases: pairwise-complete moments would not make one regression).
    """
    complete = ibis.literal(False)
    for spec in specs:
        case = t._model == spec.key
        for column in spec.columns:
            case = case & t[column].notnull()
        complete = complete | case
    t = t.filter(complete)
    names = sorted({c for s in specs for c in s.columns})
    index = {c: i for i, c in enumerate(names)}
    aggs: dict[str, ir.Scalar] = {"n": t.count()}
    aggs |= {f"m{index[c]}": t[c].mean() for c in names}
    pairs = {
        tuple(sorted((index[a], index[b]))) for s in specs for a in s.columns for b in s.columns
    }
    for i, j in sorted(pairs):
        a, b = t[names[i]], t[names[j]]
        aggs[f"c{i}_{j}"] = a.var(how="pop") if i == j else a.cov(b, how="pop")
    return t.group_by(["_model", "_unit", "_block"]).aggregate(**aggs)


def _collect(frame: pd.DataFrame, specs: Sequence[_Spec]) -> dict[str, ClusterStats]:
    index = {c: i for i, c in enumerate(sorted({c for s in specs for c in s.columns}))}
    out = {}
    for spec in specs:
        rows = frame[frame["_model"] == spec.key]
        q, n = len(spec.columns), rows["n"].to_numpy(dtype=float)
        mean = np.empty((len(rows), q))
        como = np.empty((len(rows), q, q))
        for a, ca in enumerate(spec.columns):
            mean[:, a] = rows[f"m{index[ca]}"].to_numpy(dtype=float)
            for b, cb in enumerate(spec.columns):
                i, j = sorted((index[ca], index[cb]))
                como[:, a, b] = rows[f"c{i}_{j}"].to_numpy(dtype=float) * n
        unit = rows["_unit"].astype(str).to_numpy()
        block = rows["_block"].to_numpy(dtype=np.int64)
        out[spec.key] = ClusterStats(spec.columns, unit, block, n, mean, np.nan_to_num(como))
    return out


def _scan(t: ir.Table, specs: Sequence[_Spec]) -> dict[str, ClusterStats]:
    columns = sorted({c for s in specs for c in s.columns})
    t = t.mutate(**{c: t[c].cast("float64") for c in columns})
    return _collect(_stats_query(t, specs).to_pyarrow().to_pandas(), specs)


def _blocks(key: ir.Value, blocks: int) -> ir.IntegerValue:
    """A hash block 0..blocks-1 of ``key``: deterministic, on any backend."""
    return ((key.hash() % blocks) + blocks) % blocks


# -- results from fits ----------------------------------------------------------------
def _total(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.sum(np.stack(parts), axis=0)


def _mean_over(fits: list[ImportanceFit], driver: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Responses ``(1 + B,)`` and the response-weighted mean of ``field`` over the models
    holding ``driver`` (per replicate for lmg and rw, the point estimate for the others)."""
    holding = [(f, f.columns.index(driver) - 1) for f in fits if driver in f.columns]
    n = _total([f.n for f, _ in holding])
    with np.errstate(invalid="ignore", divide="ignore"):
        if field in ("lmg", "rw"):
            return n, _total([f.n * getattr(f, field)[:, i] for f, i in holding]) / n
        return n, _total([f.n[:1] * getattr(f, field)[i] for f, i in holding]) / n[:1]


def _importances(fits: list[ImportanceFit], labels: dict[str, str]) -> list[DriverImportance]:
    """Per driver, the response-weighted mean over the models (moments) that hold it."""
    total = sum(f.n[0] for f in fits)
    found = list(dict.fromkeys(d for f in fits for d in f.columns[1:]))
    stats = {
        d: {k: _mean_over(fits, d, k) for k in ("lmg", "rw", "beta", "correlation")} for d in found
    }
    grand = sum(stats[d]["lmg"][1][0] for d in found)
    out = []
    for rank, d in enumerate(sorted(found, key=lambda d: -stats[d]["lmg"][1][0]), start=1):
        (n, value), (_, rw) = stats[d]["lmg"], stats[d]["rw"]
        beta, corr = float(stats[d]["beta"][1][0]), float(stats[d]["correlation"][1][0])
        (low, high), (rw_low, rw_high) = percentile_interval(value[1:]), percentile_interval(rw[1:])
        out.append(
            DriverImportance(
                driver=d,
                label=labels.get(d) or d,
                rank=rank,
                lmg=_num(value[0]),
                lmg_low=low,
                lmg_high=high,
                share=_num(value[0] / grand) if grand > 0 else None,
                relative_weight=_num(rw[0]),
                rw_low=rw_low,
                rw_high=rw_high,
                beta=_num(beta),
                correlation=_num(corr),
                direction="positive" if beta > 0 else "negative" if beta < 0 else "none",
                n=int(n[0]),
                coverage=float(n[0] / total),
            )
        )
    return out


def _model_fit(fit: ImportanceFit) -> ModelFit:
    r2, drivers = fit.lmg.sum(axis=1), list(fit.columns[1:])
    low, high = percentile_interval(r2[1:])
    return ModelFit(
        moment=None if fit.key == ALL else fit.key,
        drivers=drivers,
        n=int(fit.n[0]),
        r2=_num(r2[0]),
        r2_low=low,
        r2_high=high,
        shrinkage=fit.shrinkage,
        lmg={d: _num(v) for d, v in zip(drivers, fit.lmg[0], strict=True)},
        relative_weight={d: _num(v) for d, v in zip(drivers, fit.rw[0], strict=True)},
    )


@dataclass(frozen=True)
class _Context:
    """What every result of one call shares."""

    outcome: str
    labels: dict[str, str]
    level: str | None
    period: str | None
    bootstrap: int
    seed: int
    shrink_note: str = ""
    hint: str = "name fewer --drivers"  # what to try when no model could be fitted


def _method(ctx: _Context, fits: list[ImportanceFit], resampled: str, replicates: int) -> str:
    if not fits:
        return "no model fitted"
    widest = max(len(f.columns) - 1 for f in fits)
    how = f"exact over all 2^{widest} subsets" if all(f.exact for f in fits) else "sampled"
    by = " per journey moment" if any(f.key != ALL for f in fits) else ""
    boot = (
        f"95% percentile intervals from {replicates} bootstrap replicates resampling "
        f"{resampled} (seed {ctx.seed})"
        if replicates
        else "no intervals (no bootstrap asked, or fewer than two units to resample)"
    )
    shrunk = f"; {ctx.shrink_note}" if ctx.shrink_note else ""
    return (
        f"LMG (Shapley decomposition of R², {how}) and Johnson's relative weights on complete "
        f"cases{by}; {boot}{shrunk}"
    )


def _moment(fit: ImportanceFit) -> str:
    return "" if fit.key == ALL else f" of moment {fit.key}"


def _notes(
    fits: list[ImportanceFit], drivers: list[DriverImportance], notes: list[str], hint: str
) -> list[str]:
    notes = list(notes)
    for f in fits:
        if not f.exact:
            notes.append(
                f"{len(f.columns) - 1} drivers are more than {MAX_EXACT}: LMG{_moment(f)} is the "
                f"mean over {DEFAULT_PERMUTATIONS} random orderings, Monte Carlo standard error "
                f"at most {f.mc_se:.2g}"
            )
    if not fits:
        notes.append(
            "too few complete responses (the outcome and every driver of a model answered) to "
            f"fit any model; {hint}"
        )
    for d in drivers:
        beta, corr = d.beta or 0.0, d.correlation or 0.0
        if beta * corr < 0 and min(abs(beta), abs(corr)) >= 0.05:
            notes.append(
                f"{d.driver}: its coefficient and its correlation disagree in sign "
                "(suppression or collinearity); read its direction with care"
            )
    return notes


def _result(
    ctx: _Context,
    fits: list[ImportanceFit],
    unit: tuple[str | None, str | None, str | None],
    resampled: str,
    notes: list[str],
) -> DriverResult:
    n = _total([f.n for f in fits]) if fits else np.zeros(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = _total([f.n * f.lmg.sum(axis=1) for f in fits]) / n if fits else np.full(1, np.nan)
    drivers = _importances(fits, ctx.labels) if fits else []
    low, high = percentile_interval(r2[1:])
    return DriverResult(
        outcome=ctx.outcome,
        unit_id=unit[0],
        name=unit[1],
        level=ctx.level,
        period=ctx.period,
        parent_id=unit[2],
        n=int(n[0]),
        r2=_num(r2[0]),
        r2_low=low,
        r2_high=high,
        shrinkage=float(sum(f.n[0] * f.shrinkage for f in fits) / n[0]) if fits else 0.0,
        bootstrap=len(n) - 1,
        resampled=resampled,
        seed=ctx.seed,
        method=_method(ctx, fits, resampled, len(n) - 1),
        drivers=drivers,
        models=[_model_fit(f) for f in fits],
        notes=_notes(fits, drivers, notes, ctx.hint),
    )


def _fit_unit(
    ctx: _Context,
    stats: dict[str, ClusterStats],
    specs: Sequence[_Spec],
    shrink: dict[str, tuple[np.ndarray, float]],
    key: str,
    units_word: str,
) -> tuple[list[ImportanceFit], str]:
    """Fit every model of one unit (``stats``: its clusters); say what the bootstrap resampled.

    Clusters are resampled by unit (store, or ``--cluster`` value) when there are two or more,
    else by hash block (of one store's responses, or of a table's rows).
    """
    if not stats:
        return [], "nothing"
    by_unit = len(np.unique(np.concatenate([s.unit for s in stats.values()]))) >= 2
    keys = [s.unit if by_unit else s.block.astype(str) for s in stats.values()]
    rng = np.random.default_rng([ctx.seed, zlib.crc32(key.encode())])
    weights = dict(zip(stats, bootstrap_weights(keys, ctx.bootstrap, rng), strict=True))
    fits = []
    for spec in specs:
        if spec.key in stats:
            fit = fit_importance(
                spec.key, stats[spec.key], weights[spec.key], shrink.get(spec.key), ctx.seed
            )
            fits += [fit] if fit is not None else []
    return fits, units_word if by_unit else "hash blocks of responses"


# -- the public entry points ---------------------------------------------------------------
def _pick_columns(
    config: Config, columns: list[str], outcome: str | None, drivers: Sequence[str] | None
) -> tuple[str, list[str]]:
    nps = config.question_of_kind("nps")
    outcome = outcome or (nps.id if nps else None)
    if outcome is None or outcome not in columns:
        raise QueryError(
            f"outcome '{outcome}' is not a feedback column; have {columns}", argument="outcome"
        )
    if drivers is None:
        kinds = {c: config.question(c) for c in columns}
        drivers = [c for c, q in kinds.items() if q is not None and q.kind == "driver"]
    unknown = [d for d in drivers if d not in columns or d == outcome]
    if unknown or not drivers:
        raise QueryError(
            f"drivers {unknown or '(none)'}: name feedback columns other than the outcome, "
            f"e.g. a,b,c; have {columns}",
            argument="drivers",
        )
    return outcome, list(dict.fromkeys(drivers))


def _specs(
    config: Config, outcome: str, drivers: list[str], by_moment: bool | None
) -> tuple[list[_Spec], list[str]]:
    """One model per journey moment over the drivers it asks, or one model over all drivers."""
    moments = [m for s in config.journey.stages for m in s.moments]
    asked = [(m.id, [d for d in drivers if d in m.questions]) for m in moments]
    asked = [(key, qs) for key, qs in asked if qs]
    if not (bool(asked) if by_moment is None else by_moment):
        return [_Spec(ALL, (outcome, *drivers))], []
    if not asked:
        raise QueryError(
            "no journey moment in the config asks these drivers; pool them in one model",
            argument="by_moment",
        )
    never = [d for d in drivers if all(d not in qs for _, qs in asked)]
    notes = [f"{d}: no journey moment asks it, so it is left out" for d in never]
    return [_Spec(key, (outcome, *qs)) for key, qs in asked], notes


@dataclass(frozen=True)
class _Hierarchy:
    members: dict[str, str]  # feedback unit -> its unit at the level
    parent: dict[str, str]  # unit at the level -> its nearest ancestor above
    top: dict[str, str]  # unit -> its ancestor at the top level
    names: dict[str, str]


def _hierarchy(units: pd.DataFrame, levels: list[str], level: str) -> _Hierarchy:
    def mapping(at: str) -> dict[str, str]:
        frame = unit_ancestors(units, levels, at)
        return dict(zip(frame.unit_id.astype(str), frame.ancestor_id.astype(str), strict=True))

    members = mapping(level)
    own = set(members.values())
    parent: dict[str, str] = {}
    for above in reversed(levels[: levels.index(level)]):
        for u, a in mapping(above).items():
            parent.setdefault(u, a) if u in own else None
    top = mapping(levels[0]) if level != levels[0] else {}
    names = dict(zip(units.unit_id.astype(str), units.name.astype(str), strict=True))
    return _Hierarchy(members, parent, top, names)


def _feedback(
    wh: Warehouse, specs: list[_Spec], leaf: bool, grain: Grain, period: str | None
) -> ir.Table:
    """Survey responses (of the period) with their model, unit and block."""
    fb = wh.table("feedback")
    fb = fb.filter(fb.channel == "survey")
    if period is not None:
        start, end = parse_period(period, grain)
        fb = fb.filter((fb.responded_at >= start) & (fb.responded_at < end))
    return fb.mutate(
        _model=ibis.literal(ALL) if specs[0].key == ALL else fb.moment,
        _unit=fb.unit_id,
        _block=_blocks(fb.response_id, STORE_BLOCKS) if leaf else ibis.literal(0),
    )


def compute_drivers(
    wh: Warehouse,
    config: Config,
    *,
    outcome: str | None = None,
    drivers: Sequence[str] | None = None,
    level: str | None = None,
    unit: str | None = None,
    grain: Grain = Grain.month,
    period: str | None = None,
    by_moment: bool | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    shrink: bool = True,
) -> list[DriverResult]:
    """Key drivers of ``outcome`` (default: the nps question) for every unit at ``level``.

    ``level`` defaults to ``unit``'s level, else the top level. ``by_moment`` (default: when the
    journey says which moment asks which driver) fits one model per moment. Survey responses
    only. Units below the top are shrunk toward their parent unless ``shrink`` is False.
    """
    outcome, chosen = _pick_columns(config, wh.open_columns("feedback"), outcome, drivers)
    frame, levels = read_units(wh), config.units.levels
    level = pick_level(frame, levels, level, unit, default=levels[0])
    specs, notes = _specs(config, outcome, chosen, by_moment)
    stats = _scan(_feedback(wh, specs, level == levels[-1], grain, period), specs)
    tree = _hierarchy(frame, levels, level)
    shrinking = shrink and level != levels[0]
    labels = {q.id: q.label for q in config.questions}
    note = "correlations shrunk toward the parent unit's by empirical Bayes" if shrinking else ""
    hint = (
        "a response counts toward the model of the moment it names; without moments, try --pooled"
        if specs[0].key != ALL
        else "where each moment asks only some drivers, analyse --by-moment"
    )
    ctx = _Context(outcome, labels, level, period, bootstrap, seed, note, hint)
    parts, targets = {}, {}
    for key, s in stats.items():
        of = np.array([tree.members.get(u, "") for u in s.unit], dtype=object).astype(str)
        parts[key] = s.split(of)
        targets[key] = shrinkage_targets(s, of, tree.parent, tree.top) if shrinking else {}
    at_level = set(frame.unit_id[frame.level == level].astype(str))
    wanted = [unit] if unit else sorted(set(tree.members.values()) & at_level)
    results = []
    for u in wanted:
        mine = {k: p[u] for k, p in parts.items() if u in p}
        shrink_of = {k: t[u] for k, t in targets.items() if u in t}
        fits, how = _fit_unit(ctx, mine, specs, shrink_of, u, f"{levels[-1]}s")
        results.append(_result(ctx, fits, (u, tree.names.get(u), tree.parent.get(u)), how, notes))
    return results


def compute_table_drivers(
    table: ir.Table,
    outcome: str,
    drivers: Sequence[str] | None = None,
    *,
    cluster: str | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> DriverResult:
    """Key drivers of ``outcome`` in any table: by default every other numeric column.

    Complete cases over the outcome and the drivers. The bootstrap resamples the values of
    ``cluster`` when given, else hash blocks of rows (about one row each in small tables).
    """
    schema = table.schema()
    numeric = [c for c, t in schema.items() if t.is_numeric() and not t.is_boolean()]
    if cluster is not None and cluster not in schema:
        raise QueryError(
            f"cluster '{cluster}' is not a column; the columns are {list(schema)}",
            argument="cluster",
        )
    if outcome not in numeric:
        raise QueryError(
            f"outcome '{outcome}' is not a numeric column; numeric: {numeric}",
            argument="outcome",
        )
    drivers = (
        list(drivers)
        if drivers is not None
        else [c for c in numeric if c not in (outcome, cluster)]
    )
    bad = [d for d in drivers if d not in numeric or d == outcome]
    if bad or not drivers:
        raise QueryError(
            f"drivers {bad or '(none)'}: name numeric columns other than the outcome; "
            f"numeric: {numeric}",
            argument="drivers",
        )
    spec = _Spec(ALL, (outcome, *dict.fromkeys(drivers)))
    t = table.mutate(
        _model=ibis.literal(ALL),
        _unit=table[cluster].cast("string") if cluster else ibis.literal("-"),
        _block=ibis.literal(0) if cluster else _blocks(ibis.row_number(), TABLE_BLOCKS),
    )
    stats = _scan(t, [spec])
    ctx = _Context(outcome, {}, None, None, bootstrap, seed)
    fits, how = _fit_unit(ctx, stats, [spec], {}, "", f"values of {cluster}")
    how = "rows (in hash blocks)" if cluster is None else how
    return _result(ctx, fits, (None, None, None), how, [])


def drivers_frame(results: Sequence[DriverResult]) -> pd.DataFrame:
    """One row per unit and driver (for tables and CSV); ``n_unit`` and ``r2`` are the unit's."""
    head = ["unit_id", "name", "n_unit", "r2", *DriverImportance.model_fields, "shrinkage"]
    rows = [
        {"unit_id": r.unit_id, "name": r.name, "n_unit": r.n, "r2": r.r2}
        | d.model_dump()
        | {"shrinkage": r.shrinkage}
        for r in results
        for d in r.drivers
    ]
    return pd.DataFrame(rows, columns=head)
