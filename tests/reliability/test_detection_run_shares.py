"""A detection run shares pricing's pass across its indicators: the lifetime-value models are
fitted once per run, not once per indicator, with the same incidents and figures."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from earnright.reliability import revenue
from earnright.reliability.incidents import run_detection
from earnright.reliability.revenue import RiskPass
from earnright.workspace import find_workspace

DETECTION_TABLES = ("alerts", "incidents", "outbox", "detector_state")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from earnright.services.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("shares") / "ws", stores=30, months=6, seed=3).workspace


def _detect_afresh(demo: Path, copy: Path) -> tuple[pd.DataFrame, int]:
    """Detection from scratch on a copy of the demo: its incidents, and the indicators."""
    shutil.copytree(demo, copy)
    ws = find_workspace(copy)
    with ws.warehouse() as wh:
        for table in DETECTION_TABLES:
            wh.execute_sql(f"DELETE FROM {table}")
        run_detection(wh, ws.config)
        stored = wh.table("incidents").execute()
    clock = ("created_at", "updated_at", "churn_measured_at")  # when it ran, not what it found
    columns = [c for c in stored.columns if c not in clock]
    stored = stored[columns].sort_values("incident_id").reset_index(drop=True)
    return stored, len(ws.config.journey.indicators())


def test_a_run_fits_lifetime_value_once_with_the_figures_of_a_fit_per_indicator(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits: list[int] = []
    fit = revenue.fit_lifetime

    def counted(*args: Any, **kwargs: Any) -> Any:
        fits.append(1)
        return fit(*args, **kwargs)

    monkeypatch.setattr(revenue, "fit_lifetime", counted)
    shared, indicators = _detect_afresh(demo, tmp_path / "shared")
    assert indicators > 1 and len(fits) == 1
    # the code before: each indicator's pass fitted and valued afresh (here: every call does)
    lifetime, value = RiskPass.lifetime, RiskPass.value

    def refit(self: RiskPass, *args: Any) -> Any:
        self.fitted.clear()
        return lifetime(self, *args)

    def revalue(self: RiskPass, *args: Any) -> Any:
        self.values.clear()
        return value(self, *args)

    monkeypatch.setattr(RiskPass, "lifetime", refit)
    monkeypatch.setattr(RiskPass, "value", revalue)
    fits.clear()
    alone, _ = _detect_afresh(demo, tmp_path / "alone")
    assert len(fits) > 1
    assert (shared.value_basis == "lifetime value").any()  # the fit was used
    assert shared.revenue_at_risk.notna().any()
    pd.testing.assert_frame_equal(shared, alone, rtol=1e-12)  # the engine sums in its own order
