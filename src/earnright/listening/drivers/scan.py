"""Key-driver scan: the engine's one grouped scan into per-cluster sufficient statistics.

A cluster is (model, unit, block): the model is the journey moment whose drivers a response was
asked (or one model over all drivers, ``ALL``), the unit the feedback unit (store), the block a
hash of the response id. Per cluster: n, the means and the centred cross-products
(``covar_pop``, the numerically stable form of n, Σx, Σxy) over complete cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from earnright.config import Config
from earnright.listening.clusters import ClusterStats
from earnright.periods import Grain, parse_period
from earnright.warehouse import Warehouse

__all__ = [
    "ALL",
    "STORE_BLOCKS",
    "TABLE_BLOCKS",
    "Spec",
    "hash_blocks",
    "scan_clusters",
    "survey_feedback",
    "theme_columns",
    "with_theme_mentions",
]

STORE_BLOCKS = 20  # hash blocks of a store's responses: what is resampled within one store
TABLE_BLOCKS = 1000  # hash blocks of a plain table's rows (about one row each below ~500 rows)
ALL = "all"


@dataclass(frozen=True)
class Spec:
    """One model: its key (a journey moment, or ``ALL``) and its columns."""

    key: str  # moment id, or ALL
    columns: tuple[str, ...]  # the outcome, then the drivers


def _stats_query(t: ir.Table, specs: Sequence[Spec]) -> ir.Table:
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


def _collect(frame: pd.DataFrame, specs: Sequence[Spec]) -> dict[str, ClusterStats]:
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


def scan_clusters(t: ir.Table, specs: Sequence[Spec]) -> dict[str, ClusterStats]:
    """Per model, the clusters' sufficient statistics from one grouped scan of ``t``."""
    columns = sorted({c for s in specs for c in s.columns})
    t = t.mutate(**{c: t[c].cast("float64") for c in columns})
    return _collect(_stats_query(t, specs).to_pyarrow().to_pandas(), specs)


def hash_blocks(key: ir.Value, blocks: int) -> ir.IntegerValue:
    """A hash block 0..blocks-1 of ``key``: deterministic, on any backend."""
    return ((key.hash() % blocks) + blocks) % blocks


def survey_feedback(
    wh: Warehouse, specs: list[Spec], leaf: bool, grain: Grain, period: str | None
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
        _block=hash_blocks(fb.response_id, STORE_BLOCKS) if leaf else ibis.literal(0),
    )


THEME_PREFIX = "theme:"


def theme_columns(config: Config) -> list[str]:
    """The driver columns of the config's themes: ``theme:NAME``, 1 when a comment mentions it."""
    return [f"{THEME_PREFIX}{t.name}" for t in config.themes]


def with_theme_mentions(wh: Warehouse, config: Config, t: ir.Table) -> ir.Table:
    """``t`` with a 0/1 column per theme (``theme_columns``): whether the response's comment
    was labelled with it; null for a response without a labelled comment, so that only
    commented responses enter the model (complete cases)."""
    labelled = wh.table("comment_labels").response_id
    themes = wh.table("comment_themes")
    known = t.response_id.isin(labelled)
    columns = {}
    for theme in config.themes:
        said = themes.filter(themes.theme == theme.name).response_id
        columns[f"{THEME_PREFIX}{theme.name}"] = known.ifelse(
            t.response_id.isin(said).ifelse(1.0, 0.0), ibis.null("float64")
        )
    return t.mutate(**columns)
