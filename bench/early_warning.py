"""Benchmark: does early warning find planted failures, in the right segment, before the surveys
do, and price them right — on the demo, and on companies it was not built around?

    python bench/early_warning.py [--seeds 1 2 3 4 5] [--stores 60] [--months 12] [--random 10]
                                  [--hourly-seeds 11 12 13]
    python bench/early_warning.py --smoke     # CI: small companies, in a temp folder

Besides the demo seeds (below), it replays the independent company of
tests/reliability/company2.py, ``--random`` random plantings drawn by its generator, and its
hourly company with each of the three ``HOURS`` failures (hours long, 5-8x the budget) on
``--hourly-seeds`` (bench/planted_companies.py), and reports the four side by side: detection
rate, exact segment, false incidents per week, onset error, detection and resolution delay,
customers affected. Everything goes through the public API (``earnright.api``): detection is
``Workspace.watch`` (one cycle, nothing delivered), the incidents ``Workspace.warnings``.

For every seed, generates and ingests a demo company (cached under bench/data/early_warning/),
runs one detection pass over its whole history (``Workspace.watch``: burn-rate and anomaly alerts
on every indicator's segment series, grouped into incidents, localised and priced; the replay is
causal: each alert uses only earlier data) and scores the incidents against ``truth.json``:

- **detection rate**: planted incidents with a detected incident of the same metric whose window
  overlaps theirs; **right segment**: the detected segment names exactly the planted one
  (``platform=android&region=R03``; ``daypart=evening&district=D007``; ``district=D002``; for
  queue incidents at a few stores, every one of those stores and nothing else), compared by the
  stores and conditions named: a region that holds one district is that district.
- **false alerts per week**: detected incidents that overlap no planted incident of their metric,
  per week of data.
- **lead time over the survey signal**: for each planted incident, the first day on which the
  affected stores' survey answers to the related driver question (say ``q_rx``), from the
  incident's start to that day, are significantly below the same stores' answers in the 8 weeks
  before (one-sided Welch test, 5%), minus the day the incident was detected. Incidents whose
  survey drop never becomes significant within 60 days count with the 60 days as a lower bound.
- **revenue at risk**: the detected incident's customers affected against the truth's customers
  exposed, its measured extra churn against the planted ``churn_effect``, and its revenue at risk
  against the planted one (customers exposed × planted churn effect × the same customer value).

A second detection pass over the same data must change nothing (the replay is idempotent: no
incident opened twice, none lost). Writes bench/results/early_warning.json and .md; exits 1 when
the second pass changes the incidents, or (except with ``--smoke``) when the detection rate is
below 1.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

import planted_companies  # bench/ on sys.path
from demo_cache import SMOKE, add_folder_options, cached_demo, folders, say
from earnright.api import open_workspace
from earnright.reliability.localize import format_cause, parse_cause
from earnright.units import unit_ancestors
from earnright.warehouse import Warehouse

BASELINE_DAYS = 56
SURVEY_HORIZON_DAYS = 60
DETECTION_TABLES = ("incidents", "alerts", "outbox", "detector_state")
UNIT_LEVELS = ("company", "region", "district", "store")  # the demo's levels
ALL = "*"


def segment_cells(causes: set[str], stores_of: dict[str, set[str]]) -> set[tuple[str, str]]:
    """What a segment denotes: its (store, other conditions) pairs. Names of the same stores are
    the same segment: ``region=R01`` is ``district=D001`` when the region holds only that
    district, and a district is its stores. ``stores_of`` maps a unit (or ``ALL``) to its stores.
    """
    cells = set()
    for cause in causes:
        cond = parse_cause(cause) if cause else {}
        units = [v for d, v in cond.items() if d in UNIT_LEVELS]
        rest = format_cause({d: v for d, v in cond.items() if d not in UNIT_LEVELS})
        stores = set.intersection(*(stores_of[u] for u in units)) if units else stores_of[ALL]
        cells |= {(store, rest) for store in stores}
    return cells


def stores_by_unit(wh: Warehouse) -> dict[str, set[str]]:
    units = wh.table("units").select("unit_id", "level", "parent_id").execute()
    stores = set(units.unit_id[units.level == "store"])
    out: dict[str, set[str]] = {ALL: stores}
    for level in UNIT_LEVELS:
        for unit, ancestor in unit_ancestors(units, list(UNIT_LEVELS), level).itertuples(
            index=False
        ):
            if unit in stores:
                out.setdefault(ancestor, set()).add(unit)
    return out


def expected_causes(planted: dict[str, Any]) -> set[str]:
    """The segment a perfect localiser names for a planted incident."""
    if planted["metric"] == "queue_wait_minutes":
        return {format_cause({"store": s}) for s in planted["units"]}
    level = {"R": "region", "D": "district", "S": "store"}[planted["units"][0][0]]
    return {format_cause({**planted["segment"], level: planted["units"][0]})}


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text)


DAY = timedelta(days=1)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def _overlaps(incident: Any, planted: dict[str, Any]) -> bool:
    """Does the incident (a :class:`planted_companies.Found`) overlap the planted one? Its
    activity runs to its measured end, its resolution or its detection, the latest."""
    start, end = _day(planted["start"]), _day(planted["end"]) + timedelta(days=1)
    times = (incident.ended_at, incident.resolved_at, incident.detected_at)
    return (
        incident.metric == planted["metric"]
        and incident.started_at < end
        and max(t for t in times if t is not None) > start
    )


def survey_signal_day(wh: Warehouse, planted: dict[str, Any]) -> float:
    """Days from the planted start until the stores' driver answers drop significantly (the
    horizon when they never do), from daily sufficient statistics summed by the engine."""
    start = _day(planted["start"])
    q = planted["driver"]
    t = wh.table("feedback")
    t = t.filter(
        t.unit_id.isin(planted["stores"])
        & (t.channel == "survey")
        & t[q].notnull()
        & (t.responded_at >= start - timedelta(days=BASELINE_DAYS))
        & (t.responded_at < start + timedelta(days=SURVEY_HORIZON_DAYS))
    )
    day = t.responded_at.truncate("D")
    daily = (
        t.group_by(day=day)
        .aggregate(n=t[q].count(), s=t[q].sum(), ss=(t[q] * t[q]).sum())
        .execute()
        .sort_values("day")
    )
    offset = ((daily.day - pd.Timestamp(start)).dt.days).to_numpy()
    base = daily[offset < 0][["n", "s", "ss"]].sum()
    if base.n < 2:
        return float("nan")
    m0 = base.s / base.n
    v0 = (base.ss - base.n * m0 * m0) / (base.n - 1)
    after = daily[offset >= 0]
    n, s, ss = (after[c].cumsum().to_numpy(float) for c in ("n", "s", "ss"))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = s / n
        v1 = (ss - n * m1 * m1) / (n - 1)
        se2 = v0 / base.n + v1 / n
        tstat = (m1 - m0) / np.sqrt(se2)
        dof = se2**2 / ((v0 / base.n) ** 2 / (base.n - 1) + (v1 / n) ** 2 / (n - 1))
        p = student_t.cdf(tstat, dof)
    hits = np.flatnonzero((n >= 2) & (p < 0.05))
    if len(hits) == 0:
        return float(SURVEY_HORIZON_DAYS)
    return float(offset[offset >= 0][hits[0]] + 1)  # the day's answers are in at its end


def score_seed(
    wh: Warehouse, found: list[Any], truth: dict[str, Any], weeks: float
) -> dict[str, Any]:
    stores_of = stores_by_unit(wh)
    planted_rows, matched_ids = [], set()
    for planted in truth["incidents"]:
        hits = [i for i in found if _overlaps(i, planted)]
        matched_ids |= {i.incident_id for i in hits}
        want = expected_causes(planted)
        best = hits[0] if hits else None
        got = set(best.segment.split("; ")) if best and best.segment else set()
        start = _day(planted["start"])
        detected = (best.detected_at - start).total_seconds() / 86400 if best is not None else None
        survey = survey_signal_day(wh, planted)
        row: dict[str, Any] = {
            "planted": planted["id"],
            "metric": planted["metric"],
            "expected_segment": sorted(want),
            "detected": best is not None,
            "incident": best.incident_id if best else None,
            "segment": sorted(got),
            "right_segment": segment_cells(got, stores_of) == segment_cells(want, stores_of),
            "exact_segment": segment_cells(got, stores_of) == segment_cells(want, stores_of),
            "detected_after_days": detected,
            "onset_error_days": _days(best.started_at - start) if best else None,
            "resolution_delay_days": _days(best.resolved_at - _day(planted["end"]) - DAY)
            if best and best.resolved_at
            else None,
            "survey_signal_days": survey,
            "lead_days": survey - detected if detected is not None else None,
            "customers_exposed": planted["customers_exposed"],
            "churn_effect": planted["churn_effect"],
        }
        if best is not None:
            row |= {
                "customers_affected": best.customers_affected,
                "extra_churn": best.extra_churn,
                "extra_churn_low": best.extra_churn_low,
                "extra_churn_high": best.extra_churn_high,
                "churn_basis": best.churn_basis,
                "customer_value": best.customer_value,
                "revenue_at_risk": best.revenue_at_risk,
                "revenue_at_risk_low": best.revenue_at_risk_low,
                "revenue_at_risk_high": best.revenue_at_risk_high,
                "planted_revenue_at_risk": (
                    planted["customers_exposed"] * planted["churn_effect"] * best.customer_value
                    if best.customer_value is not None
                    else None
                ),
            }
        planted_rows.append(row)
    false = [i for i in found if i.incident_id not in matched_ids]
    return {
        "incidents": planted_rows,
        "detected_incidents": len(found),
        "false_incidents": [i.record() for i in false],
        "false_per_week": len(false) / weeks,
        "weeks": weeks,
    }


def run_seed(data: Path, seed: int, stores: int, months: int) -> dict[str, Any]:
    """Replay one demo seed through the public API: ``Workspace.watch`` twice (the second
    must change nothing) and ``Workspace.warnings``."""
    out, truth = cached_demo(data, seed, stores, months)
    ws = open_workspace(out)
    with ws.warehouse(read_only=False) as wh:
        for table in DETECTION_TABLES:  # a fresh replay every run
            wh.execute_sql(f"DELETE FROM {table}")
    started = time.monotonic()
    run = planted_companies.detect(ws)
    seconds = time.monotonic() - started
    found = planted_companies.incidents(ws)
    again = planted_companies.detect(ws)
    changed = [i.record() for i in planted_companies.incidents(ws)] != [i.record() for i in found]
    problems = [f"seed {seed}: a second pass over the same data changed the incidents"] * (
        changed or bool(again["opened"])
    )
    with ws.warehouse() as wh:
        first, last = wh.table("metrics").observed_at.min(), wh.table("metrics").observed_at.max()
        span = pd.Timestamp(last.execute()) - pd.Timestamp(first.execute())
        scored = score_seed(wh, found, truth, span.days / 7)
    say(
        f"seed {seed}: {len(run['opened']) + len(run['resolved'])} incidents from "
        f"{run['alerts']} alerts in {seconds:.1f} s"
    )
    return {"seed": seed, "detection_seconds": seconds, "problems": problems, **scored}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarise(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [row for s in seeds for row in s["incidents"]]
    detected = [r for r in rows if r["detected"]]
    leads = [r["lead_days"] for r in detected if r["lead_days"] is not None]
    observed = [r for r in detected if r.get("churn_basis") == "observed"]
    rar = [
        _ratio(r["revenue_at_risk"], r["planted_revenue_at_risk"])
        for r in observed
        if r.get("revenue_at_risk") is not None
    ]
    inside = [
        r["extra_churn_low"] <= r["churn_effect"] <= r["extra_churn_high"]
        for r in observed
        if r.get("extra_churn_low") is not None
    ]
    planted_total = sum(r["planted_revenue_at_risk"] or 0 for r in observed)
    estimated_total = sum(r["revenue_at_risk"] or 0 for r in observed)
    return {
        "planted_incidents": len(rows),
        "detection_rate": len(detected) / len(rows),
        "right_segment_rate": sum(r["right_segment"] for r in rows) / len(rows),
        "false_alerts_per_week": float(np.mean([s["false_per_week"] for s in seeds])),
        "median_lead_days": float(np.median(leads)) if leads else None,
        "min_lead_days": float(np.min(leads)) if leads else None,
        "detected_before_survey": sum(v > 0 for v in leads) / len(leads) if leads else None,
        "median_detection_delay_days": float(
            np.median([r["detected_after_days"] for r in detected])
        )
        if detected
        else None,
        "customers_affected_ratio_median": float(
            np.median([_ratio(r["customers_affected"], r["customers_exposed"]) for r in detected])
        )
        if detected
        else None,
        "revenue_at_risk_ratio_median": float(np.median(rar)) if rar else None,
        "revenue_at_risk_total_error": estimated_total / planted_total - 1
        if planted_total
        else None,
        "extra_churn_interval_coverage": float(np.mean(inside)) if inside else None,
    }


def demo_measures(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """The demo seeds' figures in the same terms as the planted companies'."""
    rows = [row for s in seeds for row in s["incidents"]]
    false = sum(len(s["false_incidents"]) for s in seeds)
    weeks = sum(s["weeks"] for s in seeds)
    ratios = [
        _ratio(r.get("customers_affected"), r["customers_exposed"]) for r in rows if r["detected"]
    ]
    kept = [r for r in ratios if r is not None]
    return {
        "companies": len(seeds),
        **planted_companies.measures(rows, false, weeks),
        "false_per_50_segment_years": None,
        "customers_affected_ratio_median": float(np.median(kept)) if kept else None,
    }


def side_by_side(report: dict[str, Any]) -> list[str]:
    columns = report["side_by_side"]
    names = list(columns)
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key in columns[names[0]]:
        cells = [columns[n].get(key) for n in names]
        lines.append(f"| {key} | " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    s = report["summary"]
    lines = [
        "# Early warning on planted failures",
        "",
        f"{report['command']} — {report['machine']}, {report['when']}",
        "",
        *side_by_side(report),
        "",
        "## The demo's planted incidents",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v) if isinstance(v, float) else v} |" for k, v in s.items()]
    lines += [
        "",
        "| seed | planted | metric | detected | right segment | lead (days) | customers affected "
        "/ exposed | extra churn (planted) | revenue at risk / planted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for seed in report["seeds"]:
        for r in seed["incidents"]:
            churn = (
                f"{r['extra_churn']:.3f} [{r['extra_churn_low']:.3f}, {r['extra_churn_high']:.3f}]"
                if r.get("extra_churn") is not None
                else "–"
            )
            lines.append(
                f"| {seed['seed']} | {r['planted']} | {r['metric']} | {r['detected']} | "
                f"{r['right_segment']} | {r['lead_days']} | "
                f"{r.get('customers_affected')} / {r['customers_exposed']} | "
                f"{churn} ({r['churn_effect']:.3f}) | "
                f"{_fmt(_ratio(r.get('revenue_at_risk'), r.get('planted_revenue_at_risk')))} |"
            )
    lines += ["", "## Planted companies", "", *planted_table(report)]
    path.write_text("\n".join(lines) + "\n")


def planted_table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| company | seed | kind | stores | platforms | planted | days | bad share | found | "
        "exact | onset error | resolution delay |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = [("independent", r) for r in report["independent_company"]]
    runs += [("random", r) for r in report["random_plantings"]]
    runs += [("hourly", r) for r in report["hourly_company"]]
    for name, run in runs:
        c = run["company"]
        for f in run["failures"]:
            lines.append(
                f"| {name} | {run['seed']} | {c['measure']} | {c['stores']} | "
                f"{','.join(c['platforms']) or '–'} | `{f['planted'] or 'everyone'}` | "
                f"{f['days'] + f.get('hours', 0) / 24:.3g} "
                f"| {f['error']} | {f['detected']} | {f['exact_segment']} | "
                f"{_cell(f['onset_error_days'])} | {_cell(f['resolution_delay_days'])} |"
            )
        for segment, start in run["false_incidents"]:
            lines.append(f"| {name} | {run['seed']} | false incident | | | `{segment}` | {start} |")
    return lines


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--stores", type=int, default=60)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument(
        "--random",
        type=int,
        default=10,
        help="random plantings: companies drawn by tests/reliability/company2.random_case",
    )
    parser.add_argument("--random-seed", type=int, default=1000, help="the first one's seed")
    parser.add_argument(
        "--hourly-seeds",
        type=int,
        nargs="+",
        default=[11, 12, 13],
        help="seeds of the hourly company (each replayed with each of its three failures)",
    )
    add_folder_options(parser, "early_warning")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.stores, args.months = SMOKE["seeds"], SMOKE["stores"], SMOKE["months"]
        args.random, args.hourly_seeds = 1, args.hourly_seeds[:1]
    with folders(args, "early_warning") as (data, output):
        return run(args, data, output)


def run(args: argparse.Namespace, data: Path, output: Path) -> int:
    seeds = [run_seed(data, seed, args.stores, args.months) for seed in args.seeds]
    company = planted_companies.independent_company()
    say(f"independent company: {company[0]['detection_seconds']:.1f} s")
    plantings = planted_companies.random_plantings(
        list(range(args.random_seed, args.random_seed + args.random))
    )
    say(f"{len(plantings)} random plantings replayed")
    hourly = planted_companies.hourly_company(args.hourly_seeds)
    say(f"hourly company: {len(hourly)} failures replayed")
    report = {
        "command": "python bench/early_warning.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "side_by_side": {
            "demo seeds": demo_measures(seeds),
            "independent company": planted_companies.summarise(company),
            "random plantings": planted_companies.summarise(plantings),
            "hourly company": planted_companies.summarise(hourly),
        },
        "summary": summarise(seeds),
        "seeds": seeds,
        "independent_company": company,
        "random_plantings": plantings,
        "hourly_company": hourly,
    }
    output.mkdir(parents=True, exist_ok=True)
    (output / "early_warning.json").write_text(json.dumps(report, indent=2, default=str))
    write_markdown(report, output / "early_warning.md")
    print(json.dumps(report["side_by_side"], indent=2))
    problems = [p for s in seeds for p in s["problems"]]
    if problems:
        say("FAIL: " + "; ".join(problems))
        return 1
    say("check: a second detection pass over the same data changed nothing")
    return 0 if args.smoke or report["summary"]["detection_rate"] == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
