"""Ranking on small, hand-made companies: the degenerate cases a new user meets first.

1, 2 and 3 units per parent; n of 1–3; a single period; all units equal. Whatever the data,
an estimate lies between what the unit's own answers say (this period's raw score and its
lasting level from earlier periods) and what it is shrunk toward (its target); equal estimates
share a rank; a tier needs a rank interval wholly inside one third.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earnright.listening.ranking import (
    Ranking,
    assign_tiers,
    rank_frame,
    rank_intervals,
    rank_units,
)
from earnright.listening.shrinkage import Components, shrink_scores
from earnright.periods import Grain
from tests.listening.small import Answer, make_company, month_answers

MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]


def check(r: Ranking) -> pd.DataFrame:
    """The invariants every ranking keeps; returns the ranked rows."""
    u = r.units[r.units["tier"] != "suppressed"]
    size = len(u)
    rank, low, high = (u[c].to_numpy(np.int64) for c in ("rank", "rank_low", "rank_high"))
    assert np.all((low >= 1) & (low <= rank) & (rank <= high) & (high <= size))
    assert np.all((u.estimate_low <= u.estimate) & (u.estimate <= u.estimate_high))
    sources = u[["raw", "lasting_level", "target"]]
    tol = 1e-6
    assert np.all(u.estimate >= sources.min(axis=1) - tol), "estimate below raw, lasting, target"
    assert np.all(u.estimate <= sources.max(axis=1) + tol), "estimate above raw, lasting, target"
    est = u["estimate"].to_numpy()
    np.testing.assert_array_equal(rank, 1 + (est[None, :] > est[:, None] + 1e-9).sum(axis=1))
    np.testing.assert_array_equal(u["tier"], assign_tiers(low, high, units=size))
    if r.components.tau2 == 0 and r.components.omega2 == 0:  # the data cannot order the units
        assert np.allclose(est, est[0]) and set(rank) == {1}
        assert set(low) == {1} and set(high) == {size} and set(u["tier"]) == {"uncertain"}
    if size < 3:
        assert set(u["tier"]) == {"uncertain"}  # no third exists
    return u


def history(stores: int, months: list[str], seed: int, n: tuple[int, int]) -> list[Answer]:
    rng = np.random.default_rng(seed)
    answers: list[Answer] = []
    for month in months:
        scores = {
            f"S{s}": rng.choice([10, 9, 8, 7, 6, 3], rng.integers(n[0], n[1] + 1)).tolist()
            for s in range(1, stores + 1)
        }
        answers += month_answers(month, scores)
    return answers


def test_two_districts_the_data_cannot_order_tie_and_get_no_tier(tmp_path: Path) -> None:
    """Issue 9: 2 districts, equal estimates, ranked `1 (1–1) middle` and `2 (2–2) bottom`."""
    answers = month_answers("2026-07", {"S1": [10, 9, 3, 8, 7], "S3": [10, 8, 6, 9]})
    answers += month_answers("2026-08", {"S2": [9, 10, 2, 8], "S4": [10, 7, 3, 9, 8]})
    answers += month_answers("2026-09", {"S1": [10, 5, 9], "S3": [9, 4, 8, 10]})
    ws = make_company(tmp_path, [2, 2], answers)
    with ws.warehouse(read_only=True) as wh:
        r = rank_units(wh, ws.config, level="district", grain=Grain.quarter, period="2026-Q3")
    u = check(r)
    assert r.components.tau2 == 0 and len(u) == 2
    assert list(u["rank"]) == [1, 1] and list(u["rank_low"]) == [1, 1]
    assert list(u["rank_high"]) == [2, 2] and list(u["tier"]) == ["uncertain"] * 2


def test_five_stores_estimates_stay_between_raw_lasting_level_and_target(tmp_path: Path) -> None:
    """Issue 9: S1 (n=2, raw 50) and S4 (n=3, raw 33.3) both at 57.4 and S4 tiered bottom."""
    answers = history(5, MONTHS[:-1], seed=3, n=(2, 6))
    answers += month_answers(
        "2026-09",
        {"S1": [10, 8], "S2": [10, 9, 8, 3], "S3": [10, 10, 9, 6, 8], "S4": [10, 8, 7]}
        | {"S5": [10, 9, 10, 8, 2, 9]},
    )
    ws = make_company(tmp_path, [3, 2], answers)
    with ws.warehouse(read_only=True) as wh:
        r = rank_units(wh, ws.config, period="2026-09", min_n=1)
        alone = rank_units(wh, ws.config, period="2026-09", min_n=1, history=0)
        shown = rank_units(wh, ws.config, period="2026-09")
    for ranking in (r, alone):
        u = check(ranking).set_index("unit_id")
        assert u.loc["S4", "tier"] != "bottom"
    assert r.units["lasting_level"].notna().all() and alone.units["lasting_level"].isna().all()
    # without history the estimate lies between the raw score and the target
    u = alone.units
    assert np.all((u.estimate - u.raw) * (u.estimate - u.target) <= 1e-9)
    # [listening] min_n = 5: S1, S2, S4 are listed with their n, no score and no rank
    few = shown.units.set_index("unit_id").loc[["S1", "S2", "S4"]]
    assert list(few["n"]) == [2, 4, 3] and set(few["tier"]) == {"suppressed"}
    assert few[["raw", "estimate", "estimate_low", "rank", "rank_low"]].isna().all().all()


@pytest.mark.parametrize(
    ("layout", "n", "months", "equal"),
    [
        ([1, 1, 1], (1, 3), MONTHS, False),  # 1 unit per parent
        ([2, 2], (1, 3), MONTHS, False),  # 2 units per parent
        ([3, 3], (1, 3), MONTHS, False),  # 3 units per parent
        ([3, 3], (1, 3), MONTHS[-1:], False),  # a single period
        ([3, 3], (20, 40), MONTHS, False),
        ([2], (1, 2), MONTHS[-1:], False),  # 2 units, n of 1–2
        ([3, 3], (3, 3), MONTHS, True),  # all units equal
    ],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_degenerate_cases_keep_every_invariant(
    tmp_path: Path,
    layout: list[int],
    n: tuple[int, int],
    months: list[str],
    equal: bool,
    seed: int,
) -> None:
    stores = sum(layout)
    answers = history(stores, months, seed, n)
    if equal:  # every store gives the same answers in every month
        answers = [(f"S{s}", day, x) for _, day, x in answers if _ == "S1" for s in range(1, 7)]
    ws = make_company(tmp_path, layout, answers)
    with ws.warehouse(read_only=True) as wh:
        for h in (3, 0):
            for peer in ("district", "company"):
                r = rank_units(wh, ws.config, period="2026-09", min_n=1, history=h, peer=peer)
                u = check(r)
                assert len(u) == stores
                if len(months) == 1:
                    assert u["lasting_level"].isna().all()
                if equal:
                    assert r.components.tau2 == 0 and set(u["rank"]) == {1}
                if layout == [1, 1, 1]:
                    assert r.components.omega2 == 0  # not identifiable apart from tau2


def test_identical_draws_tie_instead_of_taking_the_row_order() -> None:
    """tau² = 0: every draw gives the units the same score; no order may be made up."""
    same = shrink_scores([10.0, 30.0, 50.0], [400.0, 300.0, 900.0], Components(0, 0, 0.0))
    rank, low, high = rank_intervals(same, draws=500)
    assert list(rank) == [1, 1, 1] and list(low) == [1, 1, 1] and list(high) == [3, 3, 3]


def test_thirds_are_symmetric_and_need_three_units() -> None:
    assert list(assign_tiers([1, 2], [1, 2], units=2)) == ["uncertain", "uncertain"]
    # of 5, the top third is rank 1 and the bottom third rank 5: rank 4 is not wholly in it
    tiers = assign_tiers([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], units=5)
    assert list(tiers) == ["top", "middle", "middle", "middle", "bottom"]
    assert list(assign_tiers([1, 3, 3], [1, 3, 3], units=3)) == ["top", "bottom", "bottom"]


def test_rank_intervals_cover_planted_true_ranks_at_their_level() -> None:
    """90% rank intervals, on units simulated from the model with its true variances.

    Ranks are whole numbers, so an interval from rank quantiles holds at least 90% of the
    posterior (here about 90.5%); it must cover the true rank as often as it holds: within 3
    binomial standard errors of its posterior content, and that content within 1.5 points of 90%.
    A 95% interval (content ≈ 95.5%) fails.
    """
    rng = np.random.default_rng(12)
    size, reps, draws = 300, 20, 1000
    covered, content = [], []
    for rep in range(reps):
        g = np.repeat(np.arange(size // 10), 10)
        theta = 30 + rng.normal(0, 8, size // 10)[g] + rng.normal(0, 15, size)
        v = 4900 / rng.integers(5, 40, size)
        raw = theta + rng.normal(0, np.sqrt(v))
        posterior = shrink_scores(raw, v, Components(0, 0, 225.0, 64.0), g)
        current = pd.DataFrame({"unit_id": [f"S{i}" for i in range(size)], "n": 5, "raw": raw})
        units = current[["unit_id"]].assign(name="")
        groups = pd.Series(g.astype(str))
        lasting = np.full(size, np.nan)
        frame = rank_frame(current, units, groups, (posterior, lasting), (-100, 100), (draws, rep))
        low, high = frame["rank_low"].to_numpy(), frame["rank_high"].to_numpy()
        true = 1 + (theta[None, :] > theta[:, None]).sum(axis=1)
        covered.append((true >= low) & (true <= high))
        x = posterior.draw(200, np.random.default_rng(rep + 1000))  # fresh draws
        ranks = 1 + (x[:, None, :] > x[:, :, None]).sum(axis=2)
        content.append(((ranks >= low) & (ranks <= high)).mean(axis=0))
    coverage, promised = np.mean(covered), np.mean(content)
    se = np.sqrt(promised * (1 - promised) / (size * reps))
    assert 0.90 <= promised <= 0.915
    assert abs(coverage - promised) <= 3 * se, (coverage, promised, se)
