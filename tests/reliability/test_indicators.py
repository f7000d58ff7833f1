"""Reliability indicators: exact numbers on hand-made metrics, and planted incidents recovered."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from earnright.config import Config, Indicator, Reliability
from earnright.errors import ConfigError, QueryError
from earnright.ingest import ingest_file
from earnright.reliability.budget import FRAME_COLUMNS, ReliabilityReport, rate_segment
from earnright.reliability.indicators import (
    ALERT_COLUMNS,
    SERIES_COLUMNS,
    burn_rate_alerts,
    compute_reliability,
    indicator_series,
)
from earnright.warehouse import Warehouse
from earnright.workspace import find_workspace

D = datetime(2026, 9, 1)  # day 1 of the hand-made data
DAY = timedelta(days=1)


def indicator(**fields: Any) -> Indicator:
    base: dict[str, Any] = {"id": "short_wait", "metric": "wait", "measure": "threshold"}
    base |= {"threshold": 10.0, "target": 0.9, "window": "4d", "dimensions": ["store"]}
    return Indicator.model_validate(base | fields)


def settings(**fields: Any) -> Reliability:
    fast = {"name": "fast", "long": "2d", "short": "1d", "factor": 2.0, "severity": "page"}
    base: dict[str, Any] = {"step": "1d", "min_events": 5, "at_risk_budget": 0.6}
    return Reliability.model_validate(base | {"burn_alerts": [fast]} | fields)


def make_config(*indicators: Indicator, reliability: Reliability | None = None) -> Config:
    moment = {"id": "checkout", "name": "Checkout", "owner": "store-ops"}
    moment["indicators"] = [i.model_dump() for i in indicators]  # type: ignore[assignment]
    return Config.model_validate(
        {
            "journey": {"stages": [{"id": "pay", "name": "I pay", "moments": [moment]}]},
            "reliability": (reliability or settings()).model_dump(),
        }
    )


def load_metrics(wh: Warehouse, tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "metrics.csv"
    path.write_text("\n".join(lines) + "\n")
    result = ingest_file(wh, Config(), "metrics", path)
    assert result.quarantined == 0


def wait_rows() -> list[str]:
    """Days 1-4: S1 and S2 five readings a day, S3 one. Bad (above 10 minutes): S1 three on
    day 4, S2 one on day 1, S3 every reading. Plus one row of another metric."""
    lines = ["observed_at,metric,unit_id,value"]
    for day in range(4):
        at = D + day * DAY
        for h in range(5):
            stamp = (at + timedelta(hours=8 + h)).isoformat()
            lines.append(f"{stamp},wait,S1,{15.0 if day == 3 and h < 3 else 5.0}")
            lines.append(f"{stamp},wait,S2,{12.0 if day == 0 and h == 0 else 4.0}")
        lines.append(f"{(at + timedelta(hours=9)).isoformat()},wait,S3,20.0")
    lines.append(f"{(D + 3 * DAY).isoformat()},other,S1,99.0")
    return lines


# -- indicator_series --------------------------------------------------------------------------
RX_ROWS = [
    "observed_at,metric,unit_id,daypart,value",
    "2026-09-01T08:00:00,rx,S1,morning,30",
    "2026-09-01T18:00:00,rx,S1,evening,50",
    "2026-09-01T18:00:00,rx,S3,evening,45",
    "2026-09-01T23:59:59,rx,S2,all,10",
    "2026-09-02T00:00:00,rx,S1,morning,40",
    "2026-09-02T09:00:00,other,S1,morning,99",
]


def rows_of(series: pd.DataFrame) -> list[tuple[str, str, float, float, float]]:
    return [
        (r.segment, f"{r.bucket:%m-%d}", r.good, r.total, round(r.value, 6))
        for r in series.itertuples()
    ]


def test_threshold_series_per_segment_and_day(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(wh, tmp_path, RX_ROWS)
    rx = indicator(id="rx_on_time", metric="rx", threshold=40.0, dimensions=["daypart", "region"])
    series = indicator_series(wh, make_config(rx), rx)
    assert list(series.columns) == SERIES_COLUMNS
    assert series["bucket"].dtype == "datetime64[ns]"
    assert rows_of(series) == [
        ("", "09-01", 2.0, 4.0, 33.75),  # 30 and 10 good; "all" counts overall
        ("", "09-02", 1.0, 1.0, 40.0),  # at the threshold is good; other metric left out
        ("daypart=evening", "09-01", 0.0, 2.0, 47.5),
        ("daypart=morning", "09-01", 1.0, 1.0, 30.0),
        ("daypart=morning", "09-02", 1.0, 1.0, 40.0),
        ("region=R1", "09-01", 2.0, 3.0, 30.0),  # S1 and S2
        ("region=R1", "09-02", 1.0, 1.0, 40.0),
        ("region=R2", "09-01", 0.0, 1.0, 45.0),  # S3
    ]


def test_good_when_above_counts_values_at_or_above(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(wh, tmp_path, RX_ROWS)
    rx = indicator(metric="rx", threshold=40.0, good_when="above", dimensions=["district"])
    series = indicator_series(wh, make_config(rx), rx)
    assert rows_of(series) == [
        ("", "09-01", 2.0, 4.0, 33.75),  # 50 and 45
        ("", "09-02", 1.0, 1.0, 40.0),
        ("district=D1", "09-01", 1.0, 3.0, 30.0),
        ("district=D1", "09-02", 1.0, 1.0, 40.0),
        ("district=D2", "09-01", 1.0, 1.0, 45.0),
    ]


def test_events_series_counts_good_of_total(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(
        wh,
        tmp_path,
        [
            "observed_at,metric,unit_id,platform,value,good,total",
            "2026-09-01T00:00:00,app,S1,android,,90,100",
            "2026-09-01T12:00:00,app,S3,ios,,199,200",
            "2026-09-02T00:00:00,app,S1,android,,0,0",
            "2026-09-02T00:00:00,app,S2,android,5.0,,",  # no counts: not an event
        ],
    )
    app = indicator(metric="app", measure="events", threshold=None, dimensions=["platform"])
    series = indicator_series(wh, make_config(app), app)
    assert rows_of(series)[:1] == [("", "09-01", 289.0, 300.0, round(11 / 300, 6))]
    assert [(s, b, g, t) for s, b, g, t, _ in rows_of(series)] == [
        ("", "09-01", 289.0, 300.0),
        ("", "09-02", 0.0, 0.0),
        ("platform=android", "09-01", 90.0, 100.0),
        ("platform=android", "09-02", 0.0, 0.0),
        ("platform=ios", "09-01", 199.0, 200.0),
    ]
    assert series["value"].tolist()[2] == pytest.approx(0.1)
    assert series["value"].isna().tolist() == [False, True, False, True, False]  # 0 of 0
    window = indicator_series(wh, make_config(app), app, start=D + timedelta(hours=12), end=D + DAY)
    assert [(s, b, t) for s, b, _, t, _ in rows_of(window)] == [
        ("", "09-01", 200.0),  # start inclusive, end exclusive
        ("platform=ios", "09-01", 200.0),
    ]


def test_buckets_align_to_the_unix_epoch(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(
        wh,
        tmp_path,
        [
            "observed_at,metric,unit_id,value",
            "2026-09-02T23:00:00,wait,S1,5",  # a Wednesday
            "2026-09-03T00:00:00,wait,S1,50",  # a Thursday, as 1970-01-01 was
            "2026-09-03T10:30:00,wait,S1,5",
        ],
    )
    wait = indicator(dimensions=[])
    weekly = indicator_series(wh, make_config(wait, reliability=settings(step="7d")), wait)
    assert weekly["bucket"].tolist() == [pd.Timestamp("2026-08-27"), pd.Timestamp("2026-09-03")]
    assert weekly["total"].tolist() == [1.0, 2.0]
    hourly = indicator_series(wh, make_config(wait, reliability=settings(step="1h")), wait)
    assert [f"{b:%d %H:%M}" for b in hourly["bucket"]] == ["02 23:00", "03 00:00", "03 10:00"]


def test_unknown_dimension_names_indicator_dimension_and_choices(
    wh: Warehouse, tmp_path: Path
) -> None:
    load_metrics(wh, tmp_path, RX_ROWS)
    odd = indicator(dimensions=["daypart", "channel"])
    with pytest.raises(ConfigError) as err:
        indicator_series(wh, make_config(odd), odd)
    text = str(err.value)
    assert "'short_wait'" in text and "'channel'" in text
    assert "daypart" in text and "region" in text  # a metrics column and a unit level


# -- burn_rate_alerts --------------------------------------------------------------------------
def series_of(segment: str, days: list[int], good: list[float], total: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": segment,
            "bucket": [pd.Timestamp(D + d * DAY) for d in days],
            "good": good,
            "total": total,
        }
    )


def test_burn_alerts_fire_when_both_windows_burn() -> None:
    # budget 0.1; day 2: long (days 1-2) 5/20 bad -> 2.5, short 5/10 -> 5: fires at factor 2;
    # day 3: long 10/20 -> 5; day 4: short 0 -> stops.
    series = series_of("", [0, 1, 2, 3], [10, 5, 5, 10], [10, 10, 10, 10])
    alerts = burn_rate_alerts(series, indicator(), settings())
    assert list(alerts.columns) == ALERT_COLUMNS
    assert alerts["bucket"].tolist() == [pd.Timestamp(D + DAY), pd.Timestamp(D + 2 * DAY)]
    assert alerts["burn_long"].tolist() == pytest.approx([2.5, 5.0])
    assert alerts["burn_short"].tolist() == pytest.approx([5.0, 5.0])
    assert alerts["events_long"].tolist() == [20.0, 20.0]
    assert set(alerts["alert"]) == {"fast"} and set(alerts["severity"]) == {"page"}
    stricter = settings(burn_alerts=[{"name": "f", "long": "2d", "short": "1d", "factor": 3.0}])
    assert burn_rate_alerts(series, indicator(), stricter)["bucket"].tolist() == [
        pd.Timestamp(D + 2 * DAY)
    ]


def test_windows_are_time_spans_so_gaps_drop_old_buckets() -> None:
    # Day 1 all bad, nothing on day 2, day 3 half bad: the 2-day window at day 3 is day 3 alone.
    series = series_of("", [0, 2], [0, 5], [10, 10])
    alerts = burn_rate_alerts(series, indicator(), settings())
    assert alerts["bucket"].tolist() == [pd.Timestamp(D), pd.Timestamp(D + 2 * DAY)]
    assert alerts["burn_long"].tolist() == pytest.approx([10.0, 5.0])
    assert alerts["events_long"].tolist() == [10.0, 10.0]


def test_a_window_shorter_than_the_step_holds_the_current_bucket() -> None:
    series = series_of("", [0, 1], [4, 10], [10, 10])
    short = settings(burn_alerts=[{"name": "f", "long": "12h", "short": "1h", "factor": 6.0}])
    alerts = burn_rate_alerts(series, indicator(), short)
    assert alerts["bucket"].tolist() == [pd.Timestamp(D)]
    assert (alerts["burn_long"].iloc[0], alerts["events_long"].iloc[0]) == (pytest.approx(6), 10)


def test_min_events_gates_small_windows_per_segment() -> None:
    few = series_of("store=S1", [0, 1], [0, 0], [2, 2])  # 4 events in 2 days, all bad
    many = series_of("store=S2", [0, 1], [0, 0], [3, 3])
    series = pd.concat([many, few], ignore_index=True)
    alerts = burn_rate_alerts(series, indicator(), settings(min_events=5))
    assert list(zip(alerts["segment"], alerts["bucket"], strict=True)) == [
        ("store=S2", pd.Timestamp(D + DAY))
    ]
    alerts = burn_rate_alerts(series, indicator(), settings(min_events=4))
    assert list(zip(alerts["segment"], alerts["bucket"], strict=True)) == [
        ("store=S1", pd.Timestamp(D + DAY)),  # sorted by bucket, then segment
        ("store=S2", pd.Timestamp(D + DAY)),
    ]


def test_a_burn_exactly_at_the_factor_fires_and_each_rule_reports() -> None:
    # 8 bad of 100 against a 1% budget is a burn of 8 (7.999… in floating point).
    series = series_of("", [0], [92], [100])
    rules = [
        {"name": "fast", "long": "1d", "short": "1d", "factor": 8.0, "severity": "page"},
        {"name": "slow", "long": "2d", "short": "1d", "factor": 3.0, "severity": "ticket"},
        {"name": "never", "long": "2d", "short": "1d", "factor": 8.5, "severity": "page"},
    ]
    alerts = burn_rate_alerts(series, indicator(target=0.99), settings(burn_alerts=rules))
    assert alerts["alert"].tolist() == ["fast", "slow"]
    assert alerts["severity"].tolist() == ["page", "ticket"]


def test_no_series_no_alerts() -> None:
    empty = pd.DataFrame({c: [] for c in SERIES_COLUMNS})
    alerts = burn_rate_alerts(empty, indicator(), settings())
    assert alerts.empty and list(alerts.columns) == ALERT_COLUMNS


# -- compute_reliability -----------------------------------------------------------------------
def wilson(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return ci.low, ci.high


def segment(report: ReliabilityReport, name: str) -> Any:
    ind = report.moments[0].indicators[0]
    return ind.overall if name == "" else next(s for s in ind.segments if s.segment == name)


def test_report_numbers_over_the_rolling_window(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(wh, tmp_path, wait_rows())
    report = compute_reliability(wh, make_config(indicator()))
    assert report.at == D + 4 * DAY  # end of the day of the last reading
    ind = report.moments[0].indicators[0]
    assert (ind.window_start, ind.window_end) == (D, D + 4 * DAY)
    assert (ind.target, ind.error_budget) == (0.9, pytest.approx(0.1))
    s1, s2, s3, overall = (segment(report, s) for s in ("store=S1", "store=S2", "store=S3", ""))
    assert (s1.good, s1.total, s1.attainment) == (17.0, 20.0, pytest.approx(0.85))
    assert (s1.attainment_low, s1.attainment_high) == pytest.approx(wilson(17, 20))
    assert (s1.budget_consumed, s1.budget_left) == pytest.approx((1.5, -0.5))
    assert s1.burn_rate == pytest.approx(3.0)  # days 3-4: 3 bad of 10, budget 0.1
    assert (s1.alerts_firing, s1.rating) == (["fast"], "broken")
    assert (s2.good, s2.total, s2.budget_left) == (19.0, 20.0, pytest.approx(0.5))
    assert (s2.burn_rate, s2.alerts_firing, s2.rating) == (0.0, [], "at risk")  # 0.5 < 0.6
    assert (s3.total, s3.budget_left) == pytest.approx((4.0, -9.0))
    assert s3.burn_rate is None  # 2 events in the 2-day burn window < min_events 5: no rate
    assert (s3.alerts_firing, s3.rating) == ([], "no data")  # 4 events < min_events 5
    assert (overall.good, overall.total) == (36.0, 44.0)
    assert overall.budget_left == pytest.approx(1 - (8 / 44) / 0.1)
    assert overall.burn_rate == pytest.approx(5 / 22 / 0.1)
    assert (overall.alerts_firing, overall.rating) == (["fast"], "broken")
    moment = report.moments[0]
    assert (moment.moment, moment.owner, moment.rating) == ("checkout", "store-ops", "broken")
    assert (moment.overall_rating, report.burn_window) == ("broken", "2d")
    assert (moment.broken_segments, moment.at_risk_segments) == (1, 1)
    assert [(w.segment, w.rating) for w in moment.worst_segments] == [
        ("store=S1", "broken"),
        ("store=S2", "at risk"),
    ]


def test_a_moment_with_a_broken_segment_is_broken_however_fine_the_average(
    wh: Warehouse, tmp_path: Path
) -> None:
    """Target 80%: all customers together 36 of 44 good (budget left 9%, above the 5% at-risk
    line, no alert), but S3's 4 readings are all bad: the moment is broken, not reliable."""
    load_metrics(wh, tmp_path, wait_rows())
    rules = settings(min_events=4, at_risk_budget=0.05)
    report = compute_reliability(wh, make_config(indicator(target=0.8), reliability=rules))
    overall, s1, s3 = (segment(report, s) for s in ("", "store=S1", "store=S3"))
    assert (overall.budget_left, overall.rating) == (pytest.approx(1 - (8 / 44) / 0.2), "reliable")
    assert overall.alerts_firing == [] and overall.burn_rate == pytest.approx(5 / 22 / 0.2)
    assert (s1.budget_left, s1.rating) == (pytest.approx(0.25), "reliable")
    assert (s3.budget_left, s3.rating) == (pytest.approx(-4.0), "broken")
    assert s3.burn_rate is None  # 2 events in the last 2 days: too few for a rate, not ×10
    moment = report.moments[0]
    assert (moment.rating, moment.overall_rating, moment.broken_segments) == (
        "broken",
        "reliable",
        1,
    )


def test_report_over_a_period_and_at_an_earlier_time(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(wh, tmp_path, wait_rows())
    config = make_config(indicator())
    period = compute_reliability(wh, config, period=(D + 2 * DAY, D + 4 * DAY))
    assert (period.period_start, period.period_end) == (D + 2 * DAY, D + 4 * DAY)
    s1, s2 = segment(period, "store=S1"), segment(period, "store=S2")
    assert (s1.good, s1.total, s1.budget_left, s1.rating) == (7, 10, pytest.approx(-2), "broken")
    assert (s2.good, s2.total, s2.budget_left, s2.rating) == (10, 10, 1.0, "reliable")
    earlier = compute_reliability(wh, config, at=D + 3 * DAY)  # days 1-3 (window 4d)
    s1, s2 = segment(earlier, "store=S1"), segment(earlier, "store=S2")
    assert (s1.total, s1.burn_rate, s1.alerts_firing, s1.rating) == (15, 0.0, [], "reliable")
    assert (s2.good, s2.total, s2.budget_left) == (14, 15, pytest.approx(1 - (1 / 15) / 0.1))
    assert s2.rating == "at risk" and earlier.period_start is None
    assert segment(earlier, "").rating == "broken"  # S3's bad readings: 3 of 33


def test_rating_rules() -> None:
    rules = settings(at_risk_budget=0.25, min_events=10)
    assert rate_segment(100, 0.5, [], rules) == "reliable"
    assert rate_segment(100, 0.2, [], rules) == "at risk"
    assert rate_segment(100, 0.9, ["ticket"], rules) == "at risk"
    assert rate_segment(100, 0.0, [], rules) == "broken"
    assert rate_segment(100, 0.9, ["ticket", "page"], rules) == "broken"
    assert rate_segment(9, -3.0, ["page"], rules) == "no data"
    assert rate_segment(9, -3.0, [], rules, overall=True) == "broken"
    assert rate_segment(0, None, [], rules, overall=True) == "no data"


def test_report_round_trips_through_json_and_flattens(wh: Warehouse, tmp_path: Path) -> None:
    load_metrics(wh, tmp_path, wait_rows())
    report = compute_reliability(wh, make_config(indicator()))
    text = json.dumps(report.to_dict())
    assert ReliabilityReport.from_dict(json.loads(text)) == report
    assert json.loads(text)["at"] == "2026-09-05T00:00:00"
    frame = report.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS
    assert frame["segment"].tolist() == ["", "store=S1", "store=S2", "store=S3"]
    assert frame["alerts_firing"].tolist() == ["fast", "fast", "", ""]
    assert len(report.without_segments().to_frame()) == 1


def test_one_indicator_and_the_errors(wh: Warehouse, tmp_path: Path) -> None:
    config = make_config(indicator(), indicator(id="app_ok", metric="app", dimensions=[]))
    with pytest.raises(QueryError, match="metrics table is empty"):
        compute_reliability(wh, config)
    load_metrics(wh, tmp_path, wait_rows())
    only = compute_reliability(wh, config, indicator="app_ok")
    assert [i.indicator for i in only.moments[0].indicators] == ["app_ok"]
    assert only.moments[0].indicators[0].overall.rating == "no data"
    assert only.moments[0].rating == "no data"
    with pytest.raises(ConfigError, match="no indicator 'nope'"):
        compute_reliability(wh, config, indicator="nope")
    with pytest.raises(ConfigError, match=r"docs/reliability\.md"):
        compute_reliability(wh, Config())
    with pytest.raises(QueryError, match="not before"):
        compute_reliability(wh, config, period=(D, D))


# -- planted truth: the demo company -----------------------------------------------------------
DRIVER_OF = {
    "queue_wait_minutes": "q_wait",
    "rx_fill_minutes": "q_rx",
    "out_of_stock_rate": "q_stock",
    "app_errors": "q_app",
}


class Demo:
    """The demo warehouse with its truth and every burn-alert firing of the year."""

    def __init__(self, root: Path) -> None:
        self.ws = find_workspace(root)
        self.truth = json.loads((root / "data" / "truth.json").read_text())
        with self.ws.warehouse(read_only=True) as wh:
            units = wh.table("units").to_pyarrow().to_pandas()
            self.series = {
                ind.metric: indicator_series(wh, self.ws.config, ind)
                for _, ind in self.ws.config.journey.indicators()
            }
        parent = dict(zip(units.unit_id, units.parent_id, strict=True))
        self.parent = parent
        self.level = dict(zip(units.unit_id, units.level, strict=True))
        self.stores_of: dict[str, set[str]] = {}
        for store in units.unit_id[units.level == "store"]:
            node = store
            while isinstance(node, str):
                self.stores_of.setdefault(node, set()).add(store)
                node = parent.get(node)

    def alerts(self, metric: str) -> pd.DataFrame:
        _, ind = next(p for p in self.ws.config.journey.indicators() if p[1].metric == metric)
        return burn_rate_alerts(self.series[metric], ind, self.ws.config.reliability)

    def accepted(self, incident: dict[str, Any]) -> set[str]:
        """Segments that name the incident: its own dimension values, every unit all of whose
        stores it hit, and the district of a store it hit alone (a few stores of a district)."""
        hit = set(incident["stores"])
        units = {u for u, stores in self.stores_of.items() if stores <= hit}
        units |= {self.parent[u] for u in incident["units"] if self.level[u] == "store"}
        return {f"{self.level[u]}={u}" for u in units} | self.own(incident)

    def touched(self, incident: dict[str, Any]) -> set[str]:
        """Every segment the incident moves: the overall series, its own dimension values and
        every unit holding a store it hit."""
        hit = set(incident["stores"])
        units = {u for u, stores in self.stores_of.items() if stores & hit}
        segs = {f"{self.level[u]}={u}" for u in units if self.level[u] != "company"}
        return segs | self.own(incident) | {""}

    def declared(self, incident: dict[str, Any]) -> set[str]:
        """The units the incident was planted in (a region, a district or a few stores) and
        its own dimension values."""
        return {f"{self.level[u]}={u}" for u in incident["units"]} | self.own(incident)

    @staticmethod
    def own(incident: dict[str, Any]) -> set[str]:
        return {f"{k}={v}" for k, v in incident["segment"].items()}

    def days(self, incident: dict[str, Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
        return pd.Timestamp(incident["start"]), pd.Timestamp(incident["end"])

    def caught(self, incident: dict[str, Any], alerts: pd.DataFrame) -> pd.DataFrame:
        start, end = self.days(incident)
        inside = alerts["segment"].isin(self.accepted(incident))
        return alerts[inside & (alerts["bucket"] >= start) & (alerts["bucket"] <= end)]

    def weak_units(self, driver: str) -> set[str]:
        """Units holding a store whose planted weak drivers include ``driver``."""
        weak = {s for s, ds in self.truth["weak_drivers"].items() if driver in ds}
        return {u for u, stores in self.stores_of.items() if stores & weak}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    from earnright.services.demo import run_demo

    run = run_demo(tmp_path_factory.mktemp("reliability") / "ws", stores=60, months=12, seed=7)
    return Demo(run.workspace)


@pytest.mark.slow
@pytest.mark.parametrize(
    "metric", ["queue_wait_minutes", "rx_fill_minutes", "out_of_stock_rate", "app_errors"]
)
def test_burn_alerts_fire_on_each_planted_incident(demo: Demo, metric: str) -> None:
    alerts = demo.alerts(metric)
    incidents = [i for i in demo.truth["incidents"] if i["metric"] == metric]
    assert incidents
    for incident in incidents:
        caught = demo.caught(incident, alerts)
        assert len(caught) > 0, (incident["id"], incident["segment"], incident["units"])


@pytest.mark.slow
def test_firings_outside_incidents_are_at_units_with_the_planted_weakness(demo: Demo) -> None:
    """The false-alarm count: (indicator, segment, bucket) pairs firing outside every planted
    incident that no planted weak store explains (measured: 0 of 55 outside; 97 pairs fire)."""
    outside, unexplained = 0, []
    for metric, driver in DRIVER_OF.items():
        alerts = demo.alerts(metric).drop_duplicates(["segment", "bucket"])
        inside = np.zeros(len(alerts), dtype=bool)
        for incident in (i for i in demo.truth["incidents"] if i["metric"] == metric):
            start, end = demo.days(incident)
            own = alerts["segment"].isin(demo.touched(incident))
            inside |= (own & (alerts["bucket"] >= start) & (alerts["bucket"] <= end)).to_numpy()
        rest = alerts[~inside]
        outside += len(rest)
        weak = {f"{demo.level[u]}={u}" for u in demo.weak_units(driver)}
        pairs = zip(rest["segment"], rest["bucket"], strict=True)
        unexplained += [(metric, s, b) for s, b in pairs if s not in weak]
    assert outside > 0  # the chronically weak stores do breach their objective
    assert len(unexplained) <= 2, unexplained


@pytest.mark.slow
def test_an_incident_period_rates_its_segment_below_reliable(demo: Demo) -> None:
    metrics = {i.metric: i.id for _, i in demo.ws.config.journey.indicators()}
    for incident in demo.truth["incidents"]:
        start, end = demo.days(incident)
        with demo.ws.warehouse(read_only=True) as wh:
            report = compute_reliability(
                wh, demo.ws.config, period=(start.to_pydatetime(), (end + DAY).to_pydatetime())
            )
        rated = {i.indicator: i for m in report.moments for i in m.indicators}
        own = rated[metrics[incident["metric"]]]
        weak = {s.segment for s in own.segments if s.rating in ("broken", "at risk")}
        assert weak & demo.declared(incident), incident["id"]
        busy = {i["metric"] for i in demo.truth["incidents"] if _overlaps(i, start, end)}
        quiet = [rated[metrics[m]] for m in metrics if m not in busy]
        assert quiet, incident["id"]
        assert all(q.overall.rating == "reliable" for q in quiet), incident["id"]


def _overlaps(incident: dict[str, Any], start: pd.Timestamp, end: pd.Timestamp) -> bool:
    """Whether the incident, or the week of burn-alert look-back after it, meets [start, end]."""
    lo, hi = pd.Timestamp(incident["start"]), pd.Timestamp(incident["end"]) + 7 * DAY
    return bool(lo <= end and hi >= start)
