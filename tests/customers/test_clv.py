"""Lifetime value: BG/NBD and Gamma-Gamma recover planted parameters from simulated customers,
predict their holdout purchases within sampling error, and reproduce Fader, Hardie & Lee's
published CDNOW fit (realdata) from the raw purchases, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.customers.clv import (
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    probability_alive,
)
from tests.conftest import SHARED_DATA

CDNOW = SHARED_DATA / "cdnow"
PLANTED = np.array([0.5, 6.0, 0.7, 2.8])  # r, alpha, a, b (weeks)


def simulate_bgnbd(
    params: np.ndarray, n: int, T: float, horizon: float, seed: int
) -> tuple[np.ndarray, ...]:
    """(x, t_x, T, holdout, alive at T): each customer buys at rate λ ~ Gamma(r, 1/α) and, after
    each purchase, drops out with probability p ~ Beta(a, b); first purchase at time 0."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x, hold, alive = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    for i in range(n):
        t, dead = 0.0, False
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T + horizon:
                break
            if t <= T:
                x[i], t_x[i] = x[i] + 1, t
            else:
                hold[i] += 1
            if rng.uniform() < p[i]:  # drops out after this purchase
                dead = True
                break
        alive[i] = not (dead and t <= T)
    return x, t_x, np.full(n, T), hold, alive


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, ...]:
    return simulate_bgnbd(PLANTED, 8000, 40.0, 30.0, seed=11)


def test_bgnbd_recovers_planted_parameters(planted: tuple[np.ndarray, ...]) -> None:
    x, t_x, T, _, _ = planted
    fit = fit_bgnbd(x, t_x, T)
    se = np.sqrt(np.diag(fit.cov))  # of the log-parameters
    z = (np.log(fit.values) - np.log(PLANTED)) / se
    assert np.all(np.abs(z) < 3.5), (fit.values, z)
    grouped = pd.DataFrame({"x": x, "t_x": t_x, "T": T}).value_counts().reset_index()
    again = fit_bgnbd(grouped.x, grouped.t_x, grouped["T"], grouped["count"])
    assert again.log_likelihood == pytest.approx(fit.log_likelihood, rel=1e-9)


def test_holdout_purchases_and_alive_are_predicted(planted: tuple[np.ndarray, ...]) -> None:
    x, t_x, T, hold, alive = planted
    predicted = expected_purchases(PLANTED, 30.0, x, t_x, T)
    # each customer's holdout count has variance at least its mean: a generous 4 sd
    assert abs(predicted.sum() - hold.sum()) < 4 * np.sqrt(hold.sum() * 3)
    for k in (0, 1, 2):
        sel = x == k
        assert predicted[sel].mean() == pytest.approx(hold[sel].mean(), rel=0.2)
    p_alive = probability_alive(PLANTED, x, t_x, T)
    assert abs(p_alive.sum() - alive.sum()) < 4 * np.sqrt(np.sum(p_alive * (1 - p_alive)))


def test_gamma_gamma_recovers_planted_parameters() -> None:
    p, q, gamma = 6.0, 4.0, 15.0
    rng = np.random.default_rng(3)
    n = 6000
    x = rng.integers(1, 12, n).astype(float)
    nu = rng.gamma(q, 1 / gamma, n)
    m = np.array([rng.gamma(p, 1 / v, int(k)).mean() for v, k in zip(nu, x, strict=True)])
    fit = fit_gamma_gamma(x, m)
    z = (np.log(fit.values) - np.log([p, q, gamma])) / np.sqrt(np.diag(fit.cov))
    assert np.all(np.abs(z) < 3.5), (fit.values, z)


# -- CDNOW (Fader, Hardie & Lee 2005) -----------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CDNOW_sample.txt in the transactions layout (the sample's own customer ids)."""
    if not CDNOW.is_dir():
        pytest.skip(f"{CDNOW} is absent: the CDNOW data are not on this machine")
    names = ["master", "customer_id", "date", "cds", "amount"]
    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, names=names,
                      dtype={"customer_id": str, "date": str})  # fmt: skip
    out = tmp_path_factory.mktemp("cdnow") / "transactions.csv"
    pd.DataFrame(
        {
            "transaction_id": np.arange(len(raw)),
            "customer_id": raw.customer_id,
            "unit_id": "S1",
            "occurred_at": pd.to_datetime(raw.date, format="%Y%m%d"),
            "amount": raw.amount,
        }
    ).to_csv(out, index=False)
    return out


@pytest.mark.realdata
def test_the_summaries_are_fader_hardie_lee(cdnow_csv: Path) -> None:
    import ibis

    from earnright.customers.histories import check_transactions, purchase_summaries

    table = check_transactions(ibis.duckdb.connect().read_csv(cdnow_csv))
    mine = purchase_summaries(table, pd.Timestamp("1997-09-30").to_pydatetime())
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    both = ref.merge(mine.assign(ID=mine.customer_id.astype(int)), on="ID")
    assert len(both) == len(ref) == 2357
    assert (both.x_x == both.x_y).all()
    for theirs, ours in (("t_x_x", "t_x_y"), ("T_x", "T_y"), ("zbar", "m")):
        assert np.abs(both[theirs] - both[ours]).max() <= 0.005 + 1e-9  # they print 2 decimals


@pytest.mark.realdata
def test_cdnow_reproduces_the_published_fit(cdnow_csv: Path) -> None:
    args = ["clv", "--from", str(cdnow_csv), "--calibration-end", "1997-09-30"]
    done = CliRunner().invoke(app, [*args, "--draws", "0", "--format", "json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    bg = out["params"]
    assert (round(bg["r"], 3), round(bg["alpha"], 3)) == (0.243, 4.414)
    assert (round(bg["a"], 3), round(bg["b"], 3)) == (0.793, 2.426)
    assert round(out["log_likelihood"]["bg_nbd"], 1) == -9582.4
    gg = out["gamma_gamma"]
    assert (round(gg["p"], 2), round(gg["q"], 2), round(gg["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert out["customers"] == 2357 and out["repeat_buyers"] == 946
    raw = pd.read_csv(cdnow_csv, parse_dates=["occurred_at"])
    later = raw[raw.occurred_at > "1997-09-30"].drop_duplicates(["customer_id", "occurred_at"])
    hold = out["holdout"]
    assert hold["weeks"] == 39 and hold["actual"] == len(later)
    x0 = hold["by_repeat_purchases"][0]
    assert x0["x"] == "0" and x0["customers"] == 1411
    by_x = sum(r["predicted"] * r["customers"] for r in hold["by_repeat_purchases"])
    assert hold["predicted"] == pytest.approx(by_x, rel=1e-5)


def test_a_bad_file_names_the_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("customer_id,occurred_at,amount\nC1,2026-01-01,5\nC1,yesterday,5\n")
    done = CliRunner().invoke(app, ["clv", "--from", str(bad)])
    assert "line 3, field occurred_at" in str(done.exception)
    bad.write_text("customer_id,when,amount\nC1,2026-01-01,5\n")
    done = CliRunner().invoke(app, ["clv", "--from", str(bad)])
    assert "no column occurred_at" in str(done.exception)
