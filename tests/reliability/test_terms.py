"""The control sample (:func:`earnright.reliability.terms.control_sample`): beyond
``CONTROL_CUSTOMERS`` customers, control groups are drawn from a fixed random share of them;
the exposed stay counted in full, and the extra churn measured still covers the planted one."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earnright.reliability import terms
from earnright.reliability.incidents import Incident, list_incidents
from earnright.reliability.revenue import Exposure, measure_extra_churns
from earnright.workspace import Workspace, find_workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any]]:
    from earnright.services.demo import run_demo

    run = run_demo(
        tmp_path_factory.mktemp("terms") / "ws", stores=60, months=12, seed=7,
        loyalty_lapse=False,
    )  # fmt: skip
    return find_workspace(run.workspace), json.loads(Path(run.truth).read_text())


def _planted(incident: Incident, truth: dict[str, Any]) -> dict[str, Any] | None:
    for planted in truth["incidents"]:
        start = pd.Timestamp(planted["start"])
        end = pd.Timestamp(planted["end"]) + pd.Timedelta(days=1)
        same = planted["metric"] == incident.metric
        if same and incident.started_at < end and incident.last_alert_at > start:
            return planted
    return None


@pytest.mark.slow
def test_up_to_the_limit_every_customer_is_a_possible_control(
    demo: tuple[Workspace, dict[str, Any]],
) -> None:
    with demo[0].warehouse(read_only=True) as wh:
        assert terms.control_sample(wh) is None


@pytest.mark.slow
def test_beyond_the_limit_a_fixed_share_is_sampled_and_churn_still_covers_the_truth(
    demo: tuple[Workspace, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, truth = demo
    with ws.warehouse(read_only=True) as wh:
        incidents = list_incidents(wh)
        exposures = [
            Exposure(i.segments, i.window[0], i.window[1], indicator=i.indicator) for i in incidents
        ]
        whole = measure_extra_churns(wh, ws.config, exposures)
        customers = int(wh.table("customers").count().execute())
        monkeypatch.setattr(terms, "CONTROL_CUSTOMERS", customers // 3)
        sample = terms.control_sample(wh)
        assert sample is not None
        ids = set(sample.customer_id.to_pandas())
        assert terms.control_sample(wh) is sample  # made once
        sampled = measure_extra_churns(wh, ws.config, exposures)
    # a binomial draw of a third of the customers, within 4 standard deviations
    assert abs(len(ids) - customers / 3) < 4 * math.sqrt(customers * (1 / 3) * (2 / 3))
    with ws.warehouse(read_only=True) as wh:  # the same customers from another connection
        assert set(terms.control_sample(wh).customer_id.to_pandas()) == ids  # type: ignore[union-attr]
    measured = [(i, a, b) for i, a, b in zip(incidents, whole, sampled, strict=True) if a]
    assert len(measured) >= 3
    for incident, a, b in measured:
        assert b is not None
        assert (b.exposed, b.exposed_churned) == (a.exposed, a.exposed_churned)  # in full
        share = b.control / a.control  # the control group shrinks to about a third
        assert abs(share - 1 / 3) < 4 * math.sqrt((1 / 3) * (2 / 3) / a.control) + 0.01
        assert b.control_churned <= a.control_churned
        planted = _planted(incident, truth)
        if (
            planted is not None
            and a.extra_churn_low <= planted["churn_effect"] <= a.extra_churn_high
        ):
            assert b.extra_churn_low <= planted["churn_effect"] <= b.extra_churn_high, (
                incident.incident_id
            )
