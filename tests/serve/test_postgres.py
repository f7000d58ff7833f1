"""The server on PostgreSQL, the multi-user setting: sessions made by one server process are
honoured by another, requests run side by side, and the numbers equal the command line's."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from earnright.serve import site_cache
from earnright.serve.app import create_app
from earnright.serve.users import add_user, create_token
from tests.postgres import Cluster
from tests.serve.conftest import PASSWORD, Planted, demo_on_postgres, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg_ws(planted: Planted, pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Any:
    ws = demo_on_postgres(
        planted.ws.root / "data", tmp_path_factory.mktemp("pgserve") / "ws",
        pg_cluster.create_database("serve"),
    )  # fmt: skip
    with ws.warehouse(read_only=False) as wh:
        add_user(wh, "north", "manager", PASSWORD, planted.own_district, [])
        add_user(wh, "boss", "executive", PASSWORD, None, [])
    return ws


def test_two_server_processes_share_sessions_and_scope(pg_ws: Any, planted: Planted) -> None:
    first, second = create_app(pg_ws, refresh=3600), create_app(pg_ws, refresh=3600)
    assert not first.state.services.single  # PostgreSQL: no process-wide lock
    browser = TestClient(first)
    assert sign_in(browser, "north").status_code == 303
    other = TestClient(second, cookies={"earnright_session": browser.cookies["earnright_session"]})
    got = other.get("/api/v1/me").json()
    assert got["user"] == "north" and planted.own_store in got["units"]
    assert planted.other_store not in got["units"]
    assert other.get(f"/api/v1/units/{planted.other_store}").status_code == 404


def test_requests_side_by_side_see_only_their_scope(pg_ws: Any, planted: Planted) -> None:
    app = create_app(pg_ws, refresh=3600)
    with pg_ws.warehouse(read_only=False) as wh:
        tokens = {n: create_token(wh, n) for n in ("north", "boss")}
    period = {"level": "store", "grain": "month", "period": "2026-09"}

    def units(name: str) -> set[str]:
        client = TestClient(app, headers={"Authorization": f"Bearer {tokens[name]}"})
        return {r["unit_id"] for r in client.get("/api/v1/scorecard", params=period).json()}

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(units, ["north", "boss"] * 8))
    north, boss = seen[0], seen[1]
    assert all(s == north for s in seen[::2]) and all(s == boss for s in seen[1::2])
    assert planted.own_store in north and planted.other_store not in north
    assert north < boss and planted.other_store in boss


def test_the_numbers_equal_the_duckdb_workspaces(pg_ws: Any, planted: Planted) -> None:
    """The same data on PostgreSQL and DuckDB: the executive's scorecard rows agree."""
    from tests.api.conftest import same

    app = create_app(pg_ws, refresh=3600)
    browser = TestClient(app)
    assert sign_in(browser, "boss").status_code == 303
    args = {"level": "district", "grain": "month", "period": "2026-08"}
    got = browser.get("/api/v1/scorecard", params=args).json()
    expected = planted.ws.scorecard(level="district", grain="month", period="2026-08").to_dict()
    assert same(got, expected) == []


def test_the_sign_in_limit_holds_across_server_processes(pg_ws: Any) -> None:
    """Failures through one process count in the other: workers do not multiply attempts."""
    with pg_ws.warehouse(read_only=False) as wh:
        add_user(wh, "gate", "analyst", PASSWORD, None, [])
    first, second = (create_app(pg_ws, refresh=3600, login_attempts=3) for _ in range(2))
    one, other = TestClient(first), TestClient(second)
    for client in (one, other, one):
        assert "problem" in sign_in(client, "gate", "wrong password").headers["location"]
    for client in (other, one):  # the right password, in either process: too late
        limited = sign_in(client, "gate")
        assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 300


def test_the_server_answers_while_a_page_is_gathered(
    pg_ws: Any, planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is gathered at start; while one unit's page is gathered, other requests are
    answered on PostgreSQL (on DuckDB they wait: one connection)."""
    release, real = threading.Event(), site_cache.gather_site
    asked: list[str | None] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("unit"))
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(site_cache, "gather_site", slow)
    app = create_app(pg_ws, refresh=3600)
    with pg_ws.warehouse(read_only=False) as wh:
        token = create_token(wh, "boss")
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/me").status_code == 200 and asked == []  # nothing at start
    page = threading.Thread(target=client.get, args=(f"/api/v1/units/{planted.own_store}",))
    page.start()
    for _ in range(600):
        if asked:
            break
        time.sleep(0.1)
    assert asked == [planted.own_store]  # that unit's subtree only, not the whole site
    assert client.get("/api/v1/incidents").status_code == 200  # not waiting for the page
    assert page.is_alive()
    release.set()
    page.join(120)
    assert client.get(f"/api/v1/units/{planted.own_store}").status_code == 200
