"""Benchmark: lifetime value (BG/NBD + Gamma-Gamma) against the `lifetimes` library, in one run.

    python bench/clv.py                       # CDNOW, then 3.7M planted customers
    python bench/clv.py --customers 370000    # smaller
    python bench/clv.py --smoke               # seconds: 20,000 customers, results in a temp folder

`lifetimes` (0.11.3, unmaintained but installable on Python 3.11 with the locked numpy/pandas)
comes with the project's ``bench`` extra (``make bench-clv`` installs it); pymc-marketing is not
compared (it brings PyMC and PyTensor, a compiler toolchain, for the same maximum-likelihood
numbers). Everything of ours goes through the public API (:func:`earnright.api.customers.clv_table`,
what ``earnright clv --from FILE`` runs), from raw transactions: the engine's summaries, both fits
and the scoring are in our seconds. `lifetimes` is given the summaries (it has no engine).

1. **CDNOW** (Fader, Hardie & Lee 2005): the 2,357-customer sample, 39-week calibration. Ours
   from ``CDNOW_sample.txt``; lifetimes from the authors' published summaries. Parameters beside
   the published ones, seconds, the ratio.
2. **Planted, large**: ``--customers`` (default 3.7M, the ``--stores 10000`` demo's customers)
   drawn from BG/NBD and Gamma-Gamma with known parameters (:mod:`earnright.customers.simulation`,
   purchase days as dated transactions have them), written as transactions (about 2.4 rows a
   customer). Ours on all of them with the default 100 parameter draws for the intervals (the
   issue's target: under a minute on 2 cores; wall and CPU seconds are both reported, since the
   machine may be shared). Then ours and lifetimes on the same ``--sample`` (default 10%), fit
   and 36-month value of every customer, with no draws: the like-for-like ratio.

Exits 1 when ours misses the published CDNOW parameters at their precision or differs from
lifetimes there by more than 1e-3 (relative). Writes bench/results/clv.json and clv.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earnright.api.customers import clv_table
from earnright.customers.simulation import draw_histories

BENCH = Path(__file__).resolve().parent
CDNOW = BENCH.parents[1] / "shared" / "data" / "cdnow"
PUBLISHED = {
    "r": 0.243,
    "alpha": 4.414,
    "a": 0.793,
    "b": 2.426,
    "p": 6.25,
    "q": 3.74,
    "gamma": 15.44,
}
PLANTED_BG = (0.5, 6.0, 0.7, 2.8)  # r, alpha, a, b (weeks)
PLANTED_GG = (6.0, 4.0, 15.0)  # p, q, gamma
END = pd.Timestamp("2026-09-30")


def timed(fn: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def theirs(summary: pd.DataFrame, months: int) -> tuple[dict[str, float], float]:
    """lifetimes: BG/NBD on the summaries (grouped, with weights), Gamma-Gamma on the repeat
    buyers, every customer's value over ``months``; (params, seconds)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    def run() -> dict[str, float]:
        grouped = summary.groupby(["x", "t_x", "T"]).size().reset_index(name="n")
        bg = BetaGeoFitter().fit(grouped.x, grouped.t_x, grouped["T"], weights=grouped.n)
        rep = summary[summary.x > 0]
        gg = GammaGammaFitter().fit(rep.x, rep.m)
        gg.customer_lifetime_value(bg, summary.x, summary.t_x, summary["T"], summary.m,
                                   time=months, discount_rate=0.01, freq="W")  # fmt: skip
        return {**dict(bg.params_), "p": gg.params_["p"], "q": gg.params_["q"],
                "gamma": gg.params_["v"]}  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params, wall, _ = timed(run)
    return {k: float(v) for k, v in params.items()}, wall


def ours(transactions: pd.DataFrame, end: str, draws: int) -> tuple[dict[str, Any], float, float]:
    out, wall, cpu = timed(lambda: clv_table(transactions, end, draws=draws).to_dict())
    return {**out["params"], **out["gamma_gamma"], "customers": out["customers"]}, wall, cpu


def cdnow() -> dict[str, Any]:
    names = ["master", "customer_id", "date", "cds", "amount"]
    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, names=names,
                      dtype={"customer_id": str, "date": str})  # fmt: skip
    tx = pd.DataFrame({"customer_id": raw.customer_id, "amount": raw.amount,
                       "occurred_at": pd.to_datetime(raw.date, format="%Y%m%d")})  # fmt: skip
    mine, wall, cpu = ours(tx, "1997-09-30", 0)
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    lib, lib_wall = theirs(ref.rename(columns={"zbar": "m"}), 36)
    return {"ours": mine, "lifetimes": lib, "published": PUBLISHED, "ours_seconds": wall,
            "ours_cpu_seconds": cpu, "lifetimes_seconds": lib_wall}  # fmt: skip


def transactions(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(transactions, planted summaries): ``n`` planted customers as dated purchases."""
    h = draw_histories(PLANTED_BG, n, (0.0, 52.0), days=True, seed=seed).frame
    rng = np.random.default_rng(seed + 1)
    x = h.x.to_numpy()
    who = np.repeat(np.arange(n), x + 1)
    pos = np.arange(len(who)) - np.repeat(np.cumsum(x + 1) - (x + 1), x + 1)
    t_x = h.t_x.to_numpy()[who]
    weeks = np.where(pos == x[who], t_x, rng.uniform(0, 1, len(who)) * t_x)
    weeks[pos == 0] = 0.0
    first = END - pd.to_timedelta(np.round(h["T"].to_numpy() * 7), unit="D")
    at = first.to_numpy()[who] + pd.to_timedelta(np.floor(weeks * 7), unit="D").to_numpy()
    nu = rng.gamma(PLANTED_GG[1], 1 / PLANTED_GG[2], n)
    amount = np.round(rng.gamma(PLANTED_GG[0], 1 / nu[who]), 2) + 0.01
    tx = pd.DataFrame({"customer_id": who, "occurred_at": at + np.timedelta64(10, "h"),
                       "amount": amount})  # fmt: skip
    return tx, h


def summaries_of(tx: pd.DataFrame) -> pd.DataFrame:
    """Per customer x, t_x, T (weeks), m from the transactions, as lifetimes would be given."""
    days = tx.assign(day=tx.occurred_at.dt.normalize()).groupby(["customer_id", "day"]).amount.sum()
    days = days.reset_index()
    g = days.groupby("customer_id")
    first, last, n = g.day.min(), g.day.max(), g.size()
    first_spend = days.loc[g.day.idxmin(), ["customer_id", "amount"]].set_index("customer_id")
    x = (n - 1).astype(float)
    spend = g.amount.sum() - first_spend.amount
    return pd.DataFrame({"x": x, "t_x": (last - first).dt.days / 7,
                         "T": (END - first).dt.days / 7,
                         "m": np.where(x > 0, spend / x.clip(lower=1), 0.0)})  # fmt: skip


def large(n: int, sample: int, seed: int) -> dict[str, Any]:
    tx, _ = transactions(n, seed)
    end = f"{END:%Y-%m-%d}"
    full, wall, cpu = ours(tx, end, 100)
    keep = tx.customer_id < sample
    part = tx[keep].reset_index(drop=True)
    mine, mine_wall, mine_cpu = ours(part, end, 0)
    lib, lib_wall = theirs(summaries_of(part), 36)
    planted = dict(zip(["r", "alpha", "a", "b", "p", "q", "gamma"],
                       [*PLANTED_BG, *PLANTED_GG], strict=True))  # fmt: skip
    return {"customers": n, "transactions": len(tx), "sample": sample, "planted": planted,
            "ours_full": full, "ours_full_seconds": wall, "ours_full_cpu_seconds": cpu,
            "ours_sample": mine, "ours_sample_seconds": mine_wall,
            "ours_sample_cpu_seconds": mine_cpu, "lifetimes_sample": lib,
            "lifetimes_sample_seconds": lib_wall}  # fmt: skip


def check(report: dict[str, Any]) -> list[str]:
    c, bad = report["cdnow"], []
    for k, want in PUBLISHED.items():
        digits = 3 if k in ("r", "alpha", "a", "b") else 2
        if round(c["ours"][k], digits) != want:
            bad.append(f"CDNOW {k}: ours {c['ours'][k]:.4f}, published {want}")
        if abs(c["ours"][k] / c["lifetimes"][k] - 1) > 1e-3:
            bad.append(f"CDNOW {k}: ours {c['ours'][k]:.5f}, lifetimes {c['lifetimes'][k]:.5f}")
    return bad


def write_markdown(report: dict[str, Any], path: Path) -> None:
    c, g = report["cdnow"], report["large"]
    keys = list(PUBLISHED)
    lines = ["# Lifetime value: earnright against lifetimes", "", f"{report['when']}, "
             f"{report['machine']}; load average at the start {report['load']}.", "",
             "## CDNOW (2,357 customers, 39-week calibration)", "",
             "| | " + " | ".join(keys) + " | seconds |",
             "|---" * (len(keys) + 2) + "|"]  # fmt: skip
    for name, row, sec in (("published", c["published"], None),
                           ("earnright", c["ours"], c["ours_seconds"]),
                           ("lifetimes", c["lifetimes"], c["lifetimes_seconds"])):  # fmt: skip
        cells = " | ".join(f"{row[k]:.4f}" for k in keys)
        lines.append(f"| {name} | {cells} | {'' if sec is None else f'{sec:.2f}'} |")
    ratio = c["lifetimes_seconds"] / c["ours_seconds"]
    lines += ["", f"lifetimes / earnright seconds: {ratio:.2f}", "",
              f"## Planted: {g['customers']:,} customers, {g['transactions']:,} transactions", "",
              "| | " + " | ".join(keys) + " | wall s | CPU s |",
              "|---" * (len(keys) + 3) + "|"]  # fmt: skip
    rows = (("planted", g["planted"], None, None),
            (f"earnright, all {g['customers']:,} (100 draws)", g["ours_full"],
             g["ours_full_seconds"], g["ours_full_cpu_seconds"]),
            (f"earnright, {g['sample']:,}", g["ours_sample"], g["ours_sample_seconds"],
             g["ours_sample_cpu_seconds"]),
            (f"lifetimes, {g['sample']:,}", g["lifetimes_sample"], g["lifetimes_sample_seconds"],
             None))  # fmt: skip
    for name, row, wall, cpu in rows:
        cells = " | ".join(f"{row[k]:.4f}" for k in keys)
        w = "" if wall is None else f"{wall:.1f}"
        lines.append(f"| {name} | {cells} | {w} | {'' if cpu is None else f'{cpu:.1f}'} |")
    ratio = g["lifetimes_sample_seconds"] / g["ours_sample_seconds"]
    lines += ["", f"On the same {g['sample']:,} customers, lifetimes / earnright wall seconds: "
              f"{ratio:.2f} (ours from raw transactions, lifetimes from summaries).",
              "Planted purchase times are floored to days, as dated transactions are: the "
              "continuous model's small bias from that shows at millions of customers.",
              "", "Checks: " + ("; ".join(report["failures"]) or "all passed"), ""]  # fmt: skip
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=3_700_000)
    ap.add_argument("--sample", type=int, default=None, help="customers for lifetimes (10%)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)
    n = 20_000 if args.smoke else args.customers
    sample = args.sample or max(n // 10, 2000)
    out = Path(tempfile.mkdtemp()) if args.smoke else BENCH / "results"
    report: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load": [round(v, 2) for v in os.getloadavg()],
        "cdnow": cdnow(),
        "large": large(n, sample, args.seed),
    }
    report["failures"] = check(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "clv.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, out / "clv.md")
    print((out / "clv.md").read_text())
    print("check: " + ("; ".join(report["failures"]) or "all passed"), file=sys.stderr)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
