"""The streaming detector per partition on Spark gives exactly the driver path's alerts and
detector states: on the demo company (12 stores, 6 months), every indicator's series scored by
:func:`earnright.reliability.detection.anomaly_alerts` on the driver and by
:func:`earnright.reliability.partitioned.partitioned_anomaly_alerts` (``applyInPandas``, one
group per indicator and segment), in a first run and in a later run that continues from the
states the first one left. The whole detection on Spark (scan, incidents, revenue at risk) is
compared with DuckDB's in tests/warehouse/test_backends.py, which goes through this path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from earnright.ingest import ingest_file
from earnright.reliability.detection import anomaly_alerts, pack_state
from earnright.reliability.indicators import indicator_series
from earnright.reliability.partitioned import partitioned_anomaly_alerts
from earnright.services.demo import FILES, demo_config
from earnright.warehouse import connect
from earnright.workspace import Workspace, init_workspace
from tests.conftest import SPARK_URL

DEMO = {"stores": 12, "months": 6, "seed": 3}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The demo company on DuckDB: the series both paths score come from it."""
    from earnright.demo import generate_company

    root = tmp_path_factory.mktemp("partitioned")
    generate_company(root / "data", **DEMO)
    ws = init_workspace(root / "ws", demo_config())
    with ws.warehouse() as wh:
        for kind, name in FILES:
            ingest_file(wh, ws.config, kind, root / "data" / name)
    return ws


def _states(states: dict[str, Any]) -> dict[str, tuple[object, str]]:
    return {
        seg: (s.last_bucket, json.dumps(pack_state(s.detector or {}), sort_keys=True))
        for seg, s in states.items()
    }


def test_the_partitioned_pass_gives_the_driver_pass_alerts_and_states(
    demo: Workspace, tmp_path: Path, spark_migrated: Path
) -> None:
    shutil.copytree(spark_migrated, tmp_path / "spark-warehouse")
    config = demo.config
    fired = 0
    with demo.warehouse(read_only=True) as duck, connect(SPARK_URL, tmp_path) as spark:
        for _, indicator in config.journey.indicators():
            series = indicator_series(duck, config, indicator)
            cut = series.bucket.sort_values().iloc[2 * len(series) // 3]
            driver: dict[str, Any] = {}  # segment -> its detector's state, as each pass keeps it
            parts: dict[str, Any] = {}
            for run in (series[series.bucket < cut], series):  # a first run, then the rest
                one = anomaly_alerts(indicator, run, driver, config)
                other = partitioned_anomaly_alerts(spark, indicator, run, parts, config)
                assert sorted((a.alert_id, a.score, a.fired_at, a.severity) for a in other) == (
                    sorted((a.alert_id, a.score, a.fired_at, a.severity) for a in one)
                )
                assert _states(parts) == _states(driver)
                fired += len(one)
            assert len(driver) > 5  # every segment's series was scored
    assert fired > 10  # the demo's planted failures fire: the comparison is not of nothing
