"""Outcomes recover planted effects; the difference in differences is exact on a hand example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import earnright
from earnright.demo.actions import PlantedActions


def test_planted_effects_are_recovered(planted: tuple[earnright.Workspace, PlantedActions]) -> None:
    ws, truth = planted
    got = ws.outcomes().to_frame().merge(truth.truth, on=["action_id", "unit_id"])
    measured = got[got.effect_x.notna()]
    assert len(measured) >= 12
    assert got.value.isna().all()  # no customers or transactions: no point value to price by
    # where pre-trends differ, a synthetic control is reported beside the DiD
    unlike = measured[measured.pretrend_p < 0.10]
    assert unlike.synthetic_effect.notna().all()
    assert measured[measured.pretrend_p >= 0.10].synthetic_effect.isna().all()
    covered = (measured.effect_low <= measured.effect_y) & (
        measured.effect_y <= measured.effect_high
    )
    assert covered.mean() >= 0.85
    # a verdict never points the wrong way
    assert (measured[measured.verdict == "worked"].effect_y > 0).all()
    assert (measured[measured.verdict == "made it worse"].effect_y < 0).all()
    assert (measured.verdict == "worked").any() and (measured.verdict == "made it worse").any()
    strong = measured[(measured.planted.abs() == 25) & (measured.delay == 0)]
    assert (strong.verdict != "no detectable effect").mean() >= 0.75
    # the interval is about the planted effect, not the company's drift: the naive
    # before/after is biased upward by it
    drift = (measured.naive_effect - measured.effect_y).mean()
    assert drift > 1.5 and abs((measured.effect_x - measured.effect_y).mean()) < drift


def test_recent_actions_are_too_early_with_a_date(
    planted: tuple[earnright.Workspace, PlantedActions],
) -> None:
    ws, truth = planted
    got = ws.outcomes().to_frame().set_index("action_id")
    late = truth.truth[~truth.truth.complete].action_id
    assert len(late) >= 1
    assert (got.loc[late, "verdict"] == "too early").all()
    end = pd.Timestamp(got.started_at.max())
    assert (pd.to_datetime(got.loc[late, "detectable_at"]) > end).all()
    assert got.loc[got.verdict != "too early", "comparison_units"].notna().all()


def test_pooled_estimate_per_kind(planted: tuple[earnright.Workspace, PlantedActions]) -> None:
    ws, truth = planted
    result = ws.outcomes()
    pooled = pd.DataFrame(result.pooled).set_index("kind")
    assert set(pooled.index) <= {"staffing", "training"}
    frame = result.to_frame()
    for kind, row in pooled.iterrows():
        done = truth.truth.merge(frame[frame.effect.notna()], on="action_id")
        mean_truth = done[done.kind == kind].effect_x.mean()
        assert row.effect_low - 3 <= mean_truth <= row.effect_high + 3
        assert row.actions == int((done.kind == kind).sum())


def _write(folder: Path, units: list[tuple[str, str, str, str]], answers: dict) -> None:
    pd.DataFrame(units, columns=["unit_id", "name", "level", "parent_id"]).to_csv(
        folder / "units.csv", index=False
    )
    rows = []
    for (unit, week), ltrs in answers.items():
        for i, ltr in enumerate(ltrs):
            at = pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=week, hours=i + 1)
            rows.append((f"{unit}-{week}-{i}", unit, at.isoformat(), ltr))
    pd.DataFrame(rows, columns=["response_id", "unit_id", "responded_at", "ltr"]).to_csv(
        folder / "feedback.csv", index=False
    )


def test_difference_in_differences_by_hand(tmp_path: Path) -> None:
    """A's NPS goes 0 → 50, B's 0 → 10 and C2's stays 0: the effect is 50 − 5 = 45, and the
    naive before/after 50."""
    units = [("C", "Co", "company", ""), ("R", "R", "region", "C"), ("D", "D", "district", "R")]
    units += [(s, s, "store", "D") for s in ("A", "B", "C2")]
    post = {"A": [10, 10, 10, 0] * 2, "B": [10] * 3 + [0] * 2 + [8] * 5, "C2": [10, 0] * 2 + [8]}
    answers = {}
    for week in range(12):
        for unit in ("A", "B", "C2"):
            answers[(unit, week)] = [10, 0] * 2 if week < 8 else post[unit]
    _write(tmp_path, units, answers)
    ws = earnright.create_workspace(tmp_path / "ws")
    config = tmp_path / "ws" / "earnright.toml"
    text = config.read_text().replace("pre_weeks = 12", "pre_weeks = 8")
    config.write_text(text.replace("post_weeks = 8", "post_weeks = 4"))
    ws = earnright.open_workspace(tmp_path / "ws")
    pd.DataFrame(
        [("X1", "A", "2026-03-02T09:00:00", "nps", "staffing", "ops", "ops")],
        columns=["action_id", "unit_id", "started_at", "metric", "kind", "owner", "decided_by"],
    ).to_csv(tmp_path / "actions.csv", index=False)
    for kind in ("units", "feedback", "actions"):
        ws.ingest(kind, tmp_path / f"{kind}.csv")
    (row,) = ws.outcomes().to_dict()
    assert row["effect"] == pytest.approx(45.0)
    assert row["naive_effect"] == pytest.approx(50.0)
    assert sorted(row["comparison_units"].split(",")) == ["B", "C2"]
    assert row["effect_low"] < 45 < row["effect_high"]
    assert row["pretrend_p"] is None or np.isfinite(row["pretrend_p"])


def test_weekly_statistics_of_each_kind_of_metric(tmp_path: Path) -> None:
    """NPS scores ±100/0, CSAT top-2 box 0/100, a driver's answers and spend per customer,
    summed per unit and ISO week (Monday)."""
    from earnright.accountability.metrics import weekly_stats

    units = [("C", "Co", "company", ""), ("R", "R", "region", "C"), ("D", "D", "district", "R")]
    pd.DataFrame([*units, ("A", "A", "store", "D")], columns=["unit_id", "name", "level",
                 "parent_id"]).to_csv(tmp_path / "units.csv", index=False)  # fmt: skip
    (tmp_path / "feedback.csv").write_text(
        "response_id,unit_id,responded_at,ltr,osat,q_wait\n"
        "r1,A,2026-03-02T10:00:00,10,5,4\nr2,A,2026-03-08T10:00:00,3,3,2\n"
        "r3,A,2026-03-09T10:00:00,8,4,\n"
    )
    (tmp_path / "transactions.csv").write_text(
        "transaction_id,customer_id,unit_id,occurred_at,amount\n"
        "t1,c1,A,2026-03-03,10.5\nt2,c2,A,2026-03-04,4.5\n"
    )
    ws = earnright.create_workspace(tmp_path / "ws")
    for kind in ("units", "feedback", "transactions"):
        ws.ingest(kind, tmp_path / f"{kind}.csv")
    with ws.warehouse() as wh:
        stats_of = {m: weekly_stats(wh, ws.config, m) for m in ("nps", "csat", "q_wait", "spend")}
    first, second = pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09")
    expected = {
        "nps": [(first, 2, 0.0, 20000.0), (second, 1, 0.0, 0.0)],
        "csat": [(first, 2, 100.0, 10000.0), (second, 1, 100.0, 10000.0)],
        "q_wait": [(first, 2, 6.0, 20.0)],
        "spend": [(first, 2, 15.0, 10.5**2 + 4.5**2)],
    }
    for metric, rows in expected.items():
        got = stats_of[metric]
        assert list(got.unit_id.unique()) == ["A"], metric
        assert list(zip(got.week, got.n, got.s1, got.s2, strict=True)) == rows, metric
    with ws.warehouse() as wh, pytest.raises(earnright.errors.QueryError, match="not a metric"):
        weekly_stats(wh, ws.config, "footfall")


def test_retention_and_spend_per_customer(tmp_path: Path) -> None:
    """Ten customers buy at A in the week of 2 March (c0 twice): c0–c5 come back on 20 March,
    c6 on 5 April (within 28 days of the week's end, 9 March), c7 on 10 April (too late), c8
    and c9 never. Retention that week is 7 of 10; spend is per customer (c0's two purchases are
    one observation of 15). Later weeks' follow-up has not passed by 10 April: left out."""
    from earnright.accountability.metrics import weekly_stats

    units = [("C", "Co", "company", ""), ("R", "R", "region", "C"), ("D", "D", "district", "R")]
    pd.DataFrame([*units, ("A", "A", "store", "D")], columns=["unit_id", "name", "level",
                 "parent_id"]).to_csv(tmp_path / "units.csv", index=False)  # fmt: skip
    rows = [("c0", "2026-03-02T10:00:00", 10.0), ("c0", "2026-03-04T10:00:00", 5.0)]
    rows += [(f"c{i}", "2026-03-03T10:00:00", 20.0) for i in range(1, 10)]
    rows += [(f"c{i}", "2026-03-20T10:00:00", 7.0) for i in range(6)]
    rows += [("c6", "2026-04-05T10:00:00", 7.0), ("c7", "2026-04-10T10:00:00", 7.0)]
    pd.DataFrame(
        [(f"t{i}", c, "A", at, amount) for i, (c, at, amount) in enumerate(rows)],
        columns=["transaction_id", "customer_id", "unit_id", "occurred_at", "amount"],
    ).to_csv(tmp_path / "transactions.csv", index=False)
    ws = earnright.create_workspace(tmp_path / "ws")
    for kind in ("units", "transactions"):
        ws.ingest(kind, tmp_path / f"{kind}.csv")
    with ws.warehouse() as wh:
        retention = weekly_stats(wh, ws.config, "retention")
        spend = weekly_stats(wh, ws.config, "spend")
    first = pd.Timestamp("2026-03-02")
    assert list(zip(retention.week, retention.n, retention.s1, strict=True)) == [(first, 10, 700.0)]
    week0 = spend[spend.week == first].iloc[0]
    assert (week0.n, week0.s1, week0.s2) == (10, 195.0, 15.0**2 + 9 * 20.0**2)
    assert spend[spend.week == pd.Timestamp("2026-03-16")].n.item() == 6


def test_driver_question_actions_are_measured_against_their_truth(tmp_path: Path) -> None:
    """Stores that train staff move the driver question q_staff (1–5) by a planted latent
    shift; ``earnright outcomes`` measures each on the question's answers, and its interval
    holds the exact expected change of the store's mean answer."""
    import json

    from typer.testing import CliRunner

    from earnright.cli import app
    from earnright.demo.actions import DRIVER, plant_actions

    planted = plant_actions(tmp_path / "data", seed=0, stores=8, rate=40.0, drivers=6)
    ws = earnright.create_workspace(tmp_path / "ws")
    for kind in ("units", "feedback", "actions"):
        ws.ingest(kind, tmp_path / "data" / f"{kind}.csv")
    shown = CliRunner().invoke(app, ["outcomes", "--format", "json", "--workspace", str(ws.root)])
    assert shown.exit_code == 0, shown.output
    rows = pd.DataFrame(json.loads(shown.stdout))
    got = rows[rows.metric == DRIVER].merge(planted.truth, on="action_id")
    assert len(got) == 6 and got.effect_x.notna().all()
    assert set(got.planted) >= {0.0, 0.4}  # zero and large effects are both planted
    # 95% intervals: one miss in six is as likely as not (0.26); two would be 0.03
    covered = (got.effect_low <= got.effect_y) & (got.effect_y <= got.effect_high)
    assert covered.sum() >= 5, got[["action_id", "effect_x", "effect_low", "effect_high"]]
    # a latent shift of 0.4 is about 0.37 answer points: mostly found at 40 answers a week
    assert (got[got.planted == 0.4].verdict == "worked").mean() > 0.5
    assert (got[got.planted == 0].verdict != "worked").all()
