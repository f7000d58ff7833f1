"""Benchmark: do the focus lists name the planted deficits of the demo company?

    python bench/focus.py [--seeds 1 2 3 4 5] [--stores 60] [--months 12]
    python bench/focus.py --smoke     # CI: one small company, seconds, in a temporary folder

For every seed, generates and ingests a demo company (``earnright.services.demo.run_demo``; cached
under bench/data/focus/), then runs ``compute_focus`` for every store at the end of every quarter
(2025-12, 2026-03, 2026-06, 2026-09: four disjoint three-month windows; those the demo covers,
only the last with ``--smoke``)
with the default settings and a few variants, and scores the lists against ``truth.json``:

- **precision at 3**: of the items listed for a store (at most three), the share that are planted
  weak drivers (``weak_drivers``); per store, averaged over stores with at least one item
  (``precision``), and over all items pooled (``precision_items``). Only stores with at least 30
  NPS answers in the window count (``eligible``).
- **recall**: of the planted weak drivers of eligible stores, the share listed (``recall``), and
  the same with at most three per store counted (``recall_at_3``).
- **nothing credible**: eligible stores told there is nothing credible to fix, how many of them
  have no planted weak driver, and how many eligible stores have none.
- **worth** (default settings): the expected NPS gain of each listed item against the true gain
  under the planted answer model (raise the store's driver latent until its expected answer rises
  by the observed gap; the NPS gain of the ltr latent shift, over the store's responses in the
  window by month and moment): median ratio, correlation, mean absolute error.
- **comments** (default settings): the share of comments shown whose demo theme is the item's
  driver.
- **time**: ``compute_focus`` for all stores, and for one store.

The variants must agree: variants over the same window measure the same gaps (an item listed by
two of them has the same gap, interval, means and n), a smaller margin never gives a larger
p-value, and one store's list equals its entry of all stores' lists.

Writes bench/results/focus.json and focus.md; exits 1 if the variants disagree, or (except with
``--smoke``) if the default precision is below 0.8.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from demo_cache import SMOKE, add_folder_options, cached_demo, folders, say  # bench/ on sys.path
from earnright.demo import answers
from earnright.demo.comments import NEGATIVE, POSITIVE, THEMES
from earnright.listening.focus import FocusList, compute_focus
from earnright.warehouse import Warehouse
from earnright.workspace import find_workspace

PERIODS = ("2025-12", "2026-03", "2026-06", "2026-09")
ELIGIBLE = 30  # NPS answers in the window
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "one month": {"window": 1},
    "six months": {"window": 6},
    "no margin": {"margin": 0.0},
    "margin 0.2": {"margin": 0.2},
    "no FDR": {"fdr": False},
}
SAME_WINDOW = ("default", "no margin", "margin 0.2", "no FDR")  # the margin: 0.1 (default), 0, 0.2
MEASURED = ("gap", "gap_low", "gap_high", "store_mean", "peer_mean", "n", "peer_n")


def disagreements(lists: dict[str, list[FocusList]], where: str) -> list[str]:
    """Where variants over the same window measured different gaps, or a smaller margin gave a
    larger p-value."""
    problems = []
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for name in SAME_WINDOW:
        for f in lists[name]:
            for item in f.items:
                items.setdefault((f.unit_id, item.driver), {})[name] = item
    for (unit, driver), seen in items.items():
        first = next(iter(seen.values()))
        for name, item in seen.items():
            for field in MEASURED:
                if not np.isclose(getattr(item, field), getattr(first, field), rtol=1e-9):
                    problems.append(f"{where} {unit} {driver}: {field} differs in {name!r}")
        p = [seen[v].p_value for v in ("no margin", "default", "margin 0.2") if v in seen]
        if p != sorted(p):
            problems.append(f"{where} {unit} {driver}: a smaller margin gave a larger p-value")
    return problems


def score_lists(lists: list[FocusList], truth: dict[str, Any], top: int = 3) -> dict[str, Any]:
    """Precision, recall and 'nothing credible' counts of one call's lists."""
    precision, hits, items, weak_total, weak_found, weak_cap = [], 0, 0, 0, 0, 0
    nothing = nothing_clean = clean = eligible = 0
    for f in lists:
        if f.n < ELIGIBLE:
            continue
        eligible += 1
        weak = set(truth["weak_drivers"][f.unit_id])
        clean += not weak
        listed = [i.driver for i in f.items]
        right = sum(d in weak for d in listed)
        if listed:
            precision.append(right / len(listed))
            hits, items = hits + right, items + len(listed)
        else:
            nothing += 1
            nothing_clean += not weak
        weak_total, weak_found = weak_total + len(weak), weak_found + right
        weak_cap += min(len(weak), top)
    return {
        "eligible": eligible,
        "stores_listed": len(precision),
        "items": items,
        "precision_sum": float(sum(precision)),
        "hits": hits,
        "weak": weak_total,
        "weak_found": weak_found,
        "weak_cap": weak_cap,
        "nothing": nothing,
        "nothing_clean": nothing_clean,
        "clean": clean,
    }


def summarise(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = {k: sum(p[k] for p in parts) for k in parts[0]}
    return {
        "precision": total["precision_sum"] / max(total["stores_listed"], 1),
        "precision_items": total["hits"] / max(total["items"], 1),
        "recall": total["weak_found"] / max(total["weak"], 1),
        "recall_at_3": total["weak_found"] / max(total["weak_cap"], 1),
        "eligible": total["eligible"],
        "nothing_credible": total["nothing"],
        "nothing_credible_without_weak": total["nothing_clean"],
        "without_weak": total["clean"],
        "items_per_listed_store": total["items"] / max(total["stores_listed"], 1),
    }


def answer_rise(shift: float, latent: float, target: float) -> float:
    """Expected answer of a driver whose latent mean is ``latent + shift``, minus ``target``."""
    return float(answers.expected_answer(np.array(latent + shift))) - target


def true_gains(lists: list[FocusList], truth: dict[str, Any], wh: Warehouse) -> pd.DataFrame:
    """Estimated and true NPS gain of every item: raise the driver's mean answer by the gap."""
    model = truth["answer_model"]
    fb = wh.table("feedback")
    fb = fb.filter(fb.channel == "survey")
    month = fb.responded_at.truncate("M").name("month")
    mix = fb.group_by([fb.unit_id, month, fb.moment]).aggregate(count=fb.count()).to_pandas()
    mix["period"] = pd.to_datetime(mix["month"]).dt.strftime("%Y-%m")
    periods, rows = truth["periods"], []
    for f in lists:
        weights, latent = (
            truth["driver_weights"][f.unit_id],
            truth["driver_latent_means"][f.unit_id],
        )
        sd = np.sqrt(sum(w * w for w in weights.values()) + model["ltr_noise_sd"] ** 2)
        part = sum((latent[q] - model["driver_reference"][q]) * w for q, w in weights.items())
        mine = mix[(mix.unit_id == f.unit_id) & mix.period.between(f.window_start, f.window_end)]
        intercept = truth["store_month_intercept"][f.unit_id]
        offsets = model["moment_offsets"]
        mean = part + np.array(
            [intercept[periods.index(r.period)] + offsets[r.moment] for r in mine.itertuples()]
        )
        share = mine["count"].to_numpy(float) / mine["count"].sum()
        for item in f.items:
            mu = latent[item.driver]
            target = float(answers.expected_answer(np.array(mu))) - item.gap
            if target >= 4.999 or item.expected_nps_gain is None:
                continue
            dz = brentq(answer_rise, 0.0, 10.0, args=(mu, target))
            shift = weights[item.driver] * dz
            gain = share @ (answers.expected_nps(mean + shift, sd) - answers.expected_nps(mean, sd))
            rows.append({"unit_id": f.unit_id, "driver": item.driver, "gap": item.gap,
                         "estimate": item.expected_nps_gain, "truth": float(gain)})  # fmt: skip
    return pd.DataFrame(rows)


def comment_themes(lists: list[FocusList], questions: list[str]) -> tuple[int, int]:
    """(comments shown, comments whose demo theme is the item's driver)."""
    theme_of = {}
    for theme in THEMES:
        for sentence in (*NEGATIVE[theme], *POSITIVE[theme]):
            theme_of[sentence] = theme
    driver_theme = dict(zip(questions, THEMES, strict=True))
    shown = right = 0
    for f in lists:
        for item in f.items:
            for c in item.comments:
                sentence = next((s for s in theme_of if c.text.startswith(s)), None)
                shown += 1
                right += sentence is not None and theme_of[sentence] == driver_theme[item.driver]
    return shown, right


def periods_of(truth: dict[str, Any]) -> list[str]:
    """The quarter ends of PERIODS whose whole three-month window the demo covers."""
    months = truth["periods"]
    return [p for p in PERIODS if p in months and months.index(p) >= 2]


def run_seed(data: Path, seed: int, stores: int, months: int, smoke: bool) -> dict[str, Any]:
    root, truth = cached_demo(data, seed, stores, months)
    ws = find_workspace(root)
    out: dict[str, Any] = {"scores": {v: [] for v in VARIANTS}, "gains": [], "timings": []}
    periods = periods_of(truth)[-1:] if smoke else periods_of(truth)
    out |= {"comments": [0, 0], "problems": [], "periods": periods}
    with ws.warehouse(read_only=True) as wh:
        for period in periods:
            lists = {}
            for name, options in VARIANTS.items():
                started = time.perf_counter()
                lists[name] = compute_focus(wh, ws.config, period=period, **options)
                elapsed = time.perf_counter() - started
                out["scores"][name].append(score_lists(lists[name], truth))
                if name == "default":
                    out["timings"].append(elapsed)
                    out["gains"].append(true_gains(lists[name], truth, wh))
                    shown, right = comment_themes(lists[name], truth["questions"])
                    out["comments"] = [out["comments"][0] + shown, out["comments"][1] + right]
            out["problems"] += disagreements(lists, f"seed {seed} {period}")
        alone = lists["default"][0]
        started = time.perf_counter()
        (unit,) = compute_focus(wh, ws.config, unit=alone.unit_id, period=periods[-1])
        out["unit_seconds"] = time.perf_counter() - started
        if unit.model_dump_json() != alone.model_dump_json():
            out["problems"].append(f"seed {seed}: {unit.unit_id} alone differs from its entry")
    return out


def gain_summary(frame: pd.DataFrame) -> dict[str, float]:
    ratio = frame["estimate"] / frame["truth"]
    return {
        "items": len(frame),
        "median_ratio": float(ratio.median()),
        "ratio_q25": float(ratio.quantile(0.25)),
        "ratio_q75": float(ratio.quantile(0.75)),
        "correlation": float(np.corrcoef(frame["estimate"], frame["truth"])[0, 1]),
        "mean_abs_error": float((frame["estimate"] - frame["truth"]).abs().mean()),
        "mean_truth": float(frame["truth"].mean()),
        "mean_estimate": float(frame["estimate"].mean()),
    }


def markdown(report: dict[str, Any]) -> str:
    p = report["parameters"]
    lines = [
        "# Focus lists against the demo's planted weak drivers",
        "",
        f"{len(p['seeds'])} demo companies (seeds {', '.join(map(str, p['seeds']))}; "
        f"{p['stores']} stores, {p['months']} months), focus at {', '.join(p['periods'])}; "
        f"stores with at least {ELIGIBLE} NPS answers in the window. Run `{p['command']}`.",
        "",
        "| variant | precision at 3 | precision (items) | recall | recall at 3 | eligible "
        "| nothing credible | of which no weak driver | stores without weak driver "
        "| items per listed store |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in report["variants"].items():
        lines.append(
            f"| {name} | {s['precision']:.3f} | {s['precision_items']:.3f} | {s['recall']:.3f} "
            f"| {s['recall_at_3']:.3f} | {s['eligible']} | {s['nothing_credible']} "
            f"| {s['nothing_credible_without_weak']} | {s['without_weak']} "
            f"| {s['items_per_listed_store']:.2f} |"
        )
    lines += ["", "Default precision at 3 per seed: " + ", ".join(
        f"{seed}: {v:.3f}" for seed, v in report["precision_by_seed"].items()
    ) + "."]  # fmt: skip
    g = report["worth"]
    lines += [
        "",
        "## Expected NPS gain against the planted answer model (default settings)",
        "",
        f"{g['items']} items: median estimate ÷ truth {g['median_ratio']:.2f} (quartiles "
        f"{g['ratio_q25']:.2f}–{g['ratio_q75']:.2f}), correlation {g['correlation']:.2f}, mean "
        f"absolute error {g['mean_abs_error']:.1f} points (mean true gain "
        f"{g['mean_truth']:.1f}, mean estimate {g['mean_estimate']:.1f}).",
        "",
        f"Comments shown: {report['comments']['shown']}, on the item's demo theme: "
        f"{report['comments']['on_theme']:.3f}.",
        "",
        f"Time (median over runs): all stores {report['seconds_all']:.2f} s, one store "
        f"{report['seconds_unit']:.2f} s, on {report['machine']}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--stores", type=int, default=60)
    parser.add_argument("--months", type=int, default=12)
    add_folder_options(parser, "focus")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.stores, args.months = SMOKE["seeds"], SMOKE["stores"], SMOKE["months"]
    with folders(args, "focus") as (data, output):
        return run(args, data, output)


def run(args: argparse.Namespace, data: Path, output: Path) -> int:
    runs = {}
    for seed in args.seeds:
        started = time.monotonic()
        runs[seed] = run_seed(data, seed, args.stores, args.months, args.smoke)
        say(f"seed {seed}: scored in {time.monotonic() - started:.1f} s")
    variants = {v: summarise([s for r in runs.values() for s in r["scores"][v]]) for v in VARIANTS}
    shown = sum(r["comments"][0] for r in runs.values())
    command = "python bench/focus.py --seeds " + " ".join(map(str, args.seeds))
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.python_version()} {platform.system()}",
        "parameters": {"seeds": args.seeds, "stores": args.stores, "months": args.months,
                       "periods": next(iter(runs.values()))["periods"], "eligible": ELIGIBLE,
                       "command": command},
        "variants": variants,
        "variant_options": VARIANTS,
        "precision_by_seed": {
            s: summarise(r["scores"]["default"])["precision"] for s, r in runs.items()
        },
        "worth": gain_summary(pd.concat([g for r in runs.values() for g in r["gains"]])),
        "comments": {"shown": shown, "on_theme": sum(r["comments"][1] for r in runs.values())
                     / max(shown, 1)},
        "seconds_all": float(np.median([t for r in runs.values() for t in r["timings"]])),
        "seconds_unit": float(np.median([r["unit_seconds"] for r in runs.values()])),
    }  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    (output / "focus.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "focus.md").write_text(markdown(report))
    print(markdown(report))
    problems = [p for r in runs.values() for p in r["problems"]]
    if problems:
        say("FAIL: the variants disagree:\n  " + "\n  ".join(problems[:20]))
        return 1
    say("check: the variants over one window measure the same gaps; one store = its entry")
    return 0 if args.smoke or variants["default"]["precision"] >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
