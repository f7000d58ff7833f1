"""Credibility flags and responses needed, against hand-worked values, simulation and the demo."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from earnright.errors import QueryError
from earnright.listening.changes import detect_changes
from earnright.listening.credibility import (
    CREDIBILITY_COLUMNS,
    NEEDED_COLUMNS,
    Precision,
    assess_credibility,
    nps_sample_size,
    nps_variance,
    responses_needed,
)
from earnright.listening.scorecard import compute_scorecard
from earnright.services.demo import run_demo
from earnright.stats import mean_interval, nps_interval, wilson_interval


def _card(rows: list[tuple[str, str, int, int, int]], invitations: int = 0) -> pd.DataFrame:
    """A scorecard frame as compute_scorecard makes it, from (unit, period, n, prom., detr.).

    CSAT has the same n with top-2 = promoters; one driver q_wait answered by everyone with
    mean 4 and sd 1 (Σx² = n(16 + 1) − 1: sample variance exactly 1).
    """
    unit, period, n, prom, detr = (np.array(c) for c in zip(*rows, strict=True))
    frame = pd.DataFrame({"unit_id": unit, "name": unit, "level": "store", "period": period})
    frame["responses"], frame["invitations"] = n, invitations
    frame["n"], frame["promoters"], frame["detractors"] = n, prom, detr
    frame["passives"] = n - prom - detr
    frame["nps"], frame["nps_low"], frame["nps_high"] = nps_interval(prom, detr, n)
    frame["n_csat"] = n
    frame["csat"], frame["csat_low"], frame["csat_high"] = wilson_interval(prom, n)
    total, total_sq = 4.0 * n, 17.0 * n - 1.0
    mean, low, high = mean_interval(total, total_sq, n)
    frame["q_wait_n"], frame["q_wait_mean"] = n, mean
    frame["q_wait_low"], frame["q_wait_high"] = np.clip(low, 1, 5), np.clip(high, 1, 5)
    return frame


def test_small_n_is_suppressed_not_zero_and_precision_decides_credible() -> None:
    card = _card(
        [
            ("S1", "2026-09", 0, 0, 0),
            ("S2", "2026-09", 3, 3, 0),
            ("S3", "2026-09", 40, 20, 5),
            ("S4", "2026-09", 2000, 1000, 300),
        ]
    )
    tidy = assess_credibility(card)
    assert list(tidy.columns) == CREDIBILITY_COLUMNS
    out = tidy.set_index(["unit_id", "metric"])
    assert set(out.index.get_level_values("metric")) == {"nps", "csat", "q_wait"}
    s1, s2 = out.loc[("S1", "nps")], out.loc[("S2", "nps")]
    assert (s1.suppressed, s1.credible, s1.reason) == (True, False, "no answers")
    assert (s2.suppressed, s2.credible, s2.n) == (True, False, 3)
    assert s2.reason == "n=3 below the minimum of 5"
    assert np.isnan([s2.estimate, s2.low, s2.high]).all()  # null, never 0 or 100
    s3, s4 = out.loc[("S3", "nps")], out.loc[("S4", "nps")]
    assert not s3.suppressed and not s3.credible  # n=40: the interval is ±24 points
    assert s3.reason.startswith("95% interval ±") and s3.reason.endswith("> ±15")
    assert s3.estimate == pytest.approx(37.5)
    assert s4.credible and not s4.suppressed and pd.isna(s4.reason)
    assert s4.low < s4.estimate < s4.high
    assert out.loc[("S4", "q_wait")].credible  # mean 4, sd 1, n=2000: ±0.04
    assert not out.loc[("S3", "q_wait")].credible  # n=40: ±0.32 > ±0.30


def test_min_n_and_precision_are_configurable() -> None:
    card = _card([("S2", "2026-09", 3, 3, 0), ("S3", "2026-09", 40, 20, 5)])
    out = assess_credibility(card, min_n=2, precision=Precision(nps=30.0), metrics=["nps"])
    assert list(out.metric) == ["nps", "nps"]
    assert not out.suppressed.any()
    assert list(out.credible) == [False, True]  # n=3 stays wide; n=40 is within ±30
    assert out.estimate.iloc[0] == pytest.approx(100.0)
    with pytest.raises(QueryError, match="min_n must be at least 1"):
        assess_credibility(card, min_n=0)
    with pytest.raises(QueryError, match="expected one of"):
        assess_credibility(card, metrics=["q_nope"])


def test_nps_variance_is_the_variance_of_the_plus_minus_one_score() -> None:
    rng = np.random.default_rng(5)
    scores = rng.choice([1, 0, -1], size=200_000, p=[0.45, 0.35, 0.20])
    assert nps_variance(0.45, 0.20) == pytest.approx(scores.var(), abs=0.005)
    assert nps_variance(0.45, 0.20) == pytest.approx(0.65 - 0.25**2)
    assert nps_variance(1.0, 0.0) == 0.0 and nps_variance(0.5, 0.5) == 1.0


def test_sample_size_matches_a_hand_worked_value() -> None:
    # (1.959964 + 0.841621)² · 2 · 0.5875 / 0.1² = 922.24 → 923 answers per period.
    assert int(nps_sample_size(0.5875, 10.0)) == 923
    # Halving the change quadruples n (up to rounding); 90% power needs (1.96+1.28)²/(2.80)².
    assert int(nps_sample_size(0.5875, 5.0)) == 3689
    assert int(nps_sample_size(0.5875, 10.0, power=0.9)) == 1235
    with pytest.raises(QueryError):
        nps_sample_size(0.5, 0.0)
    with pytest.raises(QueryError):
        nps_sample_size(0.5, 10.0, alpha=1.5)


def test_sample_size_is_monotone() -> None:
    changes = np.linspace(2, 40, 39)
    by_change = [int(nps_sample_size(0.6, c)) for c in changes]
    assert all(a >= b for a, b in pairwise(by_change))
    by_power = [int(nps_sample_size(0.6, 10.0, power=p)) for p in np.linspace(0.5, 0.99, 30)]
    assert all(a <= b for a, b in pairwise(by_power))
    by_alpha = [int(nps_sample_size(0.6, 10.0, alpha=a)) for a in np.linspace(0.001, 0.2, 30)]
    assert all(a >= b for a, b in pairwise(by_alpha))
    variances = nps_variance(np.linspace(0.1, 0.6, 20), 0.2)  # more promoters: more spread
    assert np.all(np.diff(nps_sample_size(variances, 10.0)) >= 0)


def _simulated_power(before: np.ndarray, after: np.ndarray, n: int, reps: int, seed: int) -> float:
    """Share of ``reps`` simulated two-period units whose change the changes test finds at 5%."""
    rng = np.random.default_rng(seed)
    rows = []
    for period, probs in (("2026-08", before), ("2026-09", after)):
        counts = rng.multinomial(n, probs, size=reps)
        rows += [(f"U{i}", period, n, c[0], c[2]) for i, c in enumerate(counts)]
    changes = detect_changes(_card(rows), period="2026-09", min_n=2)
    return float((changes.p_value < 0.05).mean())


@pytest.mark.parametrize("change", [10.0, 20.0])
def test_sample_size_gives_the_promised_power_in_simulation(change: float) -> None:
    # Period 1: 45% promoters, 20% detractors (NPS 25, σ² = 0.5875). Period 2 keeps σ² equal:
    # NPS 25 + change with p + d larger by ((25 + change)² − 25²)/100², as σ² = p + d − NPS².
    before = np.array([0.45, 0.35, 0.20])
    nps2 = (25 + change) / 100
    total = 0.65 + nps2**2 - 0.25**2
    after = np.array([(total + nps2) / 2, 1 - total, (total - nps2) / 2])
    assert nps_variance(after[0], after[2]) == pytest.approx(0.5875)
    n = int(nps_sample_size(0.5875, change))
    power = _simulated_power(before, after, n, reps=4000, seed=int(change))
    assert power == pytest.approx(0.80, abs=0.03), (n, power)
    too_few = _simulated_power(before, after, n // 2, reps=4000, seed=int(change) + 1)
    assert too_few < 0.6  # the computed n is what it takes, not a loose upper bound


def test_responses_needed_pools_small_units_and_judges_the_rate() -> None:
    card = _card(
        [
            ("S1", "2026-08", 600, 300, 90),
            ("S1", "2026-09", 600, 300, 90),
            ("S2", "2026-08", 30, 30, 0),
            ("S2", "2026-09", 30, 30, 0),
            ("S3", "2026-09", 500, 200, 100),
        ],
        invitations=2000,
    )
    card.loc[card.unit_id == "S2", "invitations"] = 100
    card.loc[card.unit_id == "S3", "invitations"] = 1000
    out = responses_needed(card, pool_below=100, realistic_rate=0.45).set_index("unit_id")
    assert list(out.reset_index().columns) == NEEDED_COLUMNS
    s1, s2, s3 = out.loc["S1"], out.loc["S2"], out.loc["S3"]
    assert (s1.variance_from, s2.variance_from) == ("own", "pooled")
    assert (s1.promoter_share, s1.detractor_share, s1.periods) == (0.5, 0.15, 2)
    # S2 (all promoters, σ² = 0 on its own) borrows the pooled shares of all three units.
    pooled = (860 / 1760, 280 / 1760)
    assert (s2.promoter_share, s2.detractor_share) == pytest.approx(pooled)
    assert s1.needed == int(nps_sample_size(nps_variance(0.5, 0.15), 10.0))
    assert s1.sd == pytest.approx(100 * np.sqrt(nps_variance(0.5, 0.15)))
    assert s1.invitations_per_period == 2000 and s1.response_rate == pytest.approx(0.3)
    assert s1.implied_response_rate == pytest.approx(s1.needed / 2000)
    assert s1.feasible and s1.reason.startswith("achievable")
    assert s2.implied_response_rate > 1 and not s2.feasible
    assert s2.reason.startswith("impossible:") and "send more invitations" in s2.reason
    assert 0.45 < s3.implied_response_rate < 1 and s3.reason.startswith("unrealistic:")
    assert not s1.enough_now and s3.periods == 1
    small = responses_needed(card, change=30.0).set_index("unit_id")
    assert (small.needed < out.needed).all() and small.loc["S1"].enough_now


def test_responses_needed_without_invitations_says_so() -> None:
    card = _card([("S1", "2026-09", 50, 20, 10)])
    out = responses_needed(card).iloc[0]
    assert np.isnan(out.implied_response_rate) and np.isnan(out.invitations_per_period)
    assert not out.feasible and "no invitations" in out.reason
    silent = responses_needed(_card([("S1", "2026-09", 0, 0, 0)], invitations=10)).iloc[0]
    assert pd.isna(silent.needed) and not silent.feasible and not silent.enough_now
    assert silent.reason == "no NPS answers at this level to estimate the variance from"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from earnright.workspace import find_workspace

    run = run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=20, months=4, seed=5)
    ws = find_workspace(run.workspace)
    with ws.warehouse(read_only=True) as wh:
        return compute_scorecard(wh, ws.config, level="store")


@pytest.mark.slow
def test_credibility_on_the_demo_follows_n(demo: pd.DataFrame) -> None:
    card = demo
    out = assess_credibility(card)
    drivers = {"q_staff", "q_wait", "q_stock", "q_rx", "q_clean", "q_app"}
    assert set(out.metric) == {"nps", "csat"} | drivers
    assert len(out) == len(card) * (2 + len(drivers))
    assert (out.suppressed == (out.n < 5)).all()
    assert out.loc[out.suppressed, ["estimate", "low", "high"]].isna().all().all()
    shown = out[~out.suppressed]
    assert shown[["estimate", "low", "high"]].notna().all().all()
    assert (shown.low <= shown.estimate).all() and (shown.estimate <= shown.high).all()
    nps = out[out.metric == "nps"]
    assert nps.loc[nps.credible, "n"].min() > nps.loc[~nps.credible & ~nps.suppressed, "n"].min()


@pytest.mark.slow
def test_responses_needed_on_the_demo_matches_simulation(demo: pd.DataFrame) -> None:
    card = demo
    needed = responses_needed(card)
    assert len(needed) == 20 and (needed.periods == 4).all()
    assert set(needed.variance_from) <= {"own", "pooled"}
    bigger = responses_needed(card, change=5.0)
    assert (bigger.needed >= 3 * needed.needed).all()  # n ∝ 1/δ²: 4x up to rounding
    # A store's needed n, simulated from its own estimated shares, has the promised power.
    row = needed[needed.variance_from == "own"].iloc[0]
    p, d = row.promoter_share, row.detractor_share
    nps2 = (p - d) + 0.10
    total = p + d + nps2**2 - (p - d) ** 2  # same σ² after a 10-point rise
    before = np.array([p, 1 - p - d, d])
    after = np.array([(total + nps2) / 2, 1 - total, (total - nps2) / 2])
    assert (after > 0).all() and nps_variance(after[0], after[2]) == pytest.approx(
        nps_variance(p, d)
    )
    power = _simulated_power(before, after, int(row.needed), reps=4000, seed=9)
    assert power == pytest.approx(0.80, abs=0.03)
    rates = needed.implied_response_rate
    assert ((rates > 1) == needed.reason.str.startswith("impossible")).all()


def test_needed_says_what_is_possible_with_the_invitations_there_are() -> None:
    """Issue 9: "impossible" per month must say at which window or grain a store is credible."""
    months = [f"2026-{m:02d}" for m in (7, 8, 9)]
    card = _card(
        [("S1", m, 30, 12, 6) for m in months] + [("S2", m, 400, 200, 50) for m in months],
        invitations=600,
    )
    out = responses_needed(card, pool_below=1).set_index("unit_id")
    s1, s2 = out.loc["S1"], out.loc["S2"]
    assert s1.needed == nps_sample_size(nps_variance(0.4, 0.2), 10.0) == 880
    assert s1.implied_response_rate > 1 and s1.reason.startswith("impossible:")
    assert s1.window == 30  # ⌈880 / 30⌉ months of today's answers
    assert s1.window_at_realistic_rate == 3  # ⌈880 / (600 × 0.5)⌉ months at a 50% rate
    assert s1.credible_grain == "longer than a year"  # 30 × 12 = 360 < 880
    assert "at today's response rate a rolling 30-month window gets there;" in s1.reason
    assert s2.needed == 761 and s2.window == 2 and s2.credible_grain == "quarter"
    assert "rolling 2-month window gets there (or by quarter)" in s2.reason
    weeks = _card([("S2", f"2026-W{w}", 100, 50, 12) for w in range(30, 34)], invitations=150)
    by_week = responses_needed(weeks, pool_below=1, grain="week").iloc[0]
    # 100 answers a week: a month holds 434 < 747 needed, a quarter 1,304
    assert by_week.window == 8 and by_week.credible_grain == "quarter"
    assert "answers a week" in by_week.reason and "rolling 8-week window" in by_week.reason
    enough = responses_needed(card, change=60.0, pool_below=1).set_index("unit_id")
    assert enough.loc["S2", "window"] == 1 and enough.loc["S2", "credible_grain"] == "week"
    assert enough.loc["S2", "reason"].startswith("achievable")
