"""Survey hygiene: planted gaming is flagged for the right signal, untouched stores almost never.

The demo company is generated, then some stores' last month is rewritten before ingestion:

- store A: 60% of its answers turned into 10s (comments, drivers, timing, counts unchanged);
- store B: every response moved to 1-3 minutes after its invitation;
- store C: both, plus extra 10s from 60% of its unanswered invitations (response rate jumps);
- store D: a *real* improvement: its answers replaced by its own best past experiences (drivers
  and comments rise with the 10s), which top_box must not flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest
import typer
from scipy import special, stats
from typer.testing import CliRunner

from earnright.cli.hygiene import register
from earnright.config import Config
from earnright.demo import generate_company
from earnright.demo.comments import CLOSERS, NEGATIVE, POSITIVE
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.listening import hygiene
from earnright.listening.hygiene import (
    HYGIENE_COLUMNS,
    HygieneReport,
    Signal,
    check_hygiene,
    genomic_inflation,
    weighted_median,
)
from earnright.services.demo import demo_config
from earnright.workspace import Workspace, init_workspace

MONTH = "2026-09"
SEED = 3
DRIVERS = ["q_staff", "q_wait", "q_stock", "q_rx", "q_clean", "q_app"]
ANSWERS = ["moment", "comment", "ltr", "osat", *DRIVERS]
KINDS = ["units", "customers", "transactions", "invitations", "feedback"]
FILES = ["units.csv", *(f"{k}.parquet" for k in KINDS[1:])]


@dataclass(frozen=True)
class Planted:
    top_box: str
    quick: str
    every: str
    improved: str

    @property
    def stores(self) -> set[str]:
        return {self.top_box, self.quick, self.every, self.improved}


def _seconds(rng: np.random.Generator, size: int) -> pd.TimedeltaIndex:
    return pd.to_timedelta(rng.integers(60, 181, size), unit="s")


def plant_gaming(data: Path, seed: int) -> Planted:
    """Rewrite the demo's feedback.parquet; returns the stores touched.

    Only the test uses the demo's id convention (response ``RS<n>`` answers invitation ``I<n>``)
    to plant; the code under test joins on customer, unit and time.
    """
    rng = np.random.default_rng(seed)
    fb = pd.read_parquet(data / "feedback.parquet")
    inv = pd.read_parquet(data / "invitations.parquet").set_index("invitation_id")
    now = fb.channel.eq("survey") & fb.responded_at.dt.strftime("%Y-%m").eq(MONTH)
    counts = fb[now].groupby("unit_id").size()
    a, b, c, d = sorted(counts[counts >= 40].index)[:4]

    def rows(unit: str) -> pd.Index:
        return fb.index[now & fb.unit_id.eq(unit)]

    def tens(unit: str) -> None:
        answered = fb.index[now & fb.unit_id.eq(unit) & fb.ltr.notna()]
        fb.loc[rng.choice(answered, round(0.6 * len(answered)), replace=False), "ltr"] = 10.0

    def quick(unit: str) -> None:
        sent = inv.sent_at.reindex("I" + fb.loc[rows(unit), "response_id"].str[2:])
        fb.loc[rows(unit), "responded_at"] = pd.DatetimeIndex(sent) + _seconds(rng, len(sent))

    tens(a), quick(b), tens(c), quick(c)
    extra = _solicited(fb, inv, c, now, rng)
    _improve(fb, d, now, seed)
    pd.concat([fb, extra], ignore_index=True).to_parquet(data / "feedback.parquet", index=False)
    return Planted(top_box=a, quick=b, every=c, improved=d)


def _solicited(
    fb: pd.DataFrame, inv: pd.DataFrame, unit: str, now: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """10s from 60% of the unit's unanswered invitations this month, 1-3 minutes after each."""
    answered = set("I" + fb.loc[fb.unit_id.eq(unit), "response_id"].str[2:])
    month = inv[inv.unit_id.eq(unit) & inv.sent_at.dt.strftime("%Y-%m").eq(MONTH)]
    chosen = month[~month.index.isin(answered)].sample(frac=0.6, random_state=1)
    new = fb[now & fb.unit_id.eq(unit)].sample(len(chosen), replace=True, random_state=2)
    new = new.assign(
        response_id=("RG" + chosen.index.str[1:]).to_numpy(),
        customer_id=chosen.customer_id.to_numpy(),
        responded_at=pd.DatetimeIndex(chosen.sent_at) + _seconds(rng, len(chosen)),
        ltr=10.0,
        osat=5.0,
    )
    return new


def _improve(fb: pd.DataFrame, unit: str, now: pd.Series, seed: int) -> None:
    """A real improvement: this month's answers drawn from the unit's best quarter of the past."""
    past = fb[fb.channel.eq("survey") & fb.unit_id.eq(unit) & ~now]
    experience = past[DRIVERS].mean(axis=1)
    best = past[experience >= experience.quantile(0.75)]
    target = fb.index[now & fb.unit_id.eq(unit)]
    donors = best.sample(len(target), replace=True, random_state=seed)
    for col in ANSWERS:
        fb.loc[target, col] = donors[col].to_numpy()


def build_workspace(root: Path, *, seed: int, plant: bool) -> tuple[Workspace, Planted | None]:
    data = root / "data"
    generate_company(data, stores=40, months=6, seed=seed)
    planted = plant_gaming(data, seed) if plant else None
    ws = init_workspace(root / "ws", demo_config())
    with ws.warehouse() as wh:
        for kind, name in zip(KINDS, FILES, strict=True):
            ingest_file(wh, ws.config, kind, data / name)
    return ws, planted


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[HygieneReport, Planted, Path]:
    root = tmp_path_factory.mktemp("hygiene")
    ws, planted = build_workspace(root, seed=SEED, plant=True)
    assert planted is not None
    with ws.warehouse(read_only=True) as wh:
        report = check_hygiene(wh, ws.config, period=MONTH)
    return report, planted, root


def flagged(report: HygieneReport) -> set[tuple[str, str]]:
    return {(r.unit_id, str(r.signal)) for r in report.flags}


def test_planted_stores_are_flagged_for_their_signals(planted_run: tuple) -> None:
    report, planted, _ = planted_run
    flags = flagged(report)
    assert {s for u, s in flags if u == planted.top_box} == {"top_box"}
    assert {s for u, s in flags if u == planted.quick} == {"quick_response"}
    assert {s for u, s in flags if u == planted.every} == {"top_box", "quick_response", "rate_jump"}
    for row in report.flags:
        assert row.q_value <= report.fdr and row.p_value <= row.q_value
        assert row.statistic > 0 and row.observed > row.reference


def test_untouched_stores_are_almost_never_flagged(planted_run: tuple) -> None:
    report, planted, _ = planted_run
    others = [r for r in report.rows if r.unit_id not in planted.stores]
    tested = {s: sum(1 for r in others if r.signal == s and np.isfinite(r.p_value)) for s in Signal}
    assert min(tested.values()) >= 30, tested  # the bound below is over many tests
    false_flags = [(r.unit_id, r.signal) for r in others if r.flagged]
    assert len(false_flags) <= 1, false_flags


def test_a_real_improvement_is_not_a_top_box_flag(planted_run: tuple) -> None:
    """Store D's 10s rose with its drivers and comments: a plain test of the 10s share would flag
    it, the standardised one must not."""
    report, planted, root = planted_run
    row = next(r for r in report.rows if r.unit_id == planted.improved and r.signal == "top_box")
    assert not row.flagged and row.p_value > 0.05, row.evidence
    fb = pd.read_parquet(root / "data" / "feedback.parquet")
    fb = fb[fb.unit_id.eq(planted.improved) & fb.channel.eq("survey") & fb.ltr.notna()]
    now = fb.responded_at.dt.strftime("%Y-%m").eq(MONTH)
    table = [[(fb.ltr[m] == 10).sum(), (fb.ltr[m] < 10).sum()] for m in (now, ~now)]
    assert stats.fisher_exact(table, alternative="greater").pvalue < 0.01  # a real jump
    assert planted.improved not in {u for u, _ in flagged(report)}


def test_without_planting_the_same_stores_are_not_flagged(
    planted_run: tuple, tmp_path: Path
) -> None:
    _, planted, _ = planted_run
    ws, _ = build_workspace(tmp_path, seed=SEED, plant=False)
    with ws.warehouse(read_only=True) as wh:
        clean = check_hygiene(wh, ws.config, period=MONTH)
    assert not {u for u, _ in flagged(clean)} & planted.stores
    assert len(clean.flags) <= 1


def test_evidence_reports_numbers_and_never_accuses(planted_run: tuple) -> None:
    report, planted, _ = planted_run
    quick = next(r for r in report.flags if r.unit_id == planted.quick)
    assert f"{quick.n:,} of {quick.n:,} survey responses (100%)" in quick.evidence
    assert "within 10 minutes" in quick.evidence
    top = next(r for r in report.flags if r.unit_id == planted.top_box)
    assert "answers were 10s in 2026-09" in top.evidence and "comments" in top.evidence
    words = ("fraud", "cheat", "gaming", "fake", "manipulat", "dishonest", "suspicious")
    for row in report.rows:
        assert not any(w in row.evidence.lower() for w in words), row.evidence
    assert any("staff" in note for note in report.notes)


def test_report_round_trips_through_json(planted_run: tuple) -> None:
    report, _, _ = planted_run
    text = json.dumps(report.to_dict(), allow_nan=False)
    again = HygieneReport.from_dict(json.loads(text))
    assert again.to_dict() == report.to_dict()
    assert again.flags[0].signal in Signal
    frame = report.to_frame()
    assert list(frame.columns) == HYGIENE_COLUMNS and frame.flagged.all()
    assert len(report.to_frame(flagged_only=False)) == 3 * len({r.unit_id for r in report.rows})


def test_untested_units_say_why(planted_run: tuple) -> None:
    report, _, _ = planted_run
    untested = [r for r in report.rows if not np.isfinite(r.p_value)]
    for row in untested:
        assert not row.flagged and not np.isfinite(row.q_value)
        assert row.evidence.startswith("Not tested")


def test_min_n_and_history_options(planted_run: tuple) -> None:
    root = planted_run[2]
    ws = Workspace(root / "ws", demo_config())
    with ws.warehouse(read_only=True) as wh:
        strict = check_hygiene(wh, ws.config, period=MONTH, min_n=1000, history=2)
        assert strict.history == ["2026-07", "2026-08"] and strict.min_n == 1000
        assert not strict.flags and all(r.evidence.startswith("Not tested") for r in strict.rows)
        with pytest.raises(QueryError, match="false discovery rate") as error:
            check_hygiene(wh, ws.config, period=MONTH, fdr=1.5)
        assert error.value.argument == "fdr"
        with pytest.raises(QueryError, match="2025-01"):
            check_hygiene(wh, ws.config, period="2025-01")
        csat_only = {"questions": [{"id": "osat", "label": "Overall", "kind": "csat", "max": 5}]}
        with pytest.raises(QueryError, match="NPS question"):
            check_hygiene(wh, Config.model_validate(csat_only), period=MONTH)
        company = check_hygiene(wh, ws.config, level="company", period=MONTH)
        assert len(company.rows) == 3 and not any(np.isfinite(r.p_value) for r in company.rows)
        latest = check_hygiene(wh, ws.config, level="district")
        assert latest.period == MONTH and latest.level == "district"


# ---------------------------------------------------------------- the statistics


def test_fisher_matches_scipy() -> None:
    k, m = np.array([3.0, 0.0, 12.0, 5.0]), np.array([7.0, 20.0, 40.0, 5.0])
    pk, pm = np.array([30.0, 8.0, 50.0, 0.0]), np.array([1500.0, 300.0, 900.0, 60.0])
    p = hygiene.fisher_p(k, m, pk, pm)
    for i in range(len(k)):
        table = [[k[i], m[i] - k[i]], [pk[i], pm[i] - pk[i]]]
        assert p[i] == pytest.approx(stats.fisher_exact(table, alternative="greater").pvalue)


def test_weighted_median() -> None:
    x = np.array([5.0, 1.0, 3.0, np.nan, 100.0])
    assert weighted_median(x, np.ones(5)) == 3.0
    assert weighted_median(x, np.array([1, 1, 1, 1, 10.0])) == 100.0
    assert weighted_median(x, np.array([10.0, 1, 1, 1, 1])) == 5.0
    assert np.isnan(weighted_median(np.array([np.nan]), np.ones(1)))


def test_genomic_inflation_recovers_the_variance_of_inflated_z() -> None:
    rng = np.random.default_rng(5)
    assert genomic_inflation(rng.normal(0, 3, 9)) == 1.0  # too few units
    assert genomic_inflation(rng.normal(0, 1, 4000)) == pytest.approx(1.0, abs=0.08)
    assert genomic_inflation(rng.normal(0, 2, 4000)) == pytest.approx(4.0, rel=0.08)
    with_outliers = np.concatenate([rng.normal(0, 1, 400), np.full(20, 30.0)])
    assert genomic_inflation(with_outliers) < 1.2  # a few extreme units do not inflate it


def test_comment_tone_reads_the_demo_comment_bank() -> None:
    """Every template of the demo's comment bank, alone and with each closing remark."""
    banks = []
    for tone, bank in enumerate((NEGATIVE, POSITIVE)):
        sentences = [s for theme in bank.values() for s in theme]
        banks.append(sentences + [f"{s} {c}" for s in sentences for c in CLOSERS[tone]])
    comments = [*banks[0], None, " ", *banks[1]]
    table = ibis.memtable({"comment": comments}, schema={"comment": "string"})
    commented, positive = hygiene.comment_tone(table.comment)
    result = table.mutate(said=commented, positive=positive).to_pandas()
    cut = len(banks[0])
    negative, blank, good = result.iloc[:cut], result.iloc[cut : cut + 2], result.iloc[cut + 2 :]
    assert good.positive.mean() >= 0.95 and negative.positive.mean() <= 0.02
    assert not blank.said.any() and negative.said.all() and good.said.all()


# ---------------------------------------------------------------- the command


def test_command_lists_the_flags_as_json_and_everything_with_all(planted_run: tuple) -> None:
    report, planted, root = planted_run
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """A group, so the command is invoked by name as in the real app."""

    def invoke(*args: str) -> Any:
        result = CliRunner().invoke(app, ["hygiene", "-w", str(root / "ws"), *args])
        assert result.exit_code == 0, result.output
        return result

    base = ["--level", "store", "--period", MONTH, "--grain", "month"]
    records = json.loads(invoke(*base, "--format", "json").stdout)
    expected = json.loads(json.dumps(report.to_frame().to_dict("records")))
    assert [r["evidence"] for r in records] == [r["evidence"] for r in expected]
    numbers = ["statistic", "p_value", "q_value", "observed", "reference"]
    for got, want in zip(records, expected, strict=True):  # sums may differ in the last bit
        assert {k: got[k] for k in numbers} == pytest.approx({k: want[k] for k in numbers})
        assert {k: v for k, v in got.items() if k not in numbers} == {
            k: v for k, v in want.items() if k not in numbers
        }
    assert {(r["unit_id"], r["signal"]) for r in records} == flagged(report)
    assert {planted.top_box, planted.quick, planted.every} <= {r["unit_id"] for r in records}
    for r in records:
        assert list(r) == HYGIENE_COLUMNS and r["period"] == MONTH and r["evidence"]
    every = json.loads(invoke(*base, "--all", "--min-n", "8", "-f", "json").stdout)
    assert len(every) == len(report.rows) and any(r["p_value"] is None for r in every)
    strict = json.loads(
        invoke(*base, "--fdr", "0.0001", "--quick-minutes", "0.5", "-f", "json").stdout
    )
    # Planted responses came 1-3 minutes after the invitation: none is within 30 seconds.
    assert {(r["unit_id"], r["signal"]) for r in strict} == {
        (planted.every, "top_box"),
        (planted.every, "rate_jump"),
    }
    none = json.loads(invoke(*base, "--history", "1", "--min-ratio", "1000", "-f", "json").stdout)
    assert "quick_response" not in {r["signal"] for r in none}
    assert (planted.every, "top_box") in {(r["unit_id"], r["signal"]) for r in none}
    table = invoke(*base)
    assert "quick_response" in table.stdout and "staff" in table.stderr
    bad = CliRunner().invoke(app, ["hygiene", "-w", str(root / "ws"), "--period", "2025-01"])
    assert bad.exit_code != 0


def test_change_z_is_standard_normal_without_change_and_finds_planted_jumps() -> None:
    """Binomial shares of 2,000 units of sizes 10-400 and their own base rates, in two periods;
    40 of them get +1.5 log-odds now (one of them huge, pushed to the ceiling)."""
    rng = np.random.default_rng(11)
    units = 2000
    before_n, now_n = rng.integers(10, 400, units), rng.integers(10, 400, units)
    base = rng.normal(-0.8, 0.8, units)
    shift = np.zeros(units)
    shift[:40] = 1.5
    now_n[0], shift[0] = 20_000, 8.0
    before_k = rng.binomial(before_n, special.expit(base))
    now_k = rng.binomial(now_n, special.expit(base + shift))
    now, before = hygiene.logit_estimate(now_k, now_n), hygiene.logit_estimate(before_k, before_n)
    tested = np.ones(units, dtype=bool)
    z, typical = hygiene.change_z(now, before, (now_n, before_n), tested)
    null = z[40:]
    assert abs(typical) < 0.05  # the planted units, even the huge one, do not move it
    assert np.mean(null**2) == pytest.approx(1.0, abs=0.1)
    assert np.mean(null > stats.norm.isf(0.05)) == pytest.approx(0.05, abs=0.015)
    assert np.mean(z[:40] > 3) > 0.9 and z[0] > 8


def test_a_unit_pushed_to_the_ceiling_does_not_set_the_typical_nps_change() -> None:
    """Its NPS variance collapses (all promoters): weighting by variance would make its change
    the typical one and every other unit's z large; effective-size weights do not."""
    n = np.array([2000.0, *[60.0] * 30])
    rng = np.random.default_rng(4)
    promoters = rng.binomial(n.astype(int), 0.5).astype(float)
    before = pd.DataFrame({"n": n, "promoters": promoters, "detractors": 0.3 * n})
    before.loc[0, ["promoters", "detractors"]] = [1800.0, 40.0]  # NPS +88 before
    now = before.copy()
    now.loc[0, ["promoters", "detractors"]] = [2000.0, 0.0]  # +100 now
    sides = hygiene.Sides([f"U{i}" for i in range(len(n))], now, before, now)
    tested = np.ones(len(n), dtype=bool)
    z, typical = hygiene.change_z(
        hygiene.nps_estimate(sides, "cur"), hygiene.nps_estimate(sides, "hist"), (n, n), tested
    )
    assert typical == pytest.approx(0.0, abs=1e-9) and z[0] > 3
    assert np.all(np.abs(z[1:]) < 1)


def test_comment_tone_is_the_sentiment_label_stored_on_ingest(
    wh: Any, config: Config, tmp_path: Path
) -> None:
    """Praise the word lists miss ("superb") is positive by the model's label; a comment with
    no label falls back on the word lists."""
    from earnright.listening.hygiene.scans import labelled_tone, with_sentiment

    texts = ["Superb, would shop here again.", "Absolutely brilliant service.", "Awful."]
    frame = pd.DataFrame({
        "response_id": ["a", "b", "c"], "unit_id": "S1", "channel": "survey",
        "responded_at": pd.Timestamp("2026-09-03"), "ltr": 9.0, "comment": texts,
    })  # fmt: skip
    frame.to_parquet(tmp_path / "fb.parquet")
    ingest_file(wh, config, "feedback", tmp_path / "fb.parquet")
    fb = wh.table("feedback")

    def positives(table: Any) -> int:
        _, positive = labelled_tone(table, wh.dialect.word_edge)
        return int(table.mutate(p=positive).p.sum().execute())

    assert positives(with_sentiment(wh, fb)) == 2  # the model's labels
    assert positives(fb) == 0  # the word lists know neither word
    wh.execute_sql("DELETE FROM comment_labels")
    assert positives(with_sentiment(wh, fb)) == 0  # no label: the word lists
