"""The unit hierarchy on ingest: parent checks, and the changes a new ``units`` file makes.

A units file is checked as a whole (unit files are small; parents may come after their
children). A unit is accepted only if its parent exists, in the warehouse or accepted from the
same file, exactly one level above it; a unit whose parent is rejected is rejected too, naming
the parent's line, and so on down the tree.

The hierarchy is effective-dated: ``unit_history`` holds each unit's placements (parent,
``valid_from``, ``valid_to``; the first placement is open towards the past, the current one
towards the future). Re-ingesting a unit with another parent moves it from its ``valid_from``
(default: the day of the ingest); another name renames it. Rows already in the warehouse keep
their timestamps, so a store's past results stay with the district it was in then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from earnright.config import Config
from earnright.ingest.kinds import raw_json
from earnright.warehouse import Warehouse

__all__ = ["UnitChanges", "apply_unit_changes", "check_parents"]


def _placements(wh: Warehouse) -> pd.DataFrame:
    """Every unit in the warehouse: unit_id, level, parent_id and since when (current placement)."""
    units = wh.table("units").select("unit_id", "level", "parent_id")
    h = wh.table("unit_history")
    current = h.filter(h.valid_to.isnull()).select("unit_id", since=h.valid_from)
    return units.left_join(current, "unit_id").select(units, current.since).execute()


def _rejected_ids(bad: pd.DataFrame) -> dict[str, int]:
    """The unit ids (→ line) of rows the row checks rejected."""
    out: dict[str, int] = {}
    for line, raw in zip(bad["line"], bad["raw"], strict=True):
        unit = json.loads(raw).get("unit_id") if isinstance(raw, str) else None
        if unit is not None and str(unit).strip():
            out.setdefault(str(unit).strip(), int(line))
    return out


def check_parents(
    wh: Warehouse, config: Config, good: pd.DataFrame, bad: pd.DataFrame, today: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reject units whose parent is missing, unknown, at the wrong level or itself rejected,
    units whose level would change, and moves dated before the unit's current placement."""
    existing = _placements(wh).set_index("unit_id")
    rejected_lines = _rejected_ids(bad)
    reasons: list[pd.DataFrame] = [_fixed_problems(existing, good, today)]
    failed = reasons[0].index
    while True:  # one pass per level at most: a rejection can only reach the children
        accepted = good.drop(index=failed)
        level_of: dict[str, str] = {str(k): str(v) for k, v in existing.level.items()} | dict(
            zip(accepted.unit_id, accepted.level, strict=True)
        )
        rows = good.loc[failed]
        lines = rejected_lines | dict(zip(rows.unit_id, rows._line.astype(int), strict=True))
        found = _parent_problems(accepted, config, level_of, lines)
        if found.empty:
            break
        reasons.append(found)
        failed = failed.union(found.index)
    problems = pd.concat(reasons)
    if problems.empty:
        return good, bad
    rows = good.loc[problems.index]
    extra = pd.DataFrame(
        {
            "line": rows["_line"],
            "field": problems["field"],
            "reason": problems["field"] + ": " + problems["reason"],
            "raw": raw_json(rows),
            "row_key": rows["unit_id"],
        }
    )
    return good.drop(index=problems.index), pd.concat([bad, extra], ignore_index=True)


def _problems(mask: pd.Series, field: str, reason: pd.Series | str) -> pd.DataFrame:
    frame = pd.DataFrame({"field": field, "reason": reason}, index=mask.index)
    return frame.loc[mask.fillna(False).astype(bool)]


def _fixed_problems(existing: pd.DataFrame, good: pd.DataFrame, today: datetime) -> pd.DataFrame:
    """Problems a row has whatever its parent: a changed level, a move dated too early."""
    prev = good[["unit_id"]].join(existing, on="unit_id")
    was, since = prev.level, pd.to_datetime(prev.since)
    level_changed = was.notna() & (was != good.level)
    changed = _problems(
        level_changed,
        "level",
        "was a " + was.astype(str) + ", cannot become a " + good.level.astype(str)
        + "; give the unit a new id",
    )  # fmt: skip
    moved = was.notna() & (good.parent_id != prev.parent_id)
    start = good.valid_from.fillna(pd.Timestamp(today))
    early = moved & ~level_changed & since.notna() & (start <= since)
    too_early = _problems(
        early,
        "valid_from",
        "the move must start after the unit's current placement (from "
        + since.dt.strftime("%Y-%m-%d").astype(str)
        + ")",
    )
    return pd.concat([changed, too_early])


def _parent_problems(
    good: pd.DataFrame, config: Config, level_of: dict[str, str], rejected: dict[str, int]
) -> pd.DataFrame:
    """The first parent problem of each row, given the units that exist (``level_of``)."""
    levels = config.units.levels
    rank = {lvl: i for i, lvl in enumerate(levels)}
    expected = good.level.map(lambda lvl: levels[rank[lvl] - 1] if rank[lvl] else None)
    parent_level = good.parent_id.map(level_of)
    top = good.level == levels[0]
    has_parent = good.parent_id.notna()
    gone = ~top & has_parent & parent_level.isna() & good.parent_id.isin(list(rejected))
    unknown = ~top & has_parent & parent_level.isna() & ~gone
    wrong = ~top & parent_level.notna() & (parent_level != expected)
    parent_line = good.parent_id.map(rejected).astype("Int64").astype(str)
    found = [
        _problems(
            top & has_parent,
            "parent_id",
            "a " + good.level.astype(str) + " is the top level and has no parent",
        ),
        _problems(~top & ~has_parent, "parent_id", "missing parent"),
        _problems(unknown, "parent_id", "unknown unit: '" + good.parent_id.astype(str) + "'"),
        _problems(
            gone,
            "parent_id",
            "parent rejected: '" + good.parent_id.astype(str) + "' (line " + parent_line + ")",
        ),
        _problems(
            wrong,
            "parent_id",
            "parent is a " + parent_level.astype(str) + ", expected a " + expected.astype(str),
        ),
    ]
    return pd.concat(found)


@dataclass
class UnitChanges:
    """What a units file changed in units already in the warehouse."""

    renamed: list[tuple[str, str, str]]  # unit, old name, new name
    moved: list[tuple[str, str, str, str]]  # unit, old parent, new parent, from (YYYY-MM-DD)

    @property
    def units(self) -> int:
        return len({u for u, *_ in self.renamed} | {u for u, *_ in self.moved})

    def lines(self) -> list[str]:
        return [f"renamed {u} '{old}' → '{new}'" for u, old, new in self.renamed] + [
            f"moved {u} {old} → {new} from {since}" for u, old, new, since in self.moved
        ]


_CHANGE_SCHEMA = pa.schema(
    [
        ("unit_id", pa.string()),
        ("name", pa.string()),
        ("parent_id", pa.string()),
        ("valid_from", pa.timestamp("us")),
        ("renamed", pa.bool_()),
        ("moved", pa.bool_()),
    ]
)


def apply_unit_changes(
    wh: Warehouse, unique: ir.Table, batch_id: int, today: datetime
) -> UnitChanges:
    """Inside the batch's transaction: open the history of new units, rename and move the
    others (set-based SQL over a staged table of the changes)."""
    units = wh.table("units")
    new = unique.anti_join(units, "unit_id")
    wh.insert(
        "unit_history",
        new.select(
            "unit_id",
            "parent_id",
            valid_from=ibis.null("timestamp"),
            valid_to=ibis.null("timestamp"),
            batch_id=ibis.literal(batch_id, "int64"),
        ),
    )
    old = units.select(old_name=units.name, old_parent=units.parent_id, old_id=units.unit_id)
    both = unique.inner_join(old, unique.unit_id == old.old_id)
    diff = both.filter(
        (both.name != both.old_name).fill_null(True) | (both.parent_id != both.old_parent)
    )
    frame = diff.select("unit_id", "name", "parent_id", "valid_from", "old_name", "old_parent")
    frame = frame.execute().sort_values("unit_id", ignore_index=True)
    frame["valid_from"] = frame.valid_from.fillna(pd.Timestamp(today))
    frame["renamed"] = frame.name.fillna("") != frame.old_name.fillna("")
    frame["moved"] = frame.parent_id != frame.old_parent
    frame = frame[frame.renamed | frame.moved]
    if frame.empty:
        return UnitChanges([], [])
    stage = wh.create_stage(ibis.Schema.from_pyarrow(_CHANGE_SCHEMA))
    try:
        wh.append_arrow(stage, pa.Table.from_pandas(frame, _CHANGE_SCHEMA, preserve_index=False))
        _update_from(wh, stage, batch_id)
    finally:
        wh.drop_stage(stage)
    renamed = frame[frame.renamed]
    moved = frame[frame.moved]
    return UnitChanges(
        list(zip(renamed.unit_id, renamed.old_name, renamed.name, strict=True)),
        list(
            zip(
                moved.unit_id,
                moved.old_parent,
                moved.parent_id,
                moved.valid_from.dt.strftime("%Y-%m-%d"),
                strict=True,
            )
        ),
    )


def _update_from(wh: Warehouse, stage: str, batch_id: int) -> None:
    """Renames and moves in four set-based statements (DuckDB and PostgreSQL alike)."""
    c = f'"{stage}"'
    wh.execute_sql(
        f"UPDATE units SET name = c.name, batch_id = {batch_id} FROM {c} AS c "
        "WHERE units.unit_id = c.unit_id AND c.renamed"
    )
    wh.execute_sql(
        f"UPDATE units SET parent_id = c.parent_id, batch_id = {batch_id} FROM {c} AS c "
        "WHERE units.unit_id = c.unit_id AND c.moved"
    )
    wh.execute_sql(
        f"UPDATE unit_history SET valid_to = c.valid_from FROM {c} AS c "
        "WHERE unit_history.unit_id = c.unit_id AND unit_history.valid_to IS NULL AND c.moved"
    )
    wh.execute_sql(
        "INSERT INTO unit_history (unit_id, parent_id, valid_from, valid_to, batch_id) "
        f"SELECT unit_id, parent_id, valid_from, CAST(NULL AS TIMESTAMP), {batch_id} "
        f"FROM {c} WHERE moved"
    )
