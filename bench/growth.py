"""Benchmark: are the demo's planted loyalty effects and values of a point recovered?

    python bench/growth.py [--seeds 1 2 3 4 5 6 7 8] [--stores 12] [--months 24]
    python bench/growth.py --smoke    # CI: one company (12 stores, 12 months), in a temp folder

For every seed, generates and ingests a demo company (``earnright.services.demo.run_demo``,
cached under bench/data/growth/), runs ``Workspace.loyalty()`` (the public API; what
``earnright loyalty --format json`` prints) and scores it against ``truth.json``'s ``loyalty``:

- **exact**: n, retention and spend per NPS group equal the generator's own tally;
- **coverage**: how often the 95% intervals cover the planted differences from promoters
  (retained and spend, detractors and passives) and the chain's value of one NPS point per
  customer (−the detractors' planted spend difference ÷ 100); with the mean bias and width;
- **baseline**: the same for the unadjusted difference of group means (Welch normal interval),
  what one would report without adjusting for prior behaviour and the home store.

No parameter is tuned. Writes bench/results/growth.json and growth.md; exits 1 if the exact
check fails (every run) or (except with ``--smoke``) if a quantity's coverage is below 0.6.
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

from demo_cache import add_folder_options, cached_demo, folders, say  # bench/ on sys.path
from earnright.api import open_workspace
from earnright.stats import Z95

QUANTITIES = [
    ("detractor", "retained"),
    ("detractor", "spend"),
    ("passive", "retained"),
    ("passive", "spend"),
]


def _baseline(groups: dict[str, dict[str, Any]], group: str, outcome: str) -> tuple[float, ...]:
    """Unadjusted difference of means from promoters and its normal 95% interval."""
    g, p = groups[group], groups["promoter"]

    def se(row: dict[str, Any]) -> float:
        return (row[f"{outcome}_high"] - row[f"{outcome}_low"]) / (2 * Z95)

    diff = g[outcome] - p[outcome]
    half = Z95 * float(np.hypot(se(g), se(p)))
    return diff, diff - half, diff + half


def score_seed(workspace: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """One company: exactness, and per quantity (estimate, low, high, planted) both ways."""
    started = time.monotonic()
    result = open_workspace(workspace).loyalty().to_dict()
    seconds = time.monotonic() - started
    planted = truth["loyalty"]
    groups = {r["group"]: r for r in result["groups"] if r["question"] == "ltr"}
    exact = all(
        groups[g]["n"] == t["n"]
        and abs(groups[g]["retained"] - t["retained"]) < 1e-6
        and abs(groups[g]["spend"] - t["spend"]) < 1e-4 * max(1.0, t["spend"])
        for g, t in planted["groups"].items()
    )
    rows = []
    for group, outcome in QUANTITIES:
        r, true = groups[group], planted["difference_from_promoters"][group][outcome]
        adjusted = (r[f"{outcome}_diff"], r[f"{outcome}_diff_low"], r[f"{outcome}_diff_high"])
        rows.append(
            {"quantity": f"{group} {outcome}", "planted": true, "adjusted": adjusted,
             "baseline": _baseline(groups, group, outcome)}
        )  # fmt: skip
    chain = next(
        v for v in result["point_values"]
        if v["question"] == "ltr" and v["unit_id"] == "all" and v["moment"] == "all"
    )  # fmt: skip
    true_point = -planted["difference_from_promoters"]["detractor"]["spend"] / 100
    point = (chain["per_customer"], chain["per_customer_low"], chain["per_customer_high"])
    base = _baseline(groups, "detractor", "spend")
    rows.append(
        {"quantity": "value of a point per customer", "planted": true_point, "adjusted": point,
         "baseline": tuple(-v / 100 for v in (base[0], base[2], base[1]))}
    )  # fmt: skip
    return {"exact": exact, "respondents": result["respondents"], "seconds": seconds, "rows": rows}


def summarise(seeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per quantity and method: coverage, mean bias and mean interval width over the seeds."""
    out = []
    for k in range(len(seeds[0]["rows"])):
        name = seeds[0]["rows"][k]["quantity"]
        entry: dict[str, Any] = {"quantity": name}
        for method in ("adjusted", "baseline"):
            vals = [(s["rows"][k][method], s["rows"][k]["planted"]) for s in seeds]
            cover = np.mean([lo <= t <= hi for (_, lo, hi), t in vals])
            bias = np.mean([e - t for (e, _, _), t in vals])
            width = np.mean([hi - lo for (_, lo, hi), _ in vals])
            entry[method] = {"coverage": float(cover), "bias": float(bias), "width": float(width)}
        entry["planted_mean"] = float(np.mean([s["rows"][k]["planted"] for s in seeds]))
        out.append(entry)
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Growth: planted loyalty effects and values of a point",
        "",
        f"{report['command']} — {len(report['seeds'])} seed(s), {report['stores']} stores, "
        f"{report['months']} months; exact group tallies: {report['exact']}.",
        "",
        "| quantity | planted (mean) | coverage adjusted | coverage baseline | bias adjusted "
        "| bias baseline | width adjusted / baseline |",
        "|---|---|---|---|---|---|---|",
    ]
    for q in report["summary"]:
        a, b = q["adjusted"], q["baseline"]
        lines.append(
            f"| {q['quantity']} | {q['planted_mean']:.3f} | {a['coverage']:.2f} | "
            f"{b['coverage']:.2f} | {a['bias']:+.3f} | {b['bias']:+.3f} | "
            f"{a['width'] / b['width']:.2f} |"
        )
    lines += ["", f"Mean time of `Workspace.loyalty()`: {report['loyalty_seconds']:.1f} s.", ""]
    return "\n".join(lines)


def run(args: argparse.Namespace, data: Path, output: Path) -> int:
    seeds, stores, months = args.seeds, args.stores, args.months
    if args.smoke:
        seeds, stores, months = [1], 12, 12
    scored = []
    for seed in seeds:
        workspace, truth = cached_demo(data, seed, stores, months)
        scored.append(score_seed(workspace, truth) | {"seed": seed})
        say(f"seed {seed}: {scored[-1]['respondents']:,} respondents")
    summary = summarise(scored)
    report = {
        "command": "python bench/growth.py" + (" --smoke" if args.smoke else ""),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "stores": stores,
        "months": months,
        "seeds": scored,
        "exact": all(s["exact"] for s in scored),
        "summary": summary,
        "loyalty_seconds": float(np.mean([s["seconds"] for s in scored])),
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "growth.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "growth.md").write_text(markdown(report))
    print(markdown(report))
    say(f"check: exact group tallies {report['exact']}")
    low = [q["quantity"] for q in summary if q["adjusted"]["coverage"] < 0.6]
    if not report["exact"] or (low and not args.smoke):
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--stores", type=int, default=12)
    parser.add_argument("--months", type=int, default=24)
    add_folder_options(parser, "growth")
    args = parser.parse_args()
    with folders(args, "growth") as (data, output):
        return run(args, data, output)


if __name__ == "__main__":
    sys.exit(main())
