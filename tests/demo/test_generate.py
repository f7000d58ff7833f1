"""The demo generator: determinism, and planted truth that agrees with the data it wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from earnright.demo import DEMO_JOURNEY, DEMO_QUESTIONS, GeneratedCompany, generate_company
from earnright.demo.comments import NEGATIVE, POSITIVE, THEMES

DATA_FILES = (
    "units.csv",
    "customers.parquet",
    "transactions.parquet",
    "invitations.parquet",
    "feedback.parquet",
    "metrics.parquet",
    "actions.csv",
)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCompany:
    return generate_company(tmp_path_factory.mktemp("demo"), stores=40, months=3, seed=11)


@pytest.fixture(scope="module")
def truth(company: GeneratedCompany) -> dict[str, Any]:
    return json.loads(company.truth.read_text())


@pytest.fixture(scope="module")
def survey(company: GeneratedCompany) -> pd.DataFrame:
    feedback = pd.read_parquet(company.feedback)
    rows = feedback[feedback["channel"] == "survey"].copy()
    rows["period"] = rows["responded_at"].dt.strftime("%Y-%m")
    return rows


@pytest.fixture(scope="module")
def store_month(truth: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(truth["store_month"]).set_index(["unit_id", "period"])


def _incident_stores(truth: dict[str, Any]) -> set[str]:
    return {s for incident in truth["incidents"] for s in incident["stores"]}


def test_same_seed_gives_identical_bytes_and_another_seed_other_data(tmp_path: Path) -> None:
    runs = [
        generate_company(tmp_path / name, stores=12, months=2, seed=seed)
        for name, seed in (("a", 3), ("b", 3), ("c", 4))
    ]
    for name in (*DATA_FILES, "truth.json"):
        first, again, other = ((r.out_dir / name).read_bytes() for r in runs)
        assert first == again, name
        if name not in ("units.csv", "actions.csv"):  # two months: too short for actions
            assert first != other, name


def test_writes_every_file_with_its_row_count(company: GeneratedCompany) -> None:
    assert set(company.files) == {*DATA_FILES, "truth.json"}
    for name, path in company.files.items():
        if name.endswith(".parquet"):
            assert pq.ParquetFile(path).metadata.num_rows == company.rows[name] > 0
    units = pd.read_csv(company.units, keep_default_na=False)
    assert len(units) == company.rows["units.csv"]


def test_truth_has_one_line_per_store_month_and_reads_back_as_written(
    company: GeneratedCompany, truth: dict[str, Any]
) -> None:
    from earnright.demo.truth import dumps

    text = company.truth.read_text()
    assert json.loads(dumps(truth)) == truth
    lines = text.splitlines()
    records = [line for line in lines if line.lstrip().startswith('{"csat"')]
    assert len(records) == len(truth["store_month"]) == 40 * 3
    assert all(json.loads(line.strip().rstrip(",")) in truth["store_month"] for line in records)
    assert lines[1].startswith('  "actions": ')  # sorted keys, indented


def test_units_form_a_hierarchy_known_to_the_truth(
    company: GeneratedCompany, truth: dict[str, Any]
) -> None:
    units = pd.read_csv(company.units, keep_default_na=False)
    assert list(units.columns) == ["unit_id", "name", "level", "parent_id"]
    level = dict(zip(units["unit_id"], units["level"], strict=True))
    parent_level = {"region": "company", "district": "region", "store": "district"}
    for row in units.itertuples():
        if row.level == "company":
            assert row.parent_id == ""
        else:
            assert level[row.parent_id] == parent_level[row.level]
    stores = set(units.loc[units["level"] == "store", "unit_id"])
    assert len(stores) == truth["stores"] == 40
    for key in ("store_quality", "response_rate", "driver_weights", "driver_means"):
        assert set(truth[key]) == stores, key
    assert {(s, p) for s in stores for p in truth["periods"]} == set(
        (r["unit_id"], r["period"]) for r in truth["store_month"]
    )
    assert truth["periods"] == ["2026-07", "2026-08", "2026-09"]
    assert truth["questions"] == list(DEMO_QUESTIONS)
    assert truth["moments"] == [m["id"] for s in DEMO_JOURNEY for m in s["moments"]]


def test_store_month_counts_equal_the_files(
    company: GeneratedCompany, survey: pd.DataFrame, store_month: pd.DataFrame
) -> None:
    invitations = pd.read_parquet(company.invitations)
    transactions = pd.read_parquet(company.transactions)
    for name, frame, column in (
        ("responses", survey, "responded_at"),
        ("invitations", invitations, "sent_at"),
        ("transactions", transactions, "occurred_at"),
    ):
        period = frame[column].dt.strftime("%Y-%m")
        counts = frame.groupby([frame["unit_id"], period]).size()
        expected = counts.reindex(store_month.index, fill_value=0)
        assert (expected == store_month[name]).all(), name
        assert counts.sum() == store_month[name].sum(), name


def test_store_sizes_range_from_tens_to_hundreds_of_responses(store_month: pd.DataFrame) -> None:
    assert (store_month["responses"] <= 30).any()
    assert (store_month["responses"] >= 200).any()


def test_sample_nps_of_large_store_months_is_within_three_se_of_truth(
    survey: pd.DataFrame, store_month: pd.DataFrame
) -> None:
    answered = survey.dropna(subset=["ltr"])
    grouped = answered.groupby(["unit_id", "period"])["ltr"]
    promoters = grouped.apply(lambda x: (x >= 9).mean())
    detractors = grouped.apply(lambda x: (x <= 6).mean())
    n = grouped.size()
    big = n.index[n >= 200]
    assert len(big) >= 2
    nps = 100 * (promoters - detractors)[big]
    p, d = promoters[big], detractors[big]
    se = 100 * np.sqrt((p + d - (p - d) ** 2) / n[big])
    assert ((nps - store_month.loc[big, "nps"]).abs() <= 3 * se).all()
    assert store_month["nps"].between(-100, 100).all()
    assert store_month["csat"].between(0, 1).all()


def test_store_driver_means_match_the_truth(survey: pd.DataFrame, truth: dict[str, Any]) -> None:
    """Stores untouched by incidents answer each driver around its planted mean."""
    hit = _incident_stores(truth)
    checked = 0
    for q in truth["questions"]:
        stats = survey.dropna(subset=[q]).groupby("unit_id")[q].agg(["mean", "std", "size"])
        stats = stats[(stats["size"] >= 30) & ~stats.index.isin(hit)]
        expected = pd.Series({s: m[q] for s, m in truth["driver_means"].items()})[stats.index]
        se = stats["std"] / np.sqrt(stats["size"])
        assert ((stats["mean"] - expected).abs() <= 4 * se).all(), q
        checked += len(stats)
    assert checked >= 50


def test_planted_weak_drivers_score_below_the_company(
    survey: pd.DataFrame, truth: dict[str, Any]
) -> None:
    company_mean = survey[truth["questions"]].mean()
    sizes = survey.groupby("unit_id").size()
    checked = 0
    for store in sizes.index[sizes >= 300]:
        answers = survey.loc[survey["unit_id"] == store, truth["questions"]]
        for q in truth["weak_drivers"][store]:
            assert answers[q].mean() < company_mean[q], (store, q)
            checked += 1
    assert checked >= 3


def test_incidents_are_visible_in_their_segment_of_the_metrics(
    company: GeneratedCompany, truth: dict[str, Any]
) -> None:
    metrics = pd.read_parquet(company.metrics)
    day = metrics["observed_at"].dt.strftime("%Y-%m-%d")
    assert truth["incidents"]
    for incident in truth["incidents"]:
        rows = (metrics["metric"] == incident["metric"]) & metrics["unit_id"].isin(
            incident["stores"]
        )
        for dim, value in incident["segment"].items():
            assert value in set(metrics.loc[rows, dim])
            rows &= metrics[dim] == value
        inside = rows & day.between(incident["start"], incident["end"])
        outside = rows & ~inside
        assert inside.any() and outside.any()
        if incident["metric"] == "app_errors":
            sums = [metrics.loc[m, ["good", "total"]].sum() for m in (inside, outside)]
            rate = [1 - s["good"] / s["total"] for s in sums]
            assert rate[0] > 5 * rate[1] and rate[0] > 0.03, incident["id"]
        elif incident["metric"] == "out_of_stock_rate":
            gap = metrics.loc[inside, "value"].mean() - metrics.loc[outside, "value"].mean()
            assert gap > 0.05, incident["id"]
        else:
            ratio = metrics.loc[inside, "value"].mean() / metrics.loc[outside, "value"].mean()
            assert ratio > 1.5, incident["id"]


def test_incidents_record_exposed_customers_and_their_extra_lapses(truth: dict[str, Any]) -> None:
    expected = 0.0
    lapsed = 0
    for incident in truth["incidents"]:
        assert 0.03 <= incident["churn_effect"] <= 0.10
        assert 0 <= incident["extra_lapses"] <= incident["customers_exposed"]
        expected += incident["churn_effect"] * incident["customers_exposed"]
        lapsed += incident["extra_lapses"]
    assert expected >= 20
    assert abs(lapsed - expected) <= 4 * np.sqrt(expected) + 0.1 * expected


def test_responses_follow_their_invitations(
    company: GeneratedCompany, survey: pd.DataFrame
) -> None:
    invitations = pd.read_parquet(company.invitations)
    linked = survey.assign(invitation_id="I" + survey["response_id"].str[2:]).merge(
        invitations, on="invitation_id", suffixes=("", "_inv"), validate="one_to_one"
    )
    assert len(linked) == len(survey)
    assert (linked["customer_id"] == linked["customer_id_inv"]).all()
    assert (linked["unit_id"] == linked["unit_id_inv"]).all()
    assert (linked["responded_at"] >= linked["sent_at"]).all()
    first_sent = invitations.groupby(["customer_id", "unit_id"])["sent_at"].min()
    first_response = survey.groupby(["customer_id", "unit_id"])["responded_at"].min()
    assert (first_response >= first_sent.reindex(first_response.index)).all()


def test_ids_are_unique(company: GeneratedCompany) -> None:
    for path, column in (
        (company.transactions, "transaction_id"),
        (company.feedback, "response_id"),
        (company.invitations, "invitation_id"),
        (company.customers, "customer_id"),
    ):
        ids = pq.read_table(path, columns=[column])[column].to_pandas()
        assert ids.is_unique, column
        assert ids.notna().all(), column


def _bank_index() -> list[tuple[str, int, int]]:
    return [
        (sentence, THEMES.index(theme), tone)
        for tone, bank in enumerate((NEGATIVE, POSITIVE))
        for theme, sentences in bank.items()
        for sentence in sentences
    ]


def test_comments_agree_with_the_answers(survey: pd.DataFrame, truth: dict[str, Any]) -> None:
    bank = _bank_index()
    questions = truth["questions"]
    rows = survey.dropna(subset=["comment", "ltr"])
    rows = rows[rows[questions].notna().any(axis=1)].head(400)
    assert len(rows) >= 100
    for row in rows.itertuples():
        (theme, tone) = next((t, n) for s, t, n in bank if row.comment.startswith(s))
        answers = pd.Series({q: getattr(row, q) for q in questions}).dropna()
        if row.ltr >= 9:
            assert tone == 1
        if row.ltr <= 6:
            assert tone == 0
        extreme = answers.min() if tone == 0 else answers.max()
        assert answers[questions[theme]] == extreme, row.comment


def test_progress_reports_every_store(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_company(tmp_path, stores=10, months=1, progress=lambda *a: calls.append(a))
    stores = [c for c in calls if c[0] == "stores"]
    assert stores[0] == ("stores", 0, 10) and stores[-1] == ("stores", 10, 10)
    assert [c[1] for c in stores] == sorted(c[1] for c in stores)
    assert calls[-1] == ("truth", 1, 1)


def test_rejects_a_malformed_end_month(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="2026-09"):
        generate_company(tmp_path, end_month="Sept 2026")
