"""The streaming detector: causality, bounded state, planted anomalies, and the NAB floor."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bench.nabscore import (
    load_corpus,
    load_profiles,
    score_corpus,
    windowed_gaussian_scores,
)

from earnright.reliability.anomaly import AnomalyDetector, DetectorParams, score_series

NAB = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nab"
THRESHOLD = DetectorParams().threshold
WEEK = 7 * 24  # hourly points in a week


def seasonal(seed: int, weeks: int = 8) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Hourly values: a daily cycle (amplitude 20), weekends 15 lower, Gaussian noise (sd 2)."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2026-01-05", periods=weeks * WEEK, freq="h")
    weekend = stamps.day_of_week.to_numpy() >= 5
    values = 100 + 20 * np.sin(2 * np.pi * (stamps.hour.to_numpy() - 6) / 24) - 15 * weekend
    return stamps, values + rng.normal(0, 2, len(stamps))


def test_scores_of_a_prefix_do_not_change_when_points_are_appended() -> None:
    stamps, values = seasonal(1, weeks=4)
    full = score_series(stamps, values)
    for cut in (50, 300, 600):
        np.testing.assert_array_equal(score_series(stamps[:cut], values[:cut]), full[:cut])


def test_state_round_trips_through_json_mid_stream() -> None:
    stamps, values = seasonal(2, weeks=4)
    whole = AnomalyDetector()
    expected = [whole.update(t, v) for t, v in zip(stamps, values, strict=True)]
    first = AnomalyDetector()
    half = len(values) // 2
    got = [first.update(t, v) for t, v in zip(stamps[:half], values[:half], strict=True)]
    restored = AnomalyDetector.from_dict(json.loads(json.dumps(first.to_dict())))
    got += [restored.update(t, v) for t, v in zip(stamps[half:], values[half:], strict=True)]
    assert got == expected


def test_state_stays_bounded_over_100k_points() -> None:
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2025-01-01", periods=100_000, freq="5min").to_pydatetime()
    values = np.sin(np.arange(100_000) / 40) + rng.standard_normal(100_000)
    detector, sizes = AnomalyDetector(), {}
    for i, (t, v) in enumerate(zip(stamps, values, strict=True), start=1):
        detector.update(t, float(v))
        if i in (20_000, 100_000):
            sizes[i] = len(json.dumps(detector.to_dict()))
    p = detector.params
    windows = 5 * (p.short_window + p.long_window)
    assert all(len(s.long) <= p.long_window for s in detector.signals.values())
    assert len(detector.slots["daily"]) <= 24 * 60 // p.slot_minutes
    assert len(detector.slots["weekly"]) <= 7 * 24
    assert sizes[100_000] <= sizes[20_000] * 1.05  # full windows: no growth with history
    assert sizes[100_000] < 30 * windows  # a few dozen bytes per kept value, nothing more


def test_missing_points_score_zero_and_are_not_learnt() -> None:
    stamps, values = seasonal(4, weeks=4)
    holed = values.copy()
    holed[[100, 101, 400]] = np.nan
    with_holes = score_series(stamps, holed)
    assert (with_holes[[100, 101, 400]] == 0.0).all()
    keep = ~np.isnan(holed)
    np.testing.assert_array_equal(with_holes[keep], score_series(stamps[keep], values[keep]))
    assert AnomalyDetector().update(stamps[0], None) == 0.0


def test_clean_seasonal_series_stays_below_the_threshold() -> None:
    # A weekly pattern (quieter weekends) cannot be known before a few weekends have been seen,
    # so scores count from the third week on: 20 series × 840 hourly points. Measured with the
    # default parameters: 5 alerts in all, highest score 0.54 (about 1 per 3,400 clean points,
    # the price of NAB's cost model, where a false alarm costs 0.11 of a missed anomaly).
    alerts, highest = 0, 0.0
    for seed in range(20):
        scores = score_series(*seasonal(seed))
        assert scores.min() >= 0.0 and scores.max() < 1.0
        alerts += int((scores[3 * WEEK :] >= THRESHOLD).sum())
        highest = max(highest, float(scores[3 * WEEK :].max()))
    assert alerts <= 10 and highest < 0.6


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_planted_spike_and_level_shift_are_alerts_at_once(seed: int) -> None:
    stamps, values = seasonal(seed)
    at = 5 * WEEK + 20
    spiked = values.copy()
    spiked[at] += 30  # 15 noise sd
    scores = score_series(stamps, spiked)
    assert scores[at] >= 0.7  # well clear of the clean series' highest score
    assert scores[at + 1 : at + WEEK // 2].max() < THRESHOLD  # the baseline is not blinded
    # a slot's mean moves only so far on one outlier: no echo a week or two later
    for later in (WEEK, 2 * WEEK):
        assert scores[at + later - 8 : at + later + 8].max() < THRESHOLD
    shifted = values.copy()
    shifted[at:] += 16  # a lasting step of 8 noise sd
    shift_scores = score_series(stamps, shifted)
    assert (shift_scores[at : at + 3] >= THRESHOLD).any()


@pytest.mark.parametrize("seed", range(5))
def test_a_seasonal_model_still_warming_up_does_not_blind_the_series(seed: int) -> None:
    """Daily points with quieter weekdays: the weekly model fits best from its fourth week but
    has too few residuals to score until about day 40. A level shift on days 33-39 must still
    be scored (it scored 0 throughout in four of these five series before)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-10-01", periods=60, freq="D")
    values = np.where(days.day_of_week >= 5, 4.0, 2.5) + rng.normal(0, 0.3, len(days))
    values[33:40] *= 2.5
    scores = score_series(days, values)
    assert scores[33:40].max() >= THRESHOLD


def test_scores_are_in_unit_interval_on_awkward_input() -> None:
    stamps = pd.date_range("2026-01-01", periods=3000, freq="h")
    flat = np.full(3000, 7.0)
    assert score_series(stamps, flat).max() == 0.0  # nothing ever changes: no alarm
    flat[2000] = 7.5
    scores = score_series(stamps, flat)
    assert scores[2000] >= THRESHOLD and math.isfinite(scores.sum())
    huge = np.r_[np.zeros(1500), np.full(1500, 1e12)]
    big = score_series(stamps, huge)
    assert big.min() >= 0.0 and big.max() < 1.0


@pytest.mark.realdata
@pytest.mark.slow
def test_nab_standard_score_beats_windowed_gaussian_and_the_measured_floor() -> None:
    if not (NAB / "labels" / "combined_windows.json").is_file():
        pytest.skip(f"{NAB} is absent: the NAB data are not on this machine")
    corpus = load_corpus(NAB)
    profiles = load_profiles(NAB / "config" / "profiles.json")
    ours = {x.name: score_series(x.timestamps, x.values) for x in corpus}
    gaussian = {x.name: windowed_gaussian_scores(x.values) for x in corpus}
    mine, base = score_corpus(corpus, ours, profiles), score_corpus(corpus, gaussian, profiles)
    for profile in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
        assert mine.score(profile) > base.score(profile) + 10, profile
    # Measured with the default parameters (docs/anomaly.md): 74.9 standard; floor with margin.
    assert mine.score("standard") > 70.0


def test_calibration_raises_the_bar_on_a_bursty_series_and_not_on_a_quiet_one() -> None:
    """A series with frequent harmless bursts (3% of points, 4-8 noise sd) is often
    surprising, so its own past surprises raise the bar: measured, 12 alerts on 10 such series
    from week 3 on instead of 59 without the calibration. On a quiet series a 15-sd spike keeps
    its score (measured: at least 0.75, at most 0.013 lower than uncalibrated)."""
    on = DetectorParams(rest_points=0)
    off = DetectorParams(rest_points=0, calibration_weight=0.0)
    at = 6 * WEEK + 5
    stamps = pd.date_range("2026-01-05", periods=8 * WEEK, freq="h")
    alerts = {"on": 0, "off": 0}
    for seed in range(10):
        rng = np.random.default_rng(seed)
        quiet = 100 + rng.normal(0, 2, len(stamps))
        bursty = quiet.copy()
        burst = rng.random(len(stamps)) < 0.03
        bursty[burst] += rng.uniform(8, 16, burst.sum())
        calibrated, raw = score_series(stamps, bursty, on), score_series(stamps, bursty, off)
        assert (calibrated <= raw + 1e-12).all()  # the calibration only ever lowers a score
        alerts["on"] += int((calibrated[3 * WEEK :] >= THRESHOLD).sum())
        alerts["off"] += int((raw[3 * WEEK :] >= THRESHOLD).sum())
        quiet[at] += 30
        spike_on, spike_off = (
            score_series(stamps, quiet, on)[at],
            score_series(stamps, quiet, off)[at],
        )
        assert spike_on >= 0.7 and spike_off - spike_on < 0.02
    assert alerts["on"] * 3 <= alerts["off"]
