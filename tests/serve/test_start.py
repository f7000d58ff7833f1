"""Starting the server: it redraws a kept page once the data change, and runs several
processes only on PostgreSQL (where it answers while the pages are gathered: test_postgres)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earnright.serve.app import create_app
from tests.serve.conftest import Planted


def test_a_kept_page_is_redrawn_when_the_data_change(planted: Planted) -> None:
    app = create_app(planted.ws, refresh=0.0)  # check the data's version on every page
    token = planted.tokens["executive"]
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    url = f"/units/{planted.own_district}"
    client.get("/login")
    from tests.serve.conftest import sign_in

    assert sign_in(client, "executive").status_code == 303
    assert "daypart=planted" not in client.get(url).text  # drawn and kept
    at = datetime(2026, 9, 12)
    row = {"incident_id": "INC-fresh", "indicator": "short_queue", "moment": planted.own_moment,
           "metric": "queue_wait_minutes", "owner": "store-operations",
           "segment": f"district={planted.own_district}; daypart=planted", "status": "open",
           "severity": "ticket", "started_at": at, "detected_at": at, "last_alert_at": at,
           "resolved_at": None, "customers_affected": 3, "churn_basis": "none",
           "updated_at": at}  # fmt: skip
    with planted.ws.warehouse(read_only=False) as wh:
        wh.insert("incidents", {k: [v] for k, v in row.items()})
    try:
        assert "daypart=planted" in client.get(url).text
    finally:
        with planted.ws.warehouse(read_only=False) as wh:
            wh.delete("incidents", {"incident_id": "INC-fresh"})


def test_several_workers_need_postgresql(planted: Planted) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "earnright", "serve", "--workspace", str(planted.ws.root),
         "--workers", "2", "--port", "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-500:]
    assert "--workers needs PostgreSQL" in done.stderr


def test_a_page_gathered_on_demand_is_the_whole_sites_page(
    planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is gathered at start; a unit's first view gathers its subtree only, and its
    page (JSON twin) equals the page cut from the whole site's inputs, for a store and a
    district; a second unit of the same level asks the engine nothing new at that level."""
    from earnright.api.site import gather_site
    from earnright.report.site import SiteIndex, page_data
    from earnright.serve import site_cache

    asked: list[str | None] = []
    real = site_cache.gather_site

    def spy(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("unit"))
        return real(*args, **kwargs)

    monkeypatch.setattr(site_cache, "gather_site", spy)
    app = create_app(planted.ws, refresh=3600)
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['executive']}"})
    assert client.get("/api/v1/me").status_code == 200 and asked == []
    whole = gather_site(planted.ws, None, None)
    everyone = {str(u["unit_id"]) for u in whole.units}
    for unit in (planted.own_store, planted.own_district):
        got = client.get(f"/api/v1/units/{unit}").json()
        want = page_data(whole, SiteIndex(whole, everyone), unit)
        for link in [*want["ancestors"], *want["children"], *want["race"]]:
            link["href"] = f"/units/{link['unit_id']}"
        assert got == json.loads(json.dumps(want, default=str)), unit
    assert asked == [planted.own_store, planted.own_district]
    computed = app.state.services.site.computed
    before = list(computed.computed)
    assert client.get(f"/api/v1/units/{planted.other_store}").status_code == 200
    assert [k for k in computed.computed if k not in before] == []  # the store level's, kept
