"""The filters of pages and their API twins: theme, segment, moment, each inside the scope,
recovering what was planted, and a bad value answered 400 naming the filter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serve.conftest import Planted

THEMED = {"R-theme-wait": "wait", "R-theme-staff": "staff"}  # response -> its one theme
SEGMENT = "planted-segment"  # no demo customer has it


@pytest.fixture(scope="module")
def filtered(planted: Planted) -> Planted:
    """Comments tagged with a theme, and one from a customer of a segment of their own, at
    both stores; an own-store comment is at the own moment, so every role's matrix holds."""
    with planted.ws.warehouse(read_only=False) as wh:
        for k, (rid, theme) in enumerate(THEMED.items()):
            store = planted.own_store if k == 0 else planted.other_store
            wh.insert("feedback", _comment(rid, store, None, f"about {theme}"))
            row = {"response_id": rid, "theme": theme, "confidence": 0.9, "rank": 1,
                   "version": "planted"}  # fmt: skip
            wh.insert("comment_themes", {k: [v] for k, v in row.items()})
        customer = {"customer_id": "C-planted", "home_unit_id": planted.own_store,
                    "joined_at": datetime(2026, 1, 1), "batch_id": 0, "segment": SEGMENT,
                    "tier": "planted-tier", "platform": "web"}  # fmt: skip
        wh.insert("customers", {k: [v] for k, v in customer.items()})
        wh.insert("feedback", _comment("R-seg-own", planted.own_store, "C-planted", "seg own"))
        wh.insert("feedback", _comment("R-seg-other", planted.other_store, "C-planted", "seg 2"))
    return planted


def _comment(rid: str, unit: str, customer: str | None, text: str) -> dict[str, list[Any]]:
    row = {"response_id": rid, "unit_id": unit, "responded_at": datetime(2026, 9, 21),
           "customer_id": customer, "channel": "web", "moment": "checkout", "comment": text,
           "batch_id": 0}  # fmt: skip
    return {k: [v] for k, v in row.items()}


def _api(app: Any, planted: Planted, person: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {planted.tokens[person]}"})


def _ids(got: Any) -> set[str]:
    assert got.status_code == 200, got.text[:300]
    return {r["response_id"] for r in got.json()}


def test_theme_filter_keeps_the_tagged_comments(app: Any, filtered: Planted) -> None:
    boss = _api(app, filtered, "executive")
    wait = _ids(boss.get("/api/v1/comments", params={"theme": "wait"}))
    staff = _ids(boss.get("/api/v1/comments", params={"theme": "staff"}))
    assert "R-theme-wait" in wait and "R-theme-wait" not in staff
    assert "R-theme-staff" in staff and "R-theme-staff" not in wait
    with filtered.ws.warehouse() as wh:
        t = wh.table("comment_themes")
        tagged = set(t.filter(t.theme == "wait").response_id.execute())
    assert wait <= tagged  # every comment shown is tagged with the theme
    own = _ids(_api(app, filtered, "store_manager").get("/api/v1/comments?theme=staff"))
    assert "R-theme-staff" not in own  # the other store's, outside the scope
    bad = boss.get("/api/v1/comments", params={"theme": "no-such-theme"})
    assert bad.status_code == 400 and bad.json()["argument"] == "theme"


def test_segment_filter_keeps_the_segments_customers(app: Any, filtered: Planted) -> None:
    boss = _api(app, filtered, "executive")
    assert _ids(boss.get("/api/v1/comments", params={"segment": SEGMENT})) == {
        "R-seg-own", "R-seg-other"
    }  # fmt: skip
    by_tier = boss.get("/api/v1/comments", params={"segment": "tier=planted-tier"})
    assert _ids(by_tier) == {"R-seg-own", "R-seg-other"}
    manager = _api(app, filtered, "store_manager")
    assert _ids(manager.get("/api/v1/comments", params={"segment": SEGMENT})) == {"R-seg-own"}
    bad = boss.get("/api/v1/comments", params={"segment": "no_attribute=1"})
    assert bad.status_code == 400 and bad.json()["argument"] == "segment"


def test_incident_filters(app: Any, filtered: Planted) -> None:
    boss = _api(app, filtered, "executive")

    def ids(**params: str) -> set[str]:
        got = boss.get("/api/v1/incidents", params=params)
        assert got.status_code == 200, got.text[:300]
        return {r["id"] for r in got.json()}

    assert ids(segment=f"store={filtered.own_store}") == {"INC-own"}
    at_checkout = ids(moment="checkout")
    assert "INC-own" in at_checkout and "INC-other" not in at_checkout
    assert ids(moment="checkout", segment=f"store={filtered.other_store}") == set()
    manager = _api(app, filtered, "store_manager")
    mine = manager.get("/api/v1/incidents", params={"segment": f"store={filtered.other_store}"})
    assert mine.json() == []  # outside the scope, even asked for by name
    for params in ({"segment": "no-equals-sign"}, {"moment": "nowhere"}):
        bad = boss.get("/api/v1/incidents", params=params)
        assert bad.status_code == 400 and bad.json()["argument"] in params


def test_pages_carry_the_filters(clients: dict[str, TestClient], filtered: Planted) -> None:
    boss = clients["executive"]
    page = boss.get("/comments", params={"theme": "wait", "moment": "checkout"})
    assert page.status_code == 200 and "R-theme-wait" in page.text
    assert "R-theme-staff" not in page.text and 'name="theme" size="14" value="wait"' in page.text
    page = boss.get("/incidents", params={"segment": f"store={filtered.other_store}"})
    assert "INC-other" in page.text and "INC-own" not in page.text
    unit = boss.get(f"/units/{filtered.own_store}", params={"moment": "checkout", "theme": "wait"})
    assert unit.status_code == 200
    assert f"/comments?unit={filtered.own_store}&amp;moment=checkout&amp;theme=wait" in unit.text
    row = f"<td>store={filtered.own_store}</td>"  # INC-own's row on the unit's page
    assert row in boss.get(f"/units/{filtered.own_store}").text
    narrowed = boss.get(f"/units/{filtered.own_store}",
                        params={"segment": f"store={filtered.other_store}"})  # fmt: skip
    assert narrowed.status_code == 200 and row not in narrowed.text
    assert boss.get("/comments", params={"segment": "nope=1"}).status_code == 400
    alerts = clients["store_manager"].get("/alerts")
    assert "ALERT-own" in alerts.text and "ALERT-other" not in alerts.text


def test_period_filter_of_comments_and_incidents(app: Any, filtered: Planted) -> None:
    """Comments written in the period (R-own on 2026-09-20, the last day of ISO week 38; the
    segment's on 09-21, week 39); incidents open at some time in it (both from 09-10)."""
    boss = _api(app, filtered, "executive")

    def comments(client: TestClient, period: str) -> set[str]:
        got = client.get("/api/v1/comments", params={"period": period})
        assert got.status_code == 200, got.text[:300]
        start, end = ("2026-09-14", "2026-09-21") if period == "2026-W38" else ("", "~")
        assert all(start <= r["responded_at"][:10] < end for r in got.json())
        return {r["response_id"] for r in got.json()}

    week38, week39 = comments(boss, "2026-W38"), comments(boss, "2026-W39")
    assert {"R-own", "R-other"} <= week38 and not {"R-seg-own", "R-seg-other"} & week38
    assert {"R-seg-own", "R-seg-other"} <= week39 and not {"R-own", "R-other"} & week39
    manager = _api(app, filtered, "store_manager")
    mine = comments(manager, "2026-W38")
    assert "R-own" in mine and "R-other" not in mine  # the period never widens the scope

    def incidents(client: TestClient, period: str) -> set[str]:
        got = client.get("/api/v1/incidents", params={"period": period})
        assert got.status_code == 200, got.text[:300]
        return {r["id"] for r in got.json()}

    assert {"INC-own", "INC-other"} <= incidents(boss, "2026-09")
    assert not {"INC-own", "INC-other"} & incidents(boss, "2026-08")  # started 09-10
    assert {"INC-own", "INC-other"} <= incidents(boss, "2026-Q4")  # still open
    assert "INC-other" not in incidents(manager, "2026-09")
    for path in ("/api/v1/comments", "/api/v1/incidents", "/comments", "/incidents"):
        bad = boss.get(path, params={"period": "2026"})
        assert bad.status_code == 400, path
    page = _api(app, filtered, "executive").get("/api/v1/comments?period=2026-13")
    assert page.status_code == 400 and page.json()["argument"] == "period"


def test_pages_carry_the_period(clients: dict[str, TestClient], filtered: Planted) -> None:
    boss = clients["executive"]
    page = boss.get("/comments", params={"period": "2026-W38"})
    assert page.status_code == 200 and "R-own" in page.text and "R-seg-own" not in page.text
    assert 'name="period" size="8" value="2026-W38"' in page.text
    page = boss.get("/incidents", params={"period": "2026-08"})
    assert page.status_code == 200 and "INC-own" not in page.text


def test_segment_filter_of_the_scorecard_and_the_race(app: Any, filtered: Planted) -> None:
    """A segment's scorecard counts exactly its customers' survey answers and invitations per
    store (recounted here from the raw rows); its race ranks those stores; a manager still
    gets their own rows only; an unknown attribute answers 400."""
    import pandas as pd

    with filtered.ws.warehouse() as wh:
        fb = wh.table("feedback").select("unit_id", "customer_id", "channel", "responded_at")
        customers = wh.table("customers").select("customer_id", "platform").execute()
        invitations = wh.table("invitations").select("unit_id", "customer_id", "sent_at")
        fb, invitations = fb.execute(), invitations.execute()
    web = set(customers.customer_id[customers.platform == "web"])
    assert 0 < len(web) < len(customers)  # a real segment: some customers, not all
    month = fb.responded_at.max().to_period("M") - 1
    period = str(month)

    def per_store(rows: pd.DataFrame, column: str) -> dict[str, int]:
        inside = rows[rows[column].dt.to_period("M") == month]
        inside = inside[inside.customer_id.isin(web)]
        return {str(k): int(v) for k, v in inside.groupby("unit_id").size().items()}

    want = per_store(fb[fb.channel == "survey"], "responded_at")
    want_invited = per_store(invitations, "sent_at")
    assert want and want_invited
    boss = _api(app, filtered, "executive")
    params = {"level": "store", "grain": "month", "period": period, "segment": "platform=web"}
    got = boss.get("/api/v1/scorecard", params=params)
    assert got.status_code == 200, got.text[:300]
    rows = [r for r in got.json() if r["period"] == period]
    assert {r["unit_id"]: r["responses"] for r in rows if r["responses"]} == want
    assert {r["unit_id"]: r["invitations"] for r in rows if r["invitations"]} == want_invited
    everyone = {k: v for k, v in params.items() if k != "segment"}
    whole = boss.get("/api/v1/scorecard", params=everyone).json()
    assert sum(r["responses"] or 0 for r in whole) > sum(want.values())  # it narrowed
    manager = _api(app, filtered, "store_manager")
    mine = manager.get("/api/v1/scorecard", params=params).json()
    assert {r["unit_id"] for r in mine} <= {filtered.own_store}
    race = boss.get("/api/v1/rank", params={"level": "store", "period": period,
                                            "segment": "platform=web"})  # fmt: skip
    assert race.status_code == 200 and {r["unit_id"] for r in race.json()} <= set(want)
    own_race = manager.get("/api/v1/rank", params={"period": period, "segment": "platform=web"})
    assert {r["unit_id"] for r in own_race.json()} <= {filtered.own_store}
    for path in ("/api/v1/scorecard", "/api/v1/rank"):
        bad = boss.get(path, params={"segment": "no_attribute=1"})
        assert bad.status_code == 400 and bad.json()["argument"] == "segment"


@pytest.mark.parametrize(
    ("path", "key", "params"),
    [
        ("/api/v1/comments", "response_id", {"period": "2026-W38"}),
        ("/api/v1/comments", "response_id", {"segment": SEGMENT, "theme": "wait"}),
        ("/api/v1/incidents", "id", {"period": "2026-09", "moment": "checkout"}),
        ("/api/v1/scorecard", "unit_id", {"segment": "platform=web"}),
        ("/api/v1/rank", "unit_id", {"segment": "platform=web"}),
    ],
)
def test_a_filter_never_widens_what_a_role_sees(
    app: Any, filtered: Planted, path: str, key: str, params: dict[str, str]
) -> None:
    """For every role: what a filter keeps is among what the same person sees unfiltered."""
    from tests.serve.conftest import ROLES

    for person in ROLES:
        client = _api(app, filtered, person)
        narrowed, whole = client.get(path, params=params), client.get(path)
        assert narrowed.status_code == whole.status_code == 200, (person, narrowed.text[:200])
        kept = {r[key] for r in narrowed.json()}
        assert kept <= {r[key] for r in whole.json()}, (person, path, params)
