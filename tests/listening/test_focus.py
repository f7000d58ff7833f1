"""Focus lists: Welch gaps against scipy, credibility, worth against the planted answer model,
comments, messages, and precision at 3 against the demo company's planted weak drivers."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq
from scipy.special import ndtr

import earnright.listening.focus as focus
import earnright.listening.focus.gaps as gaps
from earnright.config import Config, Question, Theme
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.listening.focus import (
    FocusList,
    compute_focus,
    driver_keywords,
    focus_frame,
    nps_after_shift,
)
from earnright.warehouse import Warehouse
from earnright.workspace import init_workspace

UNITS = """unit_id,name,level,parent_id
C,Acme,company,
R1,North,region,C
D1,District One,district,R1
D2,District Two,district,R1
S1,Store 1,store,D1
S2,Store 2,store,D1
S3,Store 3,store,D1
S4,Store 4,store,D1
S5,Store 5,store,D2
S6,Store 6,store,D2
"""
LABELS = {
    "q_wait": "Time waiting at the checkout",
    "q_staff": "Friendliness and help from staff",
    "q_clean": "Cleanliness and tidiness of the store",
}
# Planted latent means in Jul-Sep 2026 (others 4.0); S6 answers only twice.
PLANTED = {("S1", "q_wait"): 2.6, ("S1", "q_clean"): 3.5, ("S5", "q_staff"): 3.0}
WEIGHTS = {"q_wait": 1.0, "q_staff": 0.6, "q_clean": 0.4}
ASKS = {"checkout": "q_wait q_staff", "visit": "q_staff q_clean", "counter": "q_staff"}
QUEUE = "The queue at the till was far too long."
RUDE = "The staff were rude and did not help."
BOTH = "Long queue at the till, and the staff were rude and no help."


def _config() -> Config:
    questions = [
        {"id": "ltr", "label": "Likelihood to recommend", "kind": "nps", "min": 0, "max": 10}
    ] + [{"id": q, "label": label} for q, label in LABELS.items()]
    moments = [
        {"id": m, "name": m.title(), "owner": owner, "questions": ASKS[m].split()}
        for m, owner in (("checkout", "store-ops"), ("visit", "store-ops"), ("counter", "pharmacy"))
    ]
    stages = [{"id": m["id"], "name": m["name"], "moments": [m]} for m in moments]
    return Config.model_validate({"questions": questions, "journey": {"stages": stages}})


def _store_rows(store: str, n: int, start: str, days: int, rng: np.random.Generator) -> Any:
    late = start >= "2026-07"
    z = {q: 4.0 + (PLANTED.get((store, q), 4.0) - 4.0) * late + rng.standard_normal(n)
         for q in LABELS}  # fmt: skip
    answers = {q: np.clip(np.round(v), 1, 5) for q, v in z.items()}
    latent = -0.6 + sum(WEIGHTS[q] * answers[q] for q in LABELS) + rng.standard_normal(n)
    frame = pd.DataFrame(
        {
            "unit_id": store,
            "responded_at": pd.Timestamp(start)
            + pd.to_timedelta(rng.integers(0, days * 86400, n), "s"),
            "channel": "survey",
            "moment": rng.choice(["checkout", "visit", "counter"], n),
            "ltr": np.clip(np.floor(latent), 0, 10),
            **answers,
        }
    )  # fmt: skip
    for q in LABELS:  # a moment asks only its questions
        asked = frame.moment.map(
            lambda m, q=q: (
                q
                in {"checkout": "q_wait q_staff", "visit": "q_staff q_clean", "counter": "q_staff"}[
                    m
                ].split()
            )
        )
        frame.loc[~asked, q] = np.nan  # fmt: skip
    comment = np.where(frame.q_wait <= 2, QUEUE, np.where(frame.q_staff <= 2, RUDE, None))
    comment = np.where((frame.q_wait <= 2) & (frame.q_staff <= 2), BOTH, comment)
    return frame.assign(comment=comment)


def _feedback() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    parts = []
    for store in ("S1", "S2", "S3", "S4", "S5"):
        parts.append(_store_rows(store, 400, "2026-07-01", 92, rng))
        parts.append(_store_rows(store, 400, "2025-10-01", 273, rng))  # history: no deficit
    parts.append(_store_rows("S6", 2, "2026-09-01", 20, rng))
    frame = pd.concat(parts, ignore_index=True)
    return frame.assign(response_id=[f"r{i:05d}" for i in range(len(frame))])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Config, Any]]:
    root = tmp_path_factory.mktemp("focus")
    config = _config()
    ws = init_workspace(root / "ws", config)
    (root / "units.csv").write_text(UNITS)
    frame = _feedback()
    frame.to_parquet(root / "fb.parquet")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        assert ingest_file(wh, ws.config, "feedback", root / "fb.parquet").accepted == len(frame)
        yield wh, ws.config, frame


@pytest.fixture(scope="module")
def lists(small: tuple[Warehouse, Config, Any]) -> dict[str, FocusList]:
    wh, config, _ = small
    return {f.unit_id: f for f in compute_focus(wh, config, period="2026-09")}


def _window(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame.responded_at >= "2026-07-01") & (frame.responded_at < "2026-10-01")]


# -- gaps and credibility ----------------------------------------------------------------------
def test_gap_interval_and_p_value_equal_scipys_welch_test(
    small: tuple[Warehouse, Config, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    wh, config, frame = small
    monkeypatch.setattr(gaps, "SMOOTHING", 0)  # plain Welch: the store's own variance
    (found,) = compute_focus(wh, config, unit="S1", period="2026-09", margin=0.1)
    now = _window(frame)
    for item in found.items:
        mine = now[now.unit_id == "S1"][item.driver].dropna().to_numpy()
        peers = now[now.unit_id.isin(["S2", "S3", "S4"])][item.driver].dropna().to_numpy()
        two = stats.ttest_ind(mine, peers, equal_var=False)
        low, high = two.confidence_interval(0.95)
        one = stats.ttest_ind(mine + 0.1, peers, equal_var=False, alternative="less")
        assert (item.n, item.peer_n) == (len(mine), len(peers))
        assert item.store_mean == pytest.approx(mine.mean(), abs=1e-12)
        assert item.peer_mean == pytest.approx(peers.mean(), abs=1e-12)
        assert (item.gap_low, item.gap_high) == pytest.approx((low, high), abs=1e-9)
        assert item.p_value == pytest.approx(one.pvalue, rel=1e-6)


def test_planted_gaps_are_listed_most_valuable_first(lists: dict[str, FocusList]) -> None:
    s1 = lists["S1"]
    assert [i.driver for i in s1.items] == ["q_wait", "q_clean"]
    wait, clean = s1.items
    assert wait.gap_high < -0.1 and clean.gap_high < -0.1 and wait.gap < clean.gap
    assert wait.expected_nps_gain > clean.expected_nps_gain > 0
    assert wait.owner == "store-ops" and [m.id for m in wait.moments] == ["checkout"]
    assert wait.label == LABELS["q_wait"] and 0 < wait.importance < 1 and wait.slope > 0
    assert wait.sentence.startswith(f"Customers rate “{LABELS['q_wait']}” ")
    assert "below similar stores in District One" in wait.sentence
    assert f"(n={wait.n}); closing that gap is worth about +" in wait.sentence
    assert wait.sentence.endswith("Owner: store-ops.")
    assert s1.message == "2 things to focus on in 2026-07 to 2026-09."
    assert (s1.window_start, s1.window_end, s1.peer_id) == ("2026-07", "2026-09", "D1")


def test_staff_is_owned_by_the_team_most_of_its_moments_name(lists: dict[str, FocusList]) -> None:
    (staff,) = lists["S5"].items
    assert staff.driver == "q_staff" and staff.owner == "store-ops"
    assert [m.owner for m in staff.moments] == ["store-ops", "store-ops", "pharmacy"]


def test_a_lone_store_is_compared_with_its_region(lists: dict[str, FocusList]) -> None:
    s5 = lists["S5"]  # S6 answered twice: D2 has no second store with answers, so R1
    assert s5.peer_id == "R1" and s5.peer_name == "North"
    assert s5.items[0].peer_n > 3 * s5.items[0].n


def test_the_window_leaves_older_answers_out(
    small: tuple[Warehouse, Config, Any], lists: dict[str, FocusList]
) -> None:
    _, _, frame = small
    now = _window(frame)
    wait = lists["S1"].items[0]
    assert wait.store_mean == pytest.approx(now[now.unit_id == "S1"].q_wait.mean(), abs=1e-12)
    assert lists["S1"].n == now[now.unit_id == "S1"].ltr.notna().sum()


def test_stores_without_a_credible_gap_are_told_so(lists: dict[str, FocusList]) -> None:
    for unit in ("S2", "S3", "S4"):
        assert lists[unit].items == []
        assert lists[unit].message.startswith("Nothing credible to fix: no driver is credibly ")
        assert "more than 0.1 points below similar stores in District One" in lists[unit].message
    assert lists["S6"].items == [] and lists["S6"].message.startswith("Too few answers")


def test_margin_fdr_and_top(small: tuple[Warehouse, Config, Any]) -> None:
    wh, config, _ = small

    def drivers(**options: Any) -> list[str]:
        (found,) = compute_focus(wh, config, unit="S1", period="2026-09", **options)
        return [i.driver for i in found.items]

    assert drivers(margin=0.5) == ["q_wait"]  # q_clean is planted 0.3 below
    assert drivers(top=1) == ["q_wait"]
    assert set(drivers(margin=0.0, fdr=False)) >= {"q_wait", "q_clean"}


# -- comments --------------------------------------------------------------------------------
def test_comments_come_from_low_scorers_and_match_the_theme(lists: dict[str, FocusList]) -> None:
    wait = lists["S1"].items[0]
    assert len(wait.comments) == 3
    assert all(c.text == QUEUE and c.answer <= 2 for c in wait.comments)  # BOTH is a tie: left
    (staff,) = lists["S5"].items
    assert staff.comments and all(c.text == RUDE and c.answer <= 3 for c in staff.comments)
    assert lists["S1"].items[1].comments == []  # no comment on cleanliness


def test_comments_are_limited(small: tuple[Warehouse, Config, Any]) -> None:
    wh, config, _ = small
    (one,) = compute_focus(wh, config, unit="S1", period="2026-09", comments=1)
    assert [len(i.comments) for i in one.items] == [1, 0]
    (none,) = compute_focus(wh, config, unit="S1", period="2026-09", comments=0)
    assert all(i.comments == [] for i in none.items)


def test_keywords_come_from_the_label_and_the_synonyms() -> None:
    wait = driver_keywords(Question(id="q_wait", label=LABELS["q_wait"]))
    assert {"wait", "checkout", "queue", "till"} <= set(wait) and "app" not in wait
    clean = driver_keywords(Question(id="q_clean", label=LABELS["q_clean"]))
    assert {"clean", "dirty", "messy"} <= set(clean) and "store" not in clean
    app = driver_keywords(Question(id="q_app", label="Ordering ahead in the app worked smoothly"))
    assert {"order", "app", "crash"} <= set(app) and "queue" not in app
    hours = driver_keywords(Question(id="q_hours", label="Opening hours suit me"))
    assert hours == ["open", "hour", "suit"]  # no theme group: the label's own words


# -- the unit, the frame, JSON, errors ----------------------------------------------------------
def _close(a: Any, b: Any) -> bool:
    """Equal, floats within 1e-9 (the engine's parallel sums may differ in the last bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=1e-12))
    return bool(a == b)


def test_one_unit_equals_its_entry_of_all(
    small: tuple[Warehouse, Config, Any], lists: dict[str, FocusList]
) -> None:
    wh, config, _ = small
    (s1,) = compute_focus(wh, config, unit="S1", period="2026-09")
    assert _close(s1.to_dict(), lists["S1"].to_dict())
    assert not _close(s1.to_dict(), lists["S5"].to_dict())


def test_importance_of_some_units_is_their_rows_of_every_units(
    small: tuple[Warehouse, Config, Any],
) -> None:
    """Focus fits the key drivers only of the units with a gap to value: each unit is fitted
    apart, so their rows are those of the fit of every unit."""
    from earnright.listening.focus.worth import driver_importance

    wh, config, _ = small
    every = driver_importance(wh, config, "store", None, 0)
    some = driver_importance(wh, config, "store", None, 0, units={"S1", "S5"})
    assert set(every.unit_id) > {"S1", "S5"} and set(some.unit_id) == {"S1", "S5"}
    mine = every[every.unit_id.isin(["S1", "S5"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(some.reset_index(drop=True), mine, rtol=1e-12)


def test_results_round_trip_through_json(lists: dict[str, FocusList]) -> None:
    for found in lists.values():
        text = json.dumps(found.to_dict())
        assert FocusList.model_validate_json(text) == found
    frame = focus_frame(list(lists.values()))
    assert list(frame.columns) == focus.FRAME_COLUMNS
    assert len(frame) == 2 + 1 + 4  # S1 two items, S5 one, four stores without
    assert frame.loc[frame.unit_id == "S1", "item"].tolist() == [1, 2]


def test_user_errors(small: tuple[Warehouse, Config, Any]) -> None:
    wh, config, _ = small
    with pytest.raises(QueryError, match="not in the units table"):
        compute_focus(wh, config, unit="S99")
    with pytest.raises(QueryError, match="top level"):
        compute_focus(wh, config, level="company")
    with pytest.raises(QueryError, match="is a store, not a district"):
        compute_focus(wh, config, unit="S1", level="district")
    with pytest.raises(QueryError, match="at least 1"):
        compute_focus(wh, config, top=0)
    with pytest.raises(QueryError, match="not a month"):
        compute_focus(wh, config, period="2026-Q3")


# -- NPS after a shift, against the planted answer model ------------------------------------------
def test_nps_after_shift_starts_at_the_answers_nps_and_ends_at_100() -> None:
    counts = np.array([1, 0, 0, 2, 0, 3, 5, 8, 9, 12, 20])
    expected = 100 * (counts[9:].sum() - counts[:7].sum()) / counts.sum()
    assert nps_after_shift(counts, 0.0) == pytest.approx(expected, abs=1e-12)
    assert nps_after_shift(counts, 11.0) == pytest.approx(100.0, abs=1e-12)
    assert nps_after_shift(np.eye(11)[6], 3.0) == pytest.approx(100.0, abs=1e-12)
    both = nps_after_shift(np.stack([counts, counts[::-1]]), np.array([0.0, 0.0]))
    assert both[0] == pytest.approx(expected) and both[1] < 0


def test_the_smooth_distribution_is_scipys_pchip() -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 30, (40, 11)).astype(float)
    counts[::4, 2] = counts[::5, 0] = counts[::6, 10] = counts[::7, 1] = 0
    share = counts / counts.sum(axis=1, keepdims=True)
    x = rng.uniform(0, 11, 40)
    knots = np.concatenate([np.zeros((40, 1)), np.cumsum(share, axis=1)], axis=1)
    expected = [PchipInterpolator(np.arange(12.0), k)(v) for k, v in zip(knots, x, strict=True)]
    np.testing.assert_allclose(focus.smooth_cdf(share, x), expected, atol=1e-12)


@pytest.mark.parametrize(("mean", "sd"), [(8.5, 1.9), (7.0, 2.5), (9.4, 1.6), (9.4, 1.86)])
def test_nps_after_shift_recovers_a_shift_of_a_normal_latent(mean: float, sd: float) -> None:
    """ltr = floor(L) clipped to 0..10 with L normal (the demo's answer model): the NPS after
    shifting L by s is 100 (P(L + s ≥ 9) − P(L + s < 7)). Read from the answers alone, the gain
    is within 0.3 points and 3.5% (uniform within each answer it would be up to 15% low)."""
    edges = np.arange(1.0, 11.0)
    counts = np.diff(np.concatenate([[0.0], ndtr((edges - mean) / sd), [1.0]]))
    before = 100 * (ndtr((mean - 9) / sd) - ndtr((7 - mean) / sd))
    assert nps_after_shift(counts, 0.0) == pytest.approx(before, abs=1e-9)
    for shift in (0.3, 0.7, 1.5):
        truth = 100 * (ndtr((mean + shift - 9) / sd) - ndtr((7 - mean - shift) / sd)) - before
        gain = nps_after_shift(counts, shift) - before
        assert gain == pytest.approx(truth, abs=0.3, rel=0.035)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=11, max_size=11).filter(lambda c: sum(c) > 0),
    st.floats(0, 5),
    st.floats(0, 5),
)
def test_nps_after_shift_never_falls_and_stays_in_range(
    counts: list[int], a: float, b: float
) -> None:
    low, high = sorted((a, b))
    before, after = nps_after_shift(np.array(counts), np.array([low, high]))
    assert -100 <= before <= after + 1e-9 <= 100 + 1e-9


# -- the demo company: planted weak drivers and the true worth of closing a gap -----------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("demo") / "ws", stores=60, months=12, seed=7)
    return run.workspace, json.loads(run.truth.read_text())


def _true_gain(truth: dict[str, Any], unit: str, driver: str, gap: float) -> float:
    """The planted model's NPS gain of raising the driver's mean answer by −gap (a typical
    month and moment mix: the store's mean intercept, moments weighted as app users')."""
    from earnright.demo import answers

    model = truth["answer_model"]
    weights, latent = truth["driver_weights"][unit], truth["driver_latent_means"][unit]
    sd = np.sqrt(sum(w * w for w in weights.values()) + model["ltr_noise_sd"] ** 2)
    part = sum((latent[q] - model["driver_reference"][q]) * w for q, w in weights.items())
    probs = model["moment_probabilities"]["app_user"]
    mean = np.mean(truth["store_month_intercept"][unit][-3:]) + part
    means = np.array([mean + model["moment_offsets"][m] for m in probs])
    share = np.array(list(probs.values()))
    target = float(answers.expected_answer(np.array(latent[driver]))) - gap
    dz = brentq(
        lambda d: float(answers.expected_answer(np.array(latent[driver] + d))) - target, 0, 9
    )
    shift = weights[driver] * dz
    return float(
        share @ (answers.expected_nps(means + shift, sd) - answers.expected_nps(means, sd))
    )


@pytest.mark.slow
def test_demo_focus_names_the_planted_weak_drivers(demo: tuple[Path, dict[str, Any]]) -> None:
    """Measured (bench/focus.py, seeds 1-5, four quarters each): precision at 3 about 0.92."""
    from earnright.workspace import find_workspace

    root, truth = demo
    ws = find_workspace(root)
    precision, hits, weak, nothing = [], 0, 0, 0
    estimates, truths = [], []
    with ws.warehouse(read_only=True) as wh:
        for period in ("2026-03", "2026-06", "2026-09"):
            for f in compute_focus(wh, ws.config, period=period):
                if f.n < 30:
                    continue
                planted = set(truth["weak_drivers"][f.unit_id])
                listed = [i.driver for i in f.items]
                assert len(listed) <= 3 and (listed or f.message.startswith("Nothing credible"))
                if listed:
                    precision.append(np.mean([d in planted for d in listed]))
                nothing += not listed
                hits, weak = hits + len(planted & set(listed)), weak + len(planted)
                if period == "2026-09":
                    for i in f.items:
                        estimates.append(i.expected_nps_gain)
                        truths.append(_true_gain(truth, f.unit_id, i.driver, i.gap))
    assert np.mean(precision) >= 0.8
    assert hits / weak >= 0.45  # recall
    assert 0 < nothing < len(precision) + nothing
    ratio = np.array(estimates) / np.array(truths)
    assert 0.7 <= np.median(ratio) <= 1.2
    assert np.corrcoef(estimates, truths)[0, 1] >= 0.7


def test_peers_of_a_window_without_answers_is_empty_not_a_crash() -> None:
    """A window with invitations but no survey answers gave a TypeError ('sub', str, int64)."""
    units = pd.read_csv(io.StringIO(UNITS), dtype="string")
    levels = ["company", "region", "district", "store"]
    empty = pd.Series([], dtype="int64", index=pd.Index([], dtype="string", name="unit_id"))
    peers = focus.peer_groups(units, levels, "store", empty, 5)
    assert peers.empty and list(peers.columns) == ["unit_id", "peer_id", "peer_level"]


# -- calibration: a null company (no store differs from its peers) ------------------------------
NULL_DISTRICTS, NULL_PER_DISTRICT, NULL_N = 80, 20, 60  # 1,600 stores, 60 answers each
NULL_SD = {"calm": 0.6, "spread": 1.4}  # answer spread around 3 (same mean: no true gap)
ALPHA = 0.025  # one-sided level of the gap test (the 95% interval's upper side)


def _null_units() -> str:
    lines = ["unit_id,name,level,parent_id", "C,Acme,company,", "R1,North,region,C"]
    for d in range(NULL_DISTRICTS):
        lines.append(f"D{d:03d},District {d},district,R1")
        for s in range(NULL_PER_DISTRICT):
            lines.append(f"S{d:03d}{s:02d},Store {d}-{s},store,D{d:03d}")
    return "\n".join(lines) + "\n"


def _null_class(unit: str) -> str:
    """Half of each district's stores answer tightly, half widely: variances differ, means don't."""
    return "calm" if int(unit[-2:]) % 2 == 0 else "spread"


def _null_feedback(rng: np.random.Generator) -> pd.DataFrame:
    """Every driver answer: round(3 + N(0, sd)) clipped to 1..5, symmetric, so its mean is 3 at
    every store: no true gap anywhere."""
    stores = [f"S{d:03d}{s:02d}" for d in range(NULL_DISTRICTS) for s in range(NULL_PER_DISTRICT)]
    unit = np.repeat(stores, NULL_N)
    sd = np.array([NULL_SD[_null_class(u)] for u in unit])
    frame = {
        "response_id": [f"r{i:07d}" for i in range(len(unit))],
        "unit_id": unit,
        "responded_at": pd.Timestamp("2026-07-01")
        + pd.to_timedelta(rng.integers(0, 92 * 86400, len(unit)), "s"),
        "channel": "survey",
        "moment": "checkout",
        "ltr": rng.integers(0, 11, len(unit)).astype(float),
    }
    for q in LABELS:
        frame[q] = np.clip(np.rint(3 + rng.normal(0, 1, len(unit)) * sd), 1, 5)
    return pd.DataFrame(frame)


@pytest.fixture(scope="module")
def null(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Config]]:
    root = tmp_path_factory.mktemp("null")
    ws = init_workspace(root / "ws", _config())
    (root / "units.csv").write_text(_null_units())
    _null_feedback(np.random.default_rng(1)).to_parquet(root / "fb.parquet")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "units", root / "units.csv")
        ingest_file(wh, ws.config, "feedback", root / "fb.parquet")
        yield wh, ws.config


def _bounds(tests: int, rate: float = ALPHA) -> tuple[float, float]:
    """Nominal ± 3 binomial standard errors."""
    se = np.sqrt(rate * (1 - rate) / tests)
    return rate - 3 * se, rate + 3 * se


@pytest.mark.slow
def test_null_company_at_the_defaults_lists_at_most_alpha_of_stores(
    null: tuple[Warehouse, Config],
) -> None:
    """No true gap: a store listed is a false discovery. At the defaults (margin 0.1, BH across a
    store's drivers) the share of stores told to fix something is at most 2.5% + 3 SE."""
    wh, config = null
    lists = compute_focus(wh, config, period="2026-09", comments=0)
    assert len(lists) == NULL_DISTRICTS * NULL_PER_DISTRICT
    assert all(f.n == NULL_N and f.peer_id and f.peer_id.startswith("D") for f in lists)
    listed = np.mean([bool(f.items) for f in lists])
    assert listed <= _bounds(len(lists))[1]


@pytest.mark.slow
def test_null_gap_tests_hold_their_size_whatever_the_stores_spread(
    null: tuple[Warehouse, Config],
) -> None:
    """At the boundary of the null (margin 0, no true gap) each one-sided gap test rejects 2.5%
    of the time, among stores answering tightly and among stores answering widely alike: the
    variance moderation (SMOOTHING pseudo-answers of the peers' variance) must not borrow so much
    that a wide store's variance is understated (too many rejections) or a tight store's
    overstated (too few)."""
    wh, config = null
    lists = compute_focus(wh, config, period="2026-09", margin=0.0, fdr=False, comments=0)
    for spread in NULL_SD:
        mine = [f for f in lists if _null_class(f.unit_id) == spread]
        tests = len(mine) * len(LABELS)
        rejected = sum(len(f.items) for f in mine)
        low, high = _bounds(tests)
        assert low <= rejected / tests <= high, (spread, rejected / tests, (low, high))


# -- comments by theme -----------------------------------------------------------------------
SLOW = "It took ages before anyone served me."  # no keyword of q_wait: only its theme finds it


def test_a_driver_with_a_theme_takes_the_comments_of_that_theme(tmp_path: Path) -> None:
    """With a theme naming q_wait as its question, the evidence is the comments labelled with
    it; the keyword path (no themes) cannot see these words."""
    frame = _feedback()
    frame["comment"] = frame.comment.replace({QUEUE: SLOW, BOTH: SLOW})
    frame.to_parquet(tmp_path / "fb.parquet")
    (tmp_path / "units.csv").write_text(UNITS)
    themes = [
        {"name": "waiting", "question": "q_wait", "description": "waiting to be served",
         "examples": ["took ages to get served", "a long queue at the till"]},
        {"name": "staff", "question": "q_staff", "description": "rude or helpful staff"},
    ]  # fmt: skip
    config = _config().model_copy(update={"themes": [Theme.model_validate(t) for t in themes]})
    ws = init_workspace(tmp_path / "ws", config)
    with ws.warehouse() as wh:
        ingest_file(wh, config, "units", tmp_path / "units.csv")
        ingest_file(wh, config, "feedback", tmp_path / "fb.parquet")
        (themed,) = compute_focus(wh, config, unit="S1", period="2026-09")
        (words,) = compute_focus(wh, _config(), unit="S1", period="2026-09")
    wait = themed.items[0]
    assert wait.driver == "q_wait" and len(wait.comments) == 3
    assert all(c.text == SLOW and c.answer <= 2 for c in wait.comments)
    assert words.items[0].driver == "q_wait" and words.items[0].comments == []
