"""The unit hierarchy: the level a question is asked at."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from earnright.config import Config
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.units import load_hierarchy, pick_level
from earnright.warehouse import Warehouse
from tests.conftest import UNITS_CSV

LEVELS = ["company", "region", "store"]
UNITS = pd.DataFrame({"unit_id": ["C", "R1", "S1"], "level": ["company", "region", "store"]})


def test_the_level_follows_the_unit_then_the_option_then_the_default() -> None:
    assert pick_level(UNITS, LEVELS, None, "R1", default="store") == "region"
    assert pick_level(UNITS, LEVELS, "region", None, default="store") == "region"
    assert pick_level(UNITS, LEVELS, None, None, default="store") == "store"
    assert pick_level(UNITS, LEVELS, None, None, default="company") == "company"


@pytest.mark.parametrize(
    ("level", "unit", "message"),
    [
        (None, "S9", "not in the units table"),
        ("region", "S1", "is a store, not a region"),
        ("district", None, "not a declared level"),
    ],
)
def test_a_wrong_level_or_unit_is_a_query_error(
    level: str | None, unit: str | None, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        pick_level(UNITS, LEVELS, level, unit, default="store")


def test_the_hierarchy_is_read_once_and_dates_a_move(
    wh: Warehouse, config: Config, tmp_path: Path
) -> None:
    """S2 moves from D1 to D2 on 2026-09-01: before, its district is D1; from then on, D2."""
    rows = [line + "," for line in UNITS_CSV.splitlines()[1:]]
    text = "unit_id,name,level,parent_id,valid_from\n" + "\n".join(rows) + "\n"
    text = text.replace("S2,Store 2,store,D1,", "S2,Store 2,store,D2,2026-09-01")
    (tmp_path / "moved.csv").write_text(text)
    ingest_file(wh, config, "units", tmp_path / "moved.csv")
    tree = load_hierarchy(wh, config)
    assert tree.levels == config.units.levels and tree.journey == config.journey
    assert tree.units.set_index("unit_id").loc["S2", "parent_id"] == "D2"
    dated = tree.ancestors("district")
    s2 = dated[dated.unit_id == "S2"].sort_values("valid_from", na_position="first")
    assert s2.ancestor_id.tolist() == ["D1", "D2"]
    assert s2.valid_to.iloc[0] == s2.valid_from.iloc[1] == pd.Timestamp("2026-09-01")
    current = tree.ancestors("district", dated=False)
    assert current.set_index("unit_id").loc["S2", "ancestor_id"] == "D2"
    assert tree.ancestors("district") is dated  # computed once
    assert tree.pick_level(None, "S2", default="region") == "store"
