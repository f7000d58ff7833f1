"""Key-driver analysis, the entry points: per unit of a level, or in any table.

``compute_drivers`` picks the outcome and drivers from the config, scans the feedback once
(``scan``), splits the clusters by unit, shrinks each unit toward its parent
(``earnright.listening.clusters``) and fits every model of each unit with bootstrap replicates;
``compute_table_drivers`` does the same for any table.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.errors import QueryError
from earnright.listening.clusters import (
    ClusterStats,
    ImportanceFit,
    bootstrap_weights,
    fit_importance,
    shrinkage_targets,
)
from earnright.listening.drivers.results import DriverResult, FitContext, build_result
from earnright.listening.drivers.scan import (
    ALL,
    TABLE_BLOCKS,
    Spec,
    hash_blocks,
    scan_clusters,
    survey_feedback,
    theme_columns,
    with_theme_mentions,
)
from earnright.periods import Grain
from earnright.units import pick_level, read_units, unit_ancestors
from earnright.warehouse import Warehouse

__all__ = ["DEFAULT_BOOTSTRAP", "compute_drivers", "compute_table_drivers"]

DEFAULT_BOOTSTRAP = 200


def _fit_unit(
    ctx: FitContext,
    stats: dict[str, ClusterStats],
    specs: Sequence[Spec],
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
) -> tuple[list[Spec], list[str]]:
    """One model per journey moment over the drivers it asks, or one model over all drivers."""
    moments = [m for s in config.journey.stages for m in s.moments]
    asked = [(m.id, [d for d in drivers if d in m.questions]) for m in moments]
    asked = [(key, qs) for key, qs in asked if qs]
    if not (bool(asked) if by_moment is None else by_moment):
        return [Spec(ALL, (outcome, *drivers))], []
    if not asked:
        raise QueryError(
            "no journey moment in the config asks these drivers; pool them in one model",
            argument="by_moment",
        )
    never = [d for d in drivers if all(d not in qs for _, qs in asked)]
    notes = [f"{d}: no journey moment asks it, so it is left out" for d in never]
    return [Spec(key, (outcome, *qs)) for key, qs in asked], notes


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
    themes: bool = False,
    units: Collection[str] | None = None,
) -> list[DriverResult]:
    """Key drivers of ``outcome`` (default: the nps question) for every unit at ``level``.

    ``level`` defaults to ``unit``'s level, else the top level. ``by_moment`` (default: when the
    journey says which moment asks which driver) fits one model per moment. Survey responses
    only. Units below the top are shrunk toward their parent unless ``shrink`` is False. With
    ``themes``, the drivers are the config's themes instead: whether a response's comment
    mentions each (``theme:NAME``, 0/1), over the responses with a labelled comment, pooled.
    ``units``: fit only these units of the level (a unit's fit is the same either way).
    """
    columns = wh.open_columns("feedback")
    if themes:
        if not config.themes or "comment_themes" not in wh.list_tables():
            raise QueryError("no [[themes]] in the config to use as drivers", argument="themes")
        drivers, by_moment = theme_columns(config), False
        columns = [*columns, *drivers]
    outcome, chosen = _pick_columns(config, columns, outcome, drivers)
    frame, levels = read_units(wh), config.units.levels
    level = pick_level(frame, levels, level, unit, default=levels[0])
    specs, notes = _specs(config, outcome, chosen, by_moment)
    table = survey_feedback(wh, specs, level == levels[-1], grain, period)
    table = with_theme_mentions(wh, config, table) if themes else table
    stats = scan_clusters(table, specs)
    tree = _hierarchy(frame, levels, level)
    shrinking = shrink and level != levels[0]
    labels = {q.id: q.label for q in config.questions}
    labels |= {f"theme:{t.name}": f"mentions {t.name}" for t in config.themes}
    note = "correlations shrunk toward the parent unit's by empirical Bayes" if shrinking else ""
    hint = (
        "a response counts toward the model of the moment it names; "
        "without moments, pool them (`by_moment` off)"
        if specs[0].key != ALL
        else "where each moment asks only some drivers, analyse `by_moment`"
    )
    ctx = FitContext(outcome, labels, level, period, bootstrap, seed, note, hint)
    parts, targets = {}, {}
    for key, s in stats.items():
        of = np.array([tree.members.get(u, "") for u in s.unit], dtype=object).astype(str)
        parts[key] = s.split(of)
        targets[key] = shrinkage_targets(s, of, tree.parent, tree.top) if shrinking else {}
    at_level = set(frame.unit_id[frame.level == level].astype(str))
    wanted = [unit] if unit else sorted(set(tree.members.values()) & at_level)
    if units is not None:
        only = set(units)
        wanted = [u for u in wanted if u in only]
    results = []
    for u in wanted:
        mine = {k: p[u] for k, p in parts.items() if u in p}
        shrink_of = {k: t[u] for k, t in targets.items() if u in t}
        fits, how = _fit_unit(ctx, mine, specs, shrink_of, u, f"{levels[-1]}s")
        results.append(
            build_result(ctx, fits, (u, tree.names.get(u), tree.parent.get(u)), how, notes)
        )
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
    spec = Spec(ALL, (outcome, *dict.fromkeys(drivers)))
    t = table.mutate(
        _model=ibis.literal(ALL),
        _unit=table[cluster].cast("string") if cluster else ibis.literal("-"),
        _block=ibis.literal(0) if cluster else hash_blocks(ibis.row_number(), TABLE_BLOCKS),
    )
    stats = scan_clusters(t, [spec])
    ctx = FitContext(outcome, {}, None, None, bootstrap, seed)
    fits, how = _fit_unit(ctx, stats, [spec], {}, "", f"values of {cluster}")
    how = "rows (in hash blocks)" if cluster is None else how
    return build_result(ctx, fits, (None, None, None), how, [])
