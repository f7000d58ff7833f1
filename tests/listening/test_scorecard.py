"""The scorecard equals a direct reference calculation on small data, at every level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.config import Config
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.listening.scorecard import compute_scorecard, suppress_scores
from earnright.stats import nps_interval, wilson_interval
from earnright.units import unit_ancestors
from earnright.warehouse import Warehouse

STORE_DISTRICT = {"S1": "D1", "S2": "D1", "S3": "D2"}


@pytest.fixture
def feedback(wh: Warehouse, config: Config, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "unit_id": rng.choice(list(STORE_DISTRICT), n),
            "responded_at": pd.Timestamp("2026-07-01")
            + pd.to_timedelta(rng.integers(0, 92 * 86400, n), "s"),
            "channel": rng.choice(["survey", "survey", "complaint"], n),
            "ltr": rng.integers(0, 11, n).astype(float),
            "osat": rng.integers(1, 6, n).astype(float),
            "q_wait": rng.integers(1, 6, n).astype(float),
        }
    )
    frame.loc[rng.random(n) < 0.1, "ltr"] = np.nan
    frame.to_parquet(tmp_path / "fb.parquet")
    inv = pd.DataFrame(
        {
            "invitation_id": [f"i{i}" for i in range(900)],
            "unit_id": rng.choice(list(STORE_DISTRICT), 900),
            "customer_id": "c",
            "sent_at": pd.Timestamp("2026-07-01")
            + pd.to_timedelta(rng.integers(0, 92 * 86400, 900), "s"),
        }
    )
    inv.to_parquet(tmp_path / "inv.parquet")
    assert ingest_file(wh, config, "feedback", tmp_path / "fb.parquet").accepted == n
    assert ingest_file(wh, config, "invitations", tmp_path / "inv.parquet").accepted == 900
    return frame.assign(month=frame.responded_at.dt.strftime("%Y-%m")), inv.assign(
        month=inv.sent_at.dt.strftime("%Y-%m")
    )


def _reference(rows: pd.DataFrame, invitations: int) -> dict[str, float]:
    """Direct calculation from raw rows, one unit-period; answers count from surveys only."""
    survey = rows[rows.channel == "survey"]
    ltr = survey.ltr.dropna()
    _nps, low, high = nps_interval([(ltr >= 9).sum()], [(ltr <= 6).sum()], [len(ltr)])
    csat, clow, chigh = wilson_interval([(survey.osat >= 4).sum()], [survey.osat.notna().sum()])
    responses = int((rows.channel == "survey").sum())
    return {
        "responses": responses,
        "invitations": invitations,
        "response_rate": responses / invitations,
        "n": len(ltr),
        "nps": 100 * ((ltr >= 9).mean() - (ltr <= 6).mean()),
        "nps_low": low[0],
        "nps_high": high[0],
        "csat": csat[0],
        "csat_low": clow[0],
        "csat_high": chigh[0],
        "q_wait_mean": survey.q_wait.mean(),
        "q_wait_sd": survey.q_wait.std(),
    }


@pytest.mark.parametrize("level", ["store", "district", "company"])
def test_scorecard_equals_direct_calculation(
    wh: Warehouse, config: Config, feedback: tuple[pd.DataFrame, pd.DataFrame], level: str
) -> None:
    rows, inv = feedback
    group = {
        "store": lambda u: u,
        "district": lambda u: STORE_DISTRICT[u],
        "company": lambda u: "C",
    }[level]
    card = compute_scorecard(wh, config, level=level).set_index(["unit_id", "period"])
    expected_keys = {(group(u), m) for u, m in zip(rows.unit_id, rows.month, strict=True)}
    assert set(card.index) == expected_keys
    for (unit, month), got in card.iterrows():
        mine = rows[(rows.unit_id.map(group) == unit) & (rows.month == month)]
        invs = int(((inv.unit_id.map(group) == unit) & (inv.month == month)).sum())
        for key, value in _reference(mine, invs).items():
            assert got[key] == pytest.approx(value), (unit, month, key)


def test_one_period_at_week_grain(
    wh: Warehouse, config: Config, feedback: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    rows, _ = feedback
    card = compute_scorecard(wh, config, level="company", grain="week", period="2026-W30")
    week = rows[(rows.responded_at >= "2026-07-20") & (rows.responded_at < "2026-07-27")]
    assert list(card.period) == ["2026-W30"]
    assert card.n.iloc[0] == week[week.channel == "survey"].ltr.notna().sum()


def test_unknown_level_and_bad_period_say_what_is_expected(wh: Warehouse, config: Config) -> None:
    with pytest.raises(QueryError, match="expected one of"):
        compute_scorecard(wh, config, level="shop")
    with pytest.raises(QueryError, match=r"expected e\.g\. 2026-09"):
        compute_scorecard(wh, config, period="Sept")


def test_a_period_without_data_is_an_empty_scorecard(wh: Warehouse, config: Config) -> None:
    assert compute_scorecard(wh, config, period="2001-01").empty


def test_scores_below_min_n_are_hidden_and_their_n_kept(
    wh: Warehouse, config: Config, feedback: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    card = compute_scorecard(wh, config, level="store", grain="week")
    min_n = int(card["n"].median()) + 1  # hides about half the store-weeks
    shown = suppress_scores(card, min_n)
    pd.testing.assert_frame_equal(
        shown[["n", "n_csat", "q_wait_n"]], card[["n", "n_csat", "q_wait_n"]]
    )
    for n_col, cols in {
        "n": ["nps", "nps_low", "nps_high", "promoters", "passives", "detractors"],
        "n_csat": ["csat", "csat_low", "csat_high"],
        "q_wait_n": ["q_wait_mean", "q_wait_low", "q_wait_high", "q_wait_sd"],
    }.items():
        few = card[n_col] < min_n
        assert 0 < few.sum() < len(card)
        assert shown.loc[few, cols].isna().all().all(), n_col
        kept = shown.loc[~few, cols].astype(float)
        pd.testing.assert_frame_equal(kept, card.loc[~few, cols].astype(float))


DISTRICT_REGION = {"D1": "R1", "D2": "R2"}
MOVE = pd.Timestamp("2026-08-15")  # S2 moves from D1 to D2, mid-month


@pytest.mark.parametrize("level", ["district", "region", "store"])
def test_a_moved_store_keeps_its_past_with_its_old_district(
    wh: Warehouse,
    config: Config,
    feedback: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    level: str,
) -> None:
    rows, inv = feedback
    moved = tmp_path / "moved.csv"
    moved.write_text(f"unit_id,name,level,parent_id,valid_from\nS2,Store 2,store,D2,{MOVE}\n")
    assert ingest_file(wh, config, "units", moved).updated == 1

    def then(units: pd.Series, at: pd.Series) -> pd.Series:
        district = units.map(STORE_DISTRICT).where(~((units == "S2") & (at >= MOVE)), "D2")
        return {"district": district, "region": district.map(DISTRICT_REGION)}.get(level, units)

    card = compute_scorecard(wh, config, level=level).set_index(["unit_id", "period"])
    owner, inv_owner = then(rows.unit_id, rows.responded_at), then(inv.unit_id, inv.sent_at)
    assert set(card.index) == set(zip(owner, rows.month, strict=True))
    for (unit, month), got in card.iterrows():
        mine = rows[(owner == unit) & (rows.month == month)]
        invs = int(((inv_owner == unit) & (inv.month == month)).sum())
        for key, value in _reference(mine, invs).items():
            assert got[key] == pytest.approx(value), (unit, month, key)


def test_ancestors_compose_the_moves_of_every_level() -> None:
    """S1 moves D1 → D2 on 09-01, D2 moves R1 → R2 on 10-01: S1's region is R1, R1, then R2."""
    t = pd.Timestamp
    placements = pd.DataFrame(
        [
            ("C", "company", None, None, None),
            ("R1", "region", "C", None, None),
            ("R2", "region", "C", None, None),
            ("D1", "district", "R1", None, None),
            ("D2", "district", "R1", None, t("2026-10-01")),
            ("D2", "district", "R2", t("2026-10-01"), None),
            ("S1", "store", "D1", None, t("2026-09-01")),
            ("S1", "store", "D2", t("2026-09-01"), None),
        ],
        columns=["unit_id", "level", "parent_id", "valid_from", "valid_to"],
    )
    levels = ["company", "region", "district", "store"]
    got = unit_ancestors(placements, levels, "region")
    s1 = got[got.unit_id == "S1"].sort_values("valid_from", na_position="first")
    assert s1.ancestor_id.tolist() == ["R1", "R1", "R2"]
    assert s1.valid_from.tolist()[1:] == [t("2026-09-01"), t("2026-10-01")]
    assert pd.isna(s1.valid_from.iloc[0]) and pd.isna(s1.valid_to.iloc[2])
    assert s1.valid_to.tolist()[:2] == [t("2026-09-01"), t("2026-10-01")]
    assert set(got[got.unit_id == "D1"].ancestor_id) == {"R1"}
    assert "C" not in set(got.unit_id)  # above the level: left out
    current = placements.drop_duplicates("unit_id", keep="last").drop(columns=["valid_from"])
    undated = unit_ancestors(current.drop(columns=["valid_to"]), levels, "district")
    assert list(undated.columns) == ["unit_id", "ancestor_id"]


def test_rank_counts_a_moved_store_where_the_scorecard_does(
    wh: Warehouse, config: Config, feedback: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    """Every rollup shares the dated attachment: rank's n per district equals the scorecard's."""
    from earnright.listening.ranking import rank_units

    moved = tmp_path / "moved.csv"
    moved.write_text(f"unit_id,name,level,parent_id,valid_from\nS2,Store 2,store,D2,{MOVE}\n")
    ingest_file(wh, config, "units", moved)
    card = compute_scorecard(wh, config, level="district", period="2026-08")
    ranking = rank_units(wh, config, level="district", period="2026-08", draws=200)
    ranked = ranking.units.set_index("unit_id").n
    assert ranked.to_dict() == card.set_index("unit_id").n.to_dict()
