"""The authorisation matrix (docs/serve.md): every role × object kind × verb answers what the
docs say, on both sides of each boundary, and a guessed id answers as an unknown one does."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serve.conftest import ROLES, Planted

KINDS = ("store", "district", "moment", "incident", "decision", "comment", "alert")
UNWRITABLE = ("comment", "alert")  # no write verb: 405
# What each person sees, written out (not derived from the code under test): kind -> sides.
SEES = {
    "admin": {k: {"own", "other"} for k in KINDS},
    "executive": {k: {"own", "other"} for k in KINDS},
    "analyst": {k: {"own", "other"} for k in KINDS},
    "store_manager": {"store": {"own"}, "district": set(), "moment": set(), "incident": {"own"},
                      "decision": {"own"}, "comment": {"own"}},
    "district_manager": {"store": {"own"}, "district": {"own"}, "moment": set(),
                         "incident": {"own"}, "decision": {"own"}, "comment": {"own"}},
    "owner": {"store": set(), "district": set(), "moment": {"own"}, "incident": {"own"},
              "decision": {"own"}, "comment": {"own"}},
}  # fmt: skip
for _person in SEES:  # an alert is seen with its incident
    SEES[_person]["alert"] = SEES[_person]["incident"]
DECIDES = {"admin", "executive", "store_manager", "district_manager", "owner"}
PAGE = {
    "store": "/units/{}",
    "district": "/units/{}",
    "moment": "/moments/{}",
    "incident": "/incidents/{}",
    "decision": "/decisions/{}",
    "comment": "/comments/{}",
    "alert": "/alerts/{}",
}
API = {kind: "/api/v1" + path for kind, path in PAGE.items()}
CASES = [(p, k, s) for p in ROLES for k in KINDS for s in ("own", "other")]


def _read(planted: Planted, person: str, kind: str, side: str) -> int:
    return 200 if side in SEES[person][kind] else 404


@pytest.mark.parametrize(("person", "kind", "side"), CASES)
def test_page(clients: dict[str, TestClient], planted: Planted, person: str, kind: str,
              side: str) -> None:  # fmt: skip
    got = clients[person].get(PAGE[kind].format(planted.ids[f"{kind}:{side}"]))
    assert got.status_code == _read(planted, person, kind, side), got.text[:300]
    if got.status_code == 200:
        assert got.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("person", "kind", "side"), CASES)
def test_api_read(app: Any, planted: Planted, person: str, kind: str, side: str) -> None:
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens[person]}"})
    got = client.get(API[kind].format(planted.ids[f"{kind}:{side}"]))
    assert got.status_code == _read(planted, person, kind, side), got.text[:300]


def _write_expected(person: str, kind: str, side: str) -> int:
    if kind in UNWRITABLE:
        return 405  # customers write comments (the survey), early warning alerts; nobody edits
    if side not in SEES[person][kind]:
        return 404
    return 201 if person in DECIDES else 403


@pytest.mark.parametrize(("person", "kind", "side"), CASES)
def test_api_write(app: Any, planted: Planted, person: str, kind: str, side: str) -> None:
    """API write: a decision on the issue about the object (a comment has no write)."""
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens[person]}"})
    if kind in UNWRITABLE:
        got = client.post(API[kind].format(planted.ids[f"{kind}:{side}"]), json={"x": 1})
    else:
        body = {"issue": planted.issues[f"{kind}:{side}"], "action": f"{person} acts"}
        got = client.post("/api/v1/decisions", json=body)
    assert got.status_code == _write_expected(person, kind, side), got.text[:300]
    if got.status_code == 201:
        assert got.json()["decided_by"] == person


@pytest.mark.parametrize("kind", KINDS)
def test_a_guessed_id_answers_as_an_unknown_one(app: Any, planted: Planted, kind: str) -> None:
    """No IDOR, and no oracle: an id outside the scope and one that does not exist answer
    the same status and the same message shape."""
    person = "owner" if kind in ("store", "district") else "store_manager"
    if kind == "moment":
        person = "store_manager"
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens[person]}"})
    outside = client.get(API[kind].format(planted.ids[f"{kind}:other"]))
    unknown = client.get(API[kind].format("NO-SUCH-ID-42"))
    assert outside.status_code == unknown.status_code == 404
    assert outside.json()["detail"].replace(planted.ids[f"{kind}:other"], "X") == unknown.json()[
        "detail"
    ].replace("NO-SUCH-ID-42", "X")


def test_lists_hold_only_the_scope(app: Any, planted: Planted) -> None:
    """The listing endpoints leave out what is outside the scope (same matrix)."""
    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['store_manager']}"})
    rows = client.get("/api/v1/scorecard", params={"level": "store", "period": "2026-09"}).json()
    assert {r["unit_id"] for r in rows} == {planted.own_store}
    assert client.get("/api/v1/scorecard", params={"level": "district"}).json() == []
    units = {r["unit_id"] for r in client.get("/api/v1/comments").json()}
    assert units == {planted.own_store}
    incidents = {r["id"] for r in client.get("/api/v1/incidents").json()}
    assert "INC-other" not in incidents and "INC-own" in incidents
    decisions = client.get("/api/v1/decisions").json()
    assert {d["unit_id"] for d in decisions} == {planted.own_store}
    owner = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['owner']}"})
    assert {r["moment"] for r in owner.get("/api/v1/comments").json()} == {"checkout"}
    assert owner.get("/api/v1/scorecard").json() == []
    moments = {m["moment"] for m in owner.get("/api/v1/reliability").json()["moments"]}
    assert moments == {"checkout"}
    alerts = {a["alert_id"] for a in client.get("/api/v1/alerts").json()}
    assert "ALERT-own" in alerts and "ALERT-other" not in alerts
    assert {a["alert_id"] for a in owner.get("/api/v1/alerts").json()} >= {"ALERT-own"}


def test_the_asset_ledger_holds_only_the_scope(app: Any, planted: Planted) -> None:
    def assets(person: str, **params: str) -> Any:
        token = planted.tokens[person]
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        return client.get("/api/v1/assets", params={"level": "store", **params})

    everyone = assets("executive").json()
    assert {r["unit_id"] for r in everyone} >= {planted.own_store, planted.other_store}
    own = assets("store_manager").json()
    assert own and own == [r for r in everyone if r["unit_id"] == planted.own_store]
    assert assets("store_manager", unit=planted.other_store).status_code == 404
    assert assets("district_manager", unit=planted.own_store).json() == own
    assert assets("owner").json() == []  # an owner sees no unit's figures


def test_the_api_returns_the_command_lines_numbers(app: Any, planted: Planted) -> None:
    """Seen by an executive, /api/v1/scorecard is earnright scorecard --format json."""
    from tests.api.conftest import cli, same

    client = TestClient(app, headers={"Authorization": f"Bearer {planted.tokens['executive']}"})
    args = {"level": "store", "grain": "month", "period": "2026-09"}
    got = client.get("/api/v1/scorecard", params=args).json()
    expected = cli("scorecard", "--workspace", str(planted.ws.root), "--level", "store",
                   "--grain", "month", "--period", "2026-09")  # fmt: skip
    assert same(got, expected) == []
    rank = client.get("/api/v1/rank", params={"level": "store", "period": "2026-08"}).json()
    expected = cli("rank", "--workspace", str(planted.ws.root), "--level", "store",
                   "--period", "2026-08")  # fmt: skip
    assert same(rank, expected) == []


def test_not_signed_in(app: Any) -> None:
    client = TestClient(app)
    assert client.get("/api/v1/scorecard").status_code == 401
    got = client.get("/units/C", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/login")
    bad = TestClient(app, headers={"Authorization": "Bearer ert_not-a-token"})
    assert bad.get("/api/v1/me").status_code == 401
