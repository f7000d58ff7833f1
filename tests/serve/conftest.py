"""A demo company of two districts served to six people, one per role and scope, with planted
objects on both sides of every boundary: stores, districts, moments, incidents, decisions and
comments (two comments carry markup that must show as text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import earnright
from earnright.serve.app import create_app
from earnright.serve.users import add_user, create_token
from earnright.services.demo import run_demo
from earnright.units import read_units

PASSWORD = "correct horse battery"
XSS = [
    "<script>window.__pwned = 1</script> queue was long",
    '<img src=x onerror="window.__pwned = 2"> staff were rude',
]


@dataclass
class Planted:
    """The served workspace and the ids of what was planted on each side of the boundaries."""

    ws: Any
    own_store: str  # in own_district; the store manager's store
    other_store: str  # in other_district
    own_district: str
    other_district: str
    top: str
    own_moment: str = "checkout"
    other_moment: str = "find_product"
    ids: dict[str, str] = field(default_factory=dict)  # object kind and side -> id
    issues: dict[str, str] = field(default_factory=dict)  # object kind and side -> issue id
    tokens: dict[str, str] = field(default_factory=dict)  # role -> API token


ROLES = {  # person -> (role, unit, moments)
    "admin": ("admin", None, []),
    "executive": ("executive", None, []),
    "analyst": ("analyst", None, []),
    "store_manager": ("manager", "own_store", []),
    "district_manager": ("manager", "own_district", []),
    "owner": ("owner", None, ["checkout"]),
}


def _incident(iid: str, moment: str, segment: str) -> dict[str, list[Any]]:
    at = datetime(2026, 9, 10)
    row = {"incident_id": iid, "indicator": "short_queue", "moment": moment,
           "metric": "queue_wait_minutes", "owner": "store-operations", "segment": segment,
           "status": "open", "severity": "ticket", "started_at": at, "detected_at": at,
           "last_alert_at": at, "resolved_at": None, "customers_affected": 5,
           "churn_basis": "none", "updated_at": at}  # fmt: skip
    return {k: [v] for k, v in row.items()}


def _comment(rid: str, unit: str, moment: str, text: str) -> dict[str, list[Any]]:
    row = {"response_id": rid, "unit_id": unit, "responded_at": datetime(2026, 9, 20),
           "customer_id": None, "channel": "web", "moment": moment, "comment": text,
           "batch_id": 0}  # fmt: skip
    return {k: [v] for k, v in row.items()}


def _alert(aid: str, incident: str, segment: str) -> dict[str, list[Any]]:
    at = datetime(2026, 9, 10)
    row = {"alert_id": aid, "incident_id": incident, "indicator": "short_queue",
           "segment": segment, "rule": "anomaly", "severity": "ticket", "fired_at": at,
           "score": 0.9, "created_at": at}  # fmt: skip
    return {k: [v] for k, v in row.items()}


def _plant(ws: Any, p: Planted) -> None:
    with ws.warehouse(read_only=False) as wh:
        wh.insert("incidents", _incident("INC-own", p.own_moment, f"store={p.own_store}"))
        wh.insert("incidents", _incident("INC-other", p.other_moment, f"store={p.other_store}"))
        wh.insert("alerts", _alert("ALERT-own", "INC-own", f"store={p.own_store}"))
        wh.insert("alerts", _alert("ALERT-other", "INC-other", f"store={p.other_store}"))
        wh.insert("feedback", _comment("R-own", p.own_store, p.own_moment, XSS[0]))
        wh.insert("feedback", _comment("R-other", p.other_store, p.other_moment, XSS[1]))
    p.ids |= {"incident:own": "INC-own", "incident:other": "INC-other"}
    p.ids |= {"comment:own": "R-own", "comment:other": "R-other"}
    p.ids |= {"alert:own": "ALERT-own", "alert:other": "ALERT-other"}
    where = {
        "store": ((p.own_store, None), (p.other_store, None)),
        "district": ((p.own_district, None), (p.other_district, None)),
        "moment": ((p.top, p.own_moment), (p.top, p.other_moment)),
        "incident": ((p.own_store, p.own_moment), (p.other_store, p.other_moment)),
    }
    for kind, sides in where.items():
        for side, (unit, moment) in zip(("own", "other"), sides, strict=True):
            p.issues[f"{kind}:{side}"] = ws.add_issue(
                unit, f"{kind} {side}", "store-operations", moment=moment, metric="nps"
            )
    for side in ("own", "other"):
        made = ws.decide(p.issues[f"incident:{side}"], "retrain the team", by="planted")
        p.issues[f"decision:{side}"] = p.issues[f"incident:{side}"]
        p.ids[f"decision:{side}"] = made.to_dict()["decision_id"]


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    run = run_demo(tmp_path_factory.mktemp("serve") / "ws", stores=12, months=7, seed=3)
    ws = earnright.open_workspace(run.workspace)
    with ws.warehouse() as wh:
        units = read_units(wh)
    districts = sorted(units[units.level == "district"].unit_id)
    assert len(districts) == 2, districts
    stores = units[units.level == "store"]
    p = Planted(
        ws, own_store=sorted(stores[stores.parent_id == districts[0]].unit_id)[0],
        other_store=sorted(stores[stores.parent_id == districts[1]].unit_id)[0],
        own_district=districts[0], other_district=districts[1],
        top=str(units[units.level == "company"].unit_id.iloc[0]),
    )  # fmt: skip
    p.ids |= {"store:own": p.own_store, "store:other": p.other_store}
    p.ids |= {"district:own": p.own_district, "district:other": p.other_district}
    p.ids |= {"moment:own": p.own_moment, "moment:other": p.other_moment}
    _plant(ws, p)
    with ws.warehouse(read_only=False) as wh:
        for person, (role, unit, moments) in ROLES.items():
            add_user(wh, person, role, PASSWORD, getattr(p, unit) if unit else None, moments)
            p.tokens[person] = create_token(wh, person)
    return p


@pytest.fixture(scope="session")
def app(planted: Planted) -> Any:
    return create_app(planted.ws, refresh=3600)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    """Sign ``name`` in through the form (its CSRF token from the login cookie)."""
    client.get("/login")
    token = client.cookies.get("earnright_login")
    return client.post(
        "/login", data={"name": name, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def clients(app: Any) -> dict[str, TestClient]:
    """A signed-in browser-like client per person."""
    found = {}
    for person in ROLES:
        client = TestClient(app)
        assert sign_in(client, person).status_code == 303
        found[person] = client
    return found


def here() -> Path:
    return Path(__file__).parent


def demo_on_postgres(data: Path, root: Path, url: str) -> Any:
    """A workspace at ``root`` whose warehouse is the PostgreSQL database ``url``, holding the
    demo's generated files from ``data`` (ingested as `earnright ingest` does)."""
    from earnright.config import Config
    from earnright.services.demo import FILES, demo_config

    config: Config = demo_config()
    config = config.model_copy(
        update={"warehouse": config.warehouse.model_copy(update={"url": url})}
    )
    from earnright.workspace import init_workspace

    init_workspace(root, config)
    ws = earnright.open_workspace(root)
    for kind, name in FILES:
        ws.ingest(kind, data / name)
    return ws
