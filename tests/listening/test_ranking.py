"""Fair ranking: REML against published references, the posterior against brute-force Gaussian
conditioning and a hand computation, and the whole ranking against the demo's planted truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from earnright.errors import QueryError
from earnright.listening.credibility import metric_columns
from earnright.listening.ranking import Ranking, assign_tiers, rank_intervals, rank_units
from earnright.listening.scorecard import compute_scorecard
from earnright.listening.shrinkage import (
    Components,
    estimate_drift,
    fit_components,
    shrink_scores,
)
from earnright.periods import Grain
from earnright.services.demo import run_demo
from earnright.workspace import find_workspace

# BCG vaccine trials (metafor's dat.bcg): tpos, tneg, cpos, cneg.
BCG = [
    (4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
    (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892),
    (29, 7470, 45, 7232), (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
    (27, 16886, 29, 17825),
]  # fmt: skip
# Konstantopoulos (2011), metafor's dat.konstantopoulos2011: (district, yi, vi) of 56 schools.
SCHOOLS = """
11 -0.18 0.118|11 -0.22 0.118|11 0.23 0.144|11 -0.30 0.144|12 0.13 0.014|12 -0.26 0.014
12 0.19 0.015|12 0.32 0.024|18 0.45 0.023|18 0.38 0.043|18 0.29 0.012|27 0.16 0.020
27 0.65 0.004|27 0.36 0.004|27 0.60 0.007|56 0.08 0.019|56 0.04 0.007|56 0.19 0.005
56 -0.06 0.004|58 -0.18 0.020|58 0.00 0.018|58 0.00 0.019|58 -0.28 0.022|58 -0.04 0.020
58 -0.30 0.021|58 0.07 0.006|58 0.00 0.007|58 0.05 0.007|58 -0.08 0.007|58 -0.09 0.007
71 0.30 0.015|71 0.98 0.011|71 1.19 0.010|86 -0.07 0.001|86 -0.05 0.001|86 -0.01 0.001
86 0.02 0.001|86 -0.03 0.001|86 0.00 0.001|86 0.01 0.001|86 -0.10 0.001|91 0.50 0.010
91 0.66 0.011|91 0.20 0.010|91 0.00 0.009|91 0.05 0.013|91 0.07 0.013|108 -0.52 0.031
108 0.70 0.031|108 -0.03 0.030|108 0.27 0.030|108 -0.34 0.030|644 0.12 0.087|644 0.61 0.082
644 0.04 0.067|644 -0.05 0.067
"""


# -- the model: REML, posterior, ranks, tiers --------------------------------------------------
def test_reml_matches_metafor_random_effects_model() -> None:
    """metafor: rma(yi, vi) on log risk ratios of dat.bcg: tau² 0.3132, -0.7145 (SE 0.1798)."""
    a, b, c, d = np.array(BCG, dtype=float).T
    y = np.log(a / (a + b)) - np.log(c / (c + d))
    v = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    comp = fit_components(y, v)
    assert comp.tau2 == pytest.approx(0.3132, abs=1e-4)
    assert comp.mu == pytest.approx(-0.7145, abs=1e-4)
    assert comp.mu_var**0.5 == pytest.approx(0.1798, abs=1e-4)
    assert comp.omega2 == 0.0


def test_nested_reml_matches_metafor_multilevel_model() -> None:
    """metafor: rma.mv(yi, vi, random = ~ 1 | district/school): 0.0651, 0.0327, 0.1847 (0.0846)."""
    rows = np.array([r.split() for r in SCHOOLS.replace("\n", "|").split("|") if r], dtype=float)
    comp = fit_components(rows[:, 1], rows[:, 2], rows[:, 0].astype(int))
    assert comp.omega2 == pytest.approx(0.0651, abs=1e-4)
    assert comp.tau2 == pytest.approx(0.0327, abs=1e-4)
    assert comp.mu == pytest.approx(0.1847, abs=1e-4)
    assert comp.mu_var**0.5 == pytest.approx(0.0846, abs=1e-4)


def test_reml_recovers_planted_variances() -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(80), 10)
    v = rng.choice([20.0, 80.0, 300.0], len(groups))
    y = 30 + rng.normal(0, 8, 80)[groups] + rng.normal(0, 15, len(groups))
    comp = fit_components(y + rng.normal(0, np.sqrt(v)), v, groups)
    assert comp.omega2**0.5 == pytest.approx(8, rel=0.15)
    assert comp.tau2**0.5 == pytest.approx(15, rel=0.1)
    assert comp.mu == pytest.approx(30, abs=2)


@pytest.mark.parametrize("district_sd", [12.0, 0.0])
def test_peer_groups_help_when_they_differ_and_cost_little_when_not(district_sd: float) -> None:
    """Mean squared error against planted true scores: district peers vs the chain alone."""
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(40), 8)
    truth = 30 + rng.normal(0, district_sd, 40)[groups] + rng.normal(0, 15, len(groups))
    v = 5000.0 / np.clip(np.round(np.exp(rng.normal(3, 1, len(groups)))), 2, 400)
    y = truth + rng.normal(0, np.sqrt(v))
    error = {}
    for name, g in (("district", groups), ("chain", None)):
        mean, _ = shrink_scores(y, v, fit_components(y, v, g), g).moments()
        error[name] = np.mean((mean - truth) ** 2)
    if district_sd:
        assert error["district"] < 0.95 * error["chain"]  # 0.80-0.93 on seeds 7-11
    else:
        assert error["district"] < 1.03 * error["chain"]  # 0.99-1.01 on seeds 7-11


def test_drift_recovers_planted_period_to_period_variance() -> None:
    rng = np.random.default_rng(5)
    units, periods = 400, 6
    v = rng.choice([50.0, 200.0, 900.0], (units, periods))
    level = rng.normal(0, 20, units)[:, None]
    z = level + rng.normal(0, 5, (units, periods)) + rng.normal(0, np.sqrt(v))
    unit = np.repeat(np.arange(units), periods)
    assert estimate_drift(z.ravel(), v.ravel(), unit) ** 0.5 == pytest.approx(5, rel=0.2)
    # one period per unit says nothing about the drift
    assert estimate_drift(z[:, 0], v[:, 0], np.arange(units)) == 0.0


def test_posterior_by_hand() -> None:
    """Two-level normal-normal EB with tau² = 100 and a flat prior on the chain mean.

    w = 1/(v + tau²) = (1/200, 1/500, 1/125); mu = Σwy/Σw = 0.39/0.015 = 26, Var = 1/0.015.
    B = tau²/(tau² + v) = (.5, .2, .8); mean = B y + (1 - B) mu = (18, 30.8, 29.2);
    Var = B v + (1 - B)² Var(mu) = (50 + 16.667, 80 + 42.667, 20 + 2.667).
    """
    posterior = shrink_scores([10.0, 50.0, 30.0], [100.0, 400.0, 25.0], Components(0, 0, 100.0))
    mean, sd = posterior.moments()
    assert posterior.mu == pytest.approx(26.0)
    np.testing.assert_allclose(mean, [18.0, 30.8, 29.2])
    np.testing.assert_allclose(sd**2, [200 / 3, 368 / 3, 68 / 3])


def _brute_force(y: Any, v: Any, g: Any, past: Any, comp: Components) -> Any:
    """Posterior of the true scores by conditioning the joint Gaussian (flat prior ≈ var 1e8)."""
    s, k = len(y), g.max() + 1
    has = np.isfinite(past[1])
    tau_a2 = comp.tau2 - comp.sigma2
    # sources: mu, u (k), a (s), d (s), e_y (s), e_past (has)
    var = np.concatenate(
        [[1e8], [comp.omega2] * k, [tau_a2] * s, [comp.sigma2] * s, v, past[1][has]]
    )
    n_src = len(var)
    u = np.zeros((k, n_src))
    u[:, 0], u[np.arange(k), 1 + np.arange(k)] = 1, 1
    a = u[g].copy()
    a[np.arange(s), 1 + k + np.arange(s)] += 1
    theta = a.copy()
    theta[np.arange(s), 1 + k + s + np.arange(s)] += 1
    obs_y = theta.copy()
    obs_y[np.arange(s), 1 + k + 2 * s + np.arange(s)] += 1
    obs_p = a[has].copy()
    obs_p[np.arange(has.sum()), 1 + k + 3 * s + np.arange(has.sum())] += 1
    obs = np.vstack([obs_y, obs_p])
    values = np.concatenate([y, past[0][has]])
    cov_oo, cov_to = obs * var @ obs.T, theta * var @ obs.T
    mean = cov_to @ np.linalg.solve(cov_oo, values)
    cov = theta * var @ theta.T - cov_to @ np.linalg.solve(cov_oo, cov_to.T)
    return mean, cov


def test_posterior_equals_brute_force_gaussian_conditioning() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(30, 20, 9)
    v = rng.uniform(20, 400, 9)
    g = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    past = (rng.normal(30, 20, 9), rng.uniform(30, 300, 9))
    past[1][[1, 5]] = np.inf  # two units without history
    comp = Components(mu=0, mu_var=0, tau2=150.0, omega2=40.0, sigma2=30.0)
    posterior = shrink_scores(y, v, comp, g, past[0], past[1])
    mean, sd = posterior.moments()
    ref_mean, ref_cov = _brute_force(y, v, g, past, comp)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(sd, np.sqrt(np.diag(ref_cov)), rtol=1e-5)
    draws = posterior.draw(40_000, np.random.default_rng(0))
    np.testing.assert_allclose(draws.mean(axis=0), ref_mean, atol=0.3)
    np.testing.assert_allclose(np.cov(draws.T), ref_cov, atol=4.0)  # joint, not only marginal


def test_shrinkage_is_stronger_for_small_n() -> None:
    """Equal raw scores: the fewer the answers, the further toward the chain mean."""
    ns = np.array([2, 4, 8, 16, 32, 64, 128, 256])
    others = np.linspace(-20, 60, 30)
    y = np.concatenate([np.full(len(ns), 70.0), others])
    v = np.concatenate([3600.0 / ns, np.full(len(others), 60.0)])
    comp = fit_components(y, v)
    posterior = shrink_scores(y, v, comp)
    mean, _ = posterior.moments()
    pull = (70.0 - mean[: len(ns)]) / (70.0 - posterior.mu)
    assert np.all(np.diff(pull) < 0)
    np.testing.assert_allclose(pull, v[: len(ns)] / (comp.tau2 + v[: len(ns)]))  # 1 − B
    assert pull[0] > 0.5 and pull[-1] < 0.05


def test_rank_intervals_contain_point_rank_and_collapse_when_certain() -> None:
    y = np.array([5.0, 40.0, 12.0, 33.0, 20.0])
    precise = shrink_scores(y, np.full(5, 1e-6), Components(0, 0, 100.0))
    rank, low, high = rank_intervals(precise, draws=500, seed=1)
    np.testing.assert_array_equal(rank, [5, 1, 4, 2, 3])
    np.testing.assert_array_equal(low, rank)
    np.testing.assert_array_equal(high, rank)
    vague = shrink_scores(y, np.full(5, 900.0), Components(0, 0, 100.0))
    rank, low, high = rank_intervals(vague, draws=2000, seed=1)
    assert np.all((low <= rank) & (rank <= high)) and np.all(high - low >= 2)
    again = rank_intervals(vague, draws=2000, seed=1)
    np.testing.assert_array_equal(again[1], low)  # seeded


def test_tiers_only_where_the_interval_allows() -> None:
    low = [1, 1, 7, 6, 4, 3, 2]
    high = [3, 4, 9, 9, 6, 6, 3]
    tiers = assign_tiers(low, high, units=9)  # thirds: ranks 1-3, 4-6, 7-9
    assert list(tiers) == ["top", "uncertain", "bottom", "uncertain", "middle", "uncertain", "top"]
    assert list(assign_tiers([1, 3, 7], [2, 6, 8], units=8, fraction=0.25)) == [
        "top",
        "middle",
        "bottom",
    ]


# -- the whole ranking on the demo company ---------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    run = run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=60, months=12, seed=11)
    return run.workspace, json.loads(run.truth.read_text())


@pytest.fixture(scope="module")
def rankings(demo: tuple[Path, dict[str, Any]]) -> dict[int, list[tuple[Ranking, np.ndarray]]]:
    """Every month ranked with the default history and with none, next to the true NPS."""
    root, truth = demo
    true = pd.DataFrame(truth["store_month"]).set_index(["unit_id", "period"])["nps"]
    ws = find_workspace(root)
    out: dict[int, list[tuple[Ranking, np.ndarray]]] = {3: [], 0: []}
    with ws.warehouse(read_only=True) as wh:
        for history in out:
            for period in truth["periods"]:
                r = rank_units(wh, ws.config, period=period, history=history, draws=1000)
                r.units = r.units[r.units["tier"] != "suppressed"]  # fewer than min_n answers
                keys = list(zip(r.units["unit_id"], r.units["period"], strict=True))
                out[history].append((r, true.loc[keys].to_numpy()))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("history", "margin"), [(3, 0.06), (0, 0.005)])
def test_estimate_tracks_true_nps_better_than_raw(
    rankings: dict[int, list[tuple[Ranking, np.ndarray]]], history: int, margin: float
) -> None:
    """Mean over 12 months of Spearman(estimate) − Spearman(raw) against the true store NPS.

    Measured on seeds 1–5 and 11–13: at least 0.108 with history 3, 0.018 without.
    """
    gains = [
        spearmanr(r.units["estimate"], t)[0] - spearmanr(r.units["raw"], t)[0]
        for r, t in rankings[history]
    ]
    assert np.mean(gains) > margin


@pytest.mark.slow
@pytest.mark.parametrize("history", [3, 0])
def test_intervals_cover_the_true_store_nps(
    rankings: dict[int, list[tuple[Ranking, np.ndarray]]], history: int
) -> None:
    """95% intervals: 91.7–96.1% (history 3) and 94.2–95.3% (none) on seeds 1–5 and 11–13."""
    hits = [
        (t >= r.units["estimate_low"]) & (t <= r.units["estimate_high"])
        for r, t in rankings[history]
    ]
    assert 0.90 <= np.mean(np.concatenate(hits)) <= 0.99


@pytest.mark.slow
def test_rank_intervals_and_tiers_against_true_ranks(
    rankings: dict[int, list[tuple[Ranking, np.ndarray]]],
) -> None:
    covered, right, tiered = [], [], []
    for r, t in rankings[3]:
        u, size = r.units, len(r.units)
        true_rank = pd.Series(-t).rank(method="first").to_numpy()
        assert np.all((u["rank_low"] <= u["rank"]) & (u["rank"] <= u["rank_high"]))
        est = u["estimate"].to_numpy()
        higher = (est[None, :] > est[:, None] + 1e-9).sum(axis=1)
        np.testing.assert_array_equal(u["rank"], 1 + higher)  # equal estimates share a rank
        np.testing.assert_array_equal(u["tier"], assign_tiers(u["rank_low"], u["rank_high"]))
        covered.append((true_rank >= u["rank_low"]) & (true_rank <= u["rank_high"]))
        top, bottom = u["tier"] == "top", u["tier"] == "bottom"
        right.append(np.where(top, true_rank <= size / 3, true_rank > 2 * size / 3)[top | bottom])
        tiered.append((top | bottom).mean())
    assert 0.80 <= np.mean(np.concatenate(covered)) <= 0.98  # 90% intervals
    assert np.mean(np.concatenate(right)) >= 0.85  # a tier, when given, is nearly always right
    assert 0.1 <= np.mean(tiered) <= 0.6


@pytest.mark.slow
def test_ranking_round_trips_through_json(
    rankings: dict[int, list[tuple[Ranking, np.ndarray]]],
) -> None:
    ranking = rankings[3][-1][0]
    back = Ranking.from_dict(json.loads(json.dumps(ranking.to_dict())))
    assert back.components == ranking.components
    assert (back.period, back.peer, back.history) == ("2026-09", "district", 3)
    pd.testing.assert_frame_equal(back.units, ranking.units, check_dtype=False)


@pytest.mark.slow
def test_other_metrics_levels_and_errors(demo: tuple[Path, dict[str, Any]]) -> None:
    ws = find_workspace(demo[0])
    with ws.warehouse(read_only=True) as wh:
        wait = rank_units(wh, ws.config, metric="q_wait", grain=Grain.quarter, period="2026-Q3")
        assert wait.units["estimate"].between(1, 5).all() and len(wait.units) == 60
        csat = rank_units(wh, ws.config, metric="csat", peer="company", history=0)
        assert csat.period == "2026-09" and csat.peer == "company"
        shown = csat.units["tier"] != "suppressed"
        assert csat.units["estimate_low"][shown].between(0, 1).all()
        assert csat.units["estimate"][~shown].isna().all()  # below min_n: n only
        assert (csat.units["n"][~shown] < ws.config.listening.min_n).all()
        stores = rank_units(wh, ws.config, period="2026-09", history=0)
        districts = rank_units(wh, ws.config, level="district", period="2026-09")
        assert districts.peer == "region" and len(districts.units) < len(stores.units)
        assert districts.units["n"].sum() == stores.units["n"].sum()  # stores roll up
        with pytest.raises(QueryError, match="metric 'nope'") as caught:
            rank_units(wh, ws.config, metric="nope")
        assert caught.value.argument == "metric"
        with pytest.raises(QueryError, match="peer level 'store'") as caught:
            rank_units(wh, ws.config, peer="store")
        assert caught.value.argument == "peer"
        with pytest.raises(QueryError, match="at least 2 store units"):
            rank_units(wh, ws.config, period="2020-01")


@pytest.mark.slow
@pytest.mark.parametrize("level", ["store", "district"])
def test_raw_score_and_n_equal_the_scorecards_for_every_metric(
    demo: tuple[Path, dict[str, Any]], level: str
) -> None:
    """NPS in points, CSAT as the top-2-box share, every driver's mean: the same as scorecard."""
    ws = find_workspace(demo[0])
    with ws.warehouse(read_only=True) as wh:
        card = compute_scorecard(wh, ws.config, level=level, period="2026-08").set_index("unit_id")
        drivers = [c[: -len("_mean")] for c in card.columns if c.endswith("_mean")]
        assert len(drivers) >= 3
        for metric in ["nps", "csat", *drivers]:
            n_col, est_col, _, _ = metric_columns(metric)
            r = rank_units(wh, ws.config, level=level, period="2026-08", metric=metric, min_n=1)
            u = r.units.set_index("unit_id")
            expected = card.loc[u.index]
            np.testing.assert_array_equal(u["n"].to_numpy(int), expected[n_col].to_numpy(int))
            np.testing.assert_allclose(u["raw"], expected[est_col], rtol=1e-9, err_msg=metric)
