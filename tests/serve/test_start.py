"""Starting the server: it redraws a kept page once the data change, and runs several
processes only on PostgreSQL (where it answers while the pages are gathered: test_postgres)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

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
