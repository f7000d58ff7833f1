"""The unit hierarchy and the journey: which units exist, at which level, under which parent,
and when; the one place analytics read the ``units`` table from.

Levels are declared top-down in the workspace config (``company`` → ``region`` → ``store``), the
journey (stages and their moments) too. The hierarchy is effective-dated: ``unit_history`` holds
each unit's placements (written on ingest, see ``earnright.ingest.hierarchy``), so feedback joins
the ancestor valid *when it was given* and a store that moved keeps its past with its old district.

- :func:`read_units` — the current hierarchy, one row per unit;
- :func:`unit_placements` — the effective-dated hierarchy, one row per placement;
- :func:`unit_ancestors` — every unit's ancestor at a level (dated when given placements);
- :func:`attach_ancestors` — the engine-side join of rows to the ancestor valid at their time;
- :func:`pick_level` — the level a question is asked at;
- :class:`Hierarchy` / :func:`load_hierarchy` — all of it with the journey, loaded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.config import Config, Journey
from earnright.errors import QueryError
from earnright.warehouse import Warehouse, sql_value

__all__ = [
    "Hierarchy",
    "ancestors_by_level",
    "attach_ancestors",
    "load_hierarchy",
    "pick_level",
    "read_units",
    "unit_ancestors",
    "unit_chain",
    "unit_names",
    "unit_placements",
]

UNIT_COLUMNS = ["unit_id", "name", "level", "parent_id"]


def read_units(wh: Warehouse) -> pd.DataFrame:
    """The current hierarchy: unit_id (str), name, level, parent_id; one row per unit."""
    units = wh.table("units").select(*UNIT_COLUMNS)
    return units.to_pyarrow().to_pandas().astype({"unit_id": str})


def unit_names(wh: Warehouse, unit_ids: set[str]) -> dict[str, str]:
    """The names of these units (one lookup; a unit without a name is named by its id)."""
    if not unit_ids:
        return {}
    listed = ", ".join(sql_value(u) for u in sorted(unit_ids))
    rows = wh.fetch(f"SELECT unit_id, name FROM units WHERE unit_id IN ({listed})")
    return {str(u): str(n or u) for u, n in rows}


def unit_chain(wh: Warehouse, unit_id: str) -> list[tuple[str, str]]:
    """The unit and the units above it, nearest first, as (unit_id, name): one small lookup
    per level, for a request about one unit (the survey's form and its cases)."""
    chain: list[tuple[str, str]] = []
    current: str | None = unit_id
    while current is not None and current not in {u for u, _ in chain}:
        rows = wh.fetch(
            f"SELECT name, parent_id FROM units WHERE unit_id = {sql_value(current)} LIMIT 1"
        )
        if not rows:
            break
        name, parent = rows[0]
        chain.append((current, name or current))
        current = parent or None
    return chain


@dataclass
class Hierarchy:
    """The hierarchy and the journey of a workspace, read once; ancestors computed once a level.

    ``units`` is :func:`read_units`, ``placements`` :func:`unit_placements`; ``levels`` and
    ``journey`` come from the workspace config.
    """

    levels: list[str]
    journey: Journey
    units: pd.DataFrame
    placements: pd.DataFrame
    _ancestors: dict[tuple[str, bool], pd.DataFrame] = field(default_factory=dict, repr=False)

    def ancestors(self, level: str, *, dated: bool = True) -> pd.DataFrame:
        """:func:`unit_ancestors` at ``level``: effective-dated unless ``dated`` is False."""
        key = (level, dated)
        if key not in self._ancestors:
            source = self.placements if dated else self.units
            self._ancestors[key] = unit_ancestors(source, self.levels, level)
        return self._ancestors[key]

    def pick_level(self, level: str | None, unit: str | None, *, default: str) -> str:
        """:func:`pick_level` over this hierarchy."""
        return pick_level(self.units, self.levels, level, unit, default=default)


def load_hierarchy(wh: Warehouse, config: Config) -> Hierarchy:
    """Read the hierarchy (two small scans) and take the levels and journey from ``config``."""
    return Hierarchy(
        levels=list(config.units.levels),
        journey=config.journey,
        units=read_units(wh),
        placements=unit_placements(wh),
    )


def pick_level(
    units: pd.DataFrame, levels: list[str], level: str | None, unit: str | None, *, default: str
) -> str:
    """The level to report at: the ``unit``'s own level, else ``level``, else ``default``.

    ``units`` has ``unit_id`` and ``level`` columns. A ``unit`` missing from it, a ``level`` that
    contradicts the unit's own, or a level not among ``levels`` is a :class:`QueryError`.
    """
    if unit is not None:
        match = units[units.unit_id == unit]
        if match.empty:
            raise QueryError(f"unit '{unit}' is not in the units table", argument="unit")
        own = str(match.level.iloc[0])
        if level is not None and level != own:
            raise QueryError(
                f"unit '{unit}' is a {own}, not a {level}; leave the level out", argument="level"
            )
        level = own
    level = level or default
    if level not in levels:
        raise QueryError(
            f"'{level}' is not a declared level; expected one of {levels}", argument="level"
        )
    return level


def unit_ancestors(units: pd.DataFrame, levels: list[str], level: str) -> pd.DataFrame:
    """Map every unit to its ancestor (or itself) at ``level``: columns unit_id, ancestor_id.

    Units above ``level`` are left out: their feedback cannot be attributed down. ``units`` has
    unit_id, level, parent_id, one row per unit (the current hierarchy); or, from
    :func:`unit_placements`, one row per placement with ``valid_from`` and ``valid_to``: then
    the result says when each ancestor holds (``valid_from``, ``valid_to``; null = unbounded),
    one row per period in which the path up differs. Vectorised: one merge per level.
    """
    if level not in levels:
        raise QueryError(
            f"'{level}' is not a declared level; expected one of {levels}", argument="level"
        )
    dated = "valid_from" in units.columns
    edges = units[["unit_id", "level", "parent_id"]].astype({"unit_id": str})
    if dated:
        edges = edges.assign(valid_from=units.valid_from, valid_to=units.valid_to)
    else:
        none = pd.Series(pd.NaT, index=edges.index, dtype="datetime64[us]")
        edges = edges.assign(valid_from=none, valid_to=none)
    level_of = edges.drop_duplicates("unit_id").set_index("unit_id").level
    edges = edges.rename(columns={"unit_id": "node"})
    ids = pd.Series(level_of.index, dtype=str)
    paths = pd.DataFrame({"unit_id": ids, "node": ids, "lo": pd.NaT, "hi": pd.NaT})
    found = []
    for _ in range(len(levels)):
        here = paths.node.map(level_of) == level
        found.append(paths[here])
        step = paths[~here].merge(edges[edges.parent_id.notna()], on="node")
        lo, hi = _later(step.lo, step.valid_from), _earlier(step.hi, step.valid_to)
        alive = lo.isna() | hi.isna() | (lo < hi)
        paths = pd.DataFrame({"unit_id": step.unit_id, "node": step.parent_id, "lo": lo, "hi": hi})
        paths = paths[alive.to_numpy()]
    out = pd.concat(found, ignore_index=True)
    frame = pd.DataFrame(
        {"unit_id": out.unit_id, "ancestor_id": out.node.astype(str)}, dtype="string"
    )
    if dated:
        frame["valid_from"] = pd.to_datetime(out.lo).astype("datetime64[us]")
        frame["valid_to"] = pd.to_datetime(out.hi).astype("datetime64[us]")
    return frame


def ancestors_by_level(wh: Warehouse, levels: list[str]) -> pd.DataFrame:
    """unit_id -> its ancestor at every level of ``levels`` (one column per level; a unit is its
    own ancestor at its level), in the current hierarchy."""
    units = read_units(wh)
    frame = units[["unit_id"]].astype("string")
    for level in levels:
        up = unit_ancestors(units, levels, level).rename(columns={"ancestor_id": level})
        frame = frame.merge(up, on="unit_id", how="left")
    return frame


def _later(a: pd.Series, b: pd.Series) -> pd.Series:
    """The later of two bounds where null is the beginning of time."""
    a, b = pd.to_datetime(a), pd.to_datetime(b)
    return a.where(b.isna() | (a.notna() & (a >= b)), b)


def _earlier(a: pd.Series, b: pd.Series) -> pd.Series:
    """The earlier of two bounds where null is the end of time."""
    a, b = pd.to_datetime(a), pd.to_datetime(b)
    return a.where(b.isna() | (a.notna() & (a <= b)), b)


def unit_placements(wh: Warehouse) -> pd.DataFrame:
    """The effective-dated hierarchy: unit_id, level, parent_id, valid_from, valid_to (one row
    per placement; a unit without history, e.g. the top, has one open placement)."""
    units, h = wh.table("units"), wh.table("unit_history")
    joined = units.left_join(h, units.unit_id == h.unit_id)
    placed = joined.select(
        units.unit_id,
        units.level,
        parent_id=h.unit_id.isnull().ifelse(units.parent_id, h.parent_id),
        valid_from=h.valid_from,
        valid_to=h.valid_to,
    )
    return placed.to_pyarrow().to_pandas().astype({"unit_id": str})


def attach_ancestors(rows: ir.Table, ancestors: pd.DataFrame, at: str) -> ir.Table:
    """``rows`` with ``ancestor_id``: each row joins the ancestor valid at its timestamp ``at``
    (a range join the engine runs); rows with no ancestor at that level are left out.

    While no unit has moved, every bound is open and this is the plain join on unit_id.
    """
    dated = "valid_from" in ancestors.columns
    if not dated or (ancestors.valid_from.isna().all() and ancestors.valid_to.isna().all()):
        return rows.inner_join(ibis.memtable(ancestors[["unit_id", "ancestor_id"]]), "unit_id")
    bounds = ancestors.assign(  # open bounds as far-away instants: a plain range predicate
        valid_from=ancestors.valid_from.fillna(_DAWN), valid_to=ancestors.valid_to.fillna(_DUSK)
    )
    a = ibis.memtable(bounds)
    t = rows[at]
    on = [rows.unit_id == a.unit_id, t >= a.valid_from, t < a.valid_to]
    return rows.inner_join(a, on).select(rows, a.ancestor_id)


_DAWN, _DUSK = pd.Timestamp("1000-01-01"), pd.Timestamp("9000-01-01")
