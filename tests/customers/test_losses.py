"""Why customers left: every reason against a small hand-built workspace whose answers are known,
the lost set equal to the ledger's, and the messy cases (nobody lost, one customer, no incidents,
a period just begun, a bad call)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import earnright
from earnright.cli import app
from earnright.customers.loss_incidents import excess_of
from earnright.customers.losses import visit_drop
from earnright.errors import QueryError
from earnright.ingest import ingest_file
from earnright.reliability.records import Incident, save_incident
from earnright.workspace import Workspace
from tests.customers.test_assets import NEW, build

LAPSE = 60


def monthly(customer: str, months: range, day: int = 1, year: int = 2026) -> list[Any]:
    return [(customer, f"{year}-{m:02d}-{day:02d}T10:00:00", 20.0) for m in months]


def weekly(customer: str, first: str, count: int) -> list[Any]:
    days = pd.date_range(first, periods=count, freq="7D")
    return [(customer, f"{d:%Y-%m-%d}T10:00:00", 10.0) for d in days]


CUSTOMERS = [
    ("A", "S1", NEW, "x"),  # detractor in the look-back, with a comment
    ("B", "S1", NEW, "x"),  # complaint
    ("C", "S2", NEW, "x"),  # bought at S2 during the incident
    ("D", "S1", NEW, "x"),  # weekly, then two purchases in the last 90 days: fewer visits
    ("E", "S1", NEW, "x"),  # nothing: no signal
    ("F", "S1", NEW, "x"),  # a detractor who stays: not lost, not counted
    ("G", "S3", NEW, "x"),  # a detractor answer before the look-back: no signal
    ("H", "S2", NEW, "x"),  # at S2, but not during the incident: no signal
]
VISITS = [
    *monthly("A", range(1, 7)),
    *monthly("B", range(1, 7)),
    *monthly("C", range(1, 6)),
    ("C", "2026-05-03T12:00:00", 30.0),
    *weekly("D", "2025-11-03", 17),  # to 2026-02-23; gaps below the lapse: one spell
    ("D", "2026-04-10T10:00:00", 10.0),
    ("D", "2026-06-01T10:00:00", 10.0),
    *monthly("E", range(1, 7)),
    *monthly("F", range(1, 10)),
    ("F", "2026-09-30T10:00:00", 5.0),
    *monthly("G", range(1, 7)),
    ("H", "2026-04-01T10:00:00", 15.0),
    ("H", "2026-05-20T10:00:00", 15.0),
]
FEEDBACK = [
    ("R1", "S1", "2026-05-10T10:00:00", "A", "survey", "checkout", "Rude at the till", 3),
    ("R2", "S1", "2026-05-20T10:00:00", "B", "complaint", "pickup", "Queue out the door", None),
    ("R3", "S1", "2026-05-20T10:00:00", "F", "survey", "checkout", "Meh", 2),
    ("R4", "S3", "2026-01-02T10:00:00", "G", "survey", "checkout", "Slow", 1),
    ("R5", "S1", "2026-05-11T10:00:00", "A", "survey", "checkout", None, 9),  # a promoter answer
]
EXPECTED = {
    "A": {"detractor"},
    "B": {"complaint"},
    "C": {"incident"},
    "D": {"fewer_visits"},
    "E": {"no_signal"},
    "G": {"no_signal"},
    "H": {"no_signal"},
}


def add_feedback(ws: Workspace, root: Path, rows: list[Any]) -> None:
    cols = ["response_id", "unit_id", "responded_at", "customer_id", "channel", "moment"]
    frame = pd.DataFrame(rows, columns=[*cols, "comment", "ltr"])
    frame.to_csv(root / "feedback.csv", index=False)
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "feedback", root / "feedback.csv")


def add_incident(ws: Workspace) -> None:
    at = datetime(2026, 5, 1)
    incident = Incident(
        incident_id="INC9", indicator="queue", moment="pickup", metric="wait", owner="ops",
        segment="store=S2", status="resolved", severity="page", started_at=at,
        detected_at=at, last_alert_at=datetime(2026, 5, 4), ended_at=datetime(2026, 5, 6),
    )  # fmt: skip
    with ws.warehouse() as wh:
        save_incident(wh, incident)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("losses")
    ws = build(root, CUSTOMERS, VISITS, lapse_after_days=LAPSE)
    add_feedback(ws, root, FEEDBACK)
    add_incident(ws)
    return ws


def reasons_of(ws: Workspace, **kwargs: Any) -> dict[str, set[str]]:
    from earnright.customers.losses import explain_losses

    with ws.warehouse() as wh:
        found = explain_losses(wh, ws.config, **kwargs).reasons
    return {c: set(g.reason) for c, g in found.groupby("customer_id")}


def test_each_customer_has_the_reasons_planted(shop: Workspace) -> None:
    assert reasons_of(shop) == EXPECTED


def test_the_lost_are_exactly_the_ledgers(shop: Workspace) -> None:
    api = earnright.open_workspace(shop.root)
    for level, grain in (("store", "month"), ("company", "quarter"), ("district", "week")):
        ledger = api.assets(level=level, grain=grain).to_frame()
        losses = api.losses(level=level, grain=grain).to_frame()
        lost = losses.groupby(["unit_id", "period"]).lost.first()
        expected = ledger[ledger.lost > 0].set_index(["unit_id", "period"]).lost
        assert lost.sort_index().to_dict() == expected.sort_index().to_dict()
        primaries = losses.groupby(["unit_id", "period"])["primary"].sum()
        assert primaries.sort_index().to_dict() == expected.sort_index().to_dict()


def test_the_summary_has_counts_shares_and_value(shop: Workspace) -> None:
    frame = earnright.open_workspace(shop.root).losses(level="company", grain="quarter").to_frame()
    q3 = frame[frame.period == "2026-Q3"].set_index("reason")
    # lost in Q3 (lapse 60 days after a last purchase in May/June): A, B, C, D, E, G, H
    assert int(q3.lost.iloc[0]) == 7
    assert int(q3.loc["incident", "customers"]) == 1
    assert q3.loc["incident", "detail"] == "INC9 queue (store=S2)"
    assert q3.loc["incident", "moment"] == "pickup"
    assert q3.loc["no_signal", "customers"] == 3
    assert q3.loc["no_signal", "share"] == pytest.approx(3 / 7, abs=1e-4)
    # A's annual spend before leaving: six purchases of 20
    assert q3.loc["detractor", "value"] == pytest.approx(120.0)


def test_comments_and_the_story_reach_the_review(shop: Workspace) -> None:
    queue = earnright.open_workspace(shop.root).loss_review(top=5).to_frame()
    story = dict(zip(queue.customer_id, queue.story, strict=True))
    assert "Rude at the till" in story["A"] and "ltr 3" in story["A"]
    assert "Queue out the door" in story["B"]
    assert "INC9" in story["C"]
    assert "Slow" not in story["G"] and story["G"] == "no signal before leaving"
    assert set(queue.customer_id) == set(EXPECTED)
    assert set(queue.owner) == {"unit:S1", "unit:S2", "unit:S3"}  # no moment owners configured


def test_the_queue_ranks_by_value_and_keeps_the_top(shop: Workspace) -> None:
    queue = earnright.open_workspace(shop.root).loss_review(top=1).to_frame()
    s1 = queue[queue.owner == "unit:S1"]
    assert len(s1) == len(s1.period.unique())  # one per month
    full = earnright.open_workspace(shop.root).loss_review(top=10).to_frame()
    for (_owner, _period), group in full.groupby(["owner", "period"]):
        assert list(group.value) == sorted(group.value, reverse=True)
        assert list(group["rank"]) == list(range(1, len(group) + 1))


def test_moment_owners_take_their_losses(shop: Workspace) -> None:
    from earnright.config.journey import Journey
    from earnright.customers.loss_review import review_queue
    from earnright.customers.losses import explain_losses

    journey = Journey.model_validate(
        {"stages": [{"id": "s", "name": "S", "moments": [
            {"id": "checkout", "name": "Checkout", "owner": "store-ops"},
            {"id": "pickup", "name": "Pickup", "owner": "pharmacy"}]}]}
    )  # fmt: skip
    assets = shop.config.assets.model_copy(update={"review_owner": "customer-care"})
    config = shop.config.model_copy(update={"journey": journey, "assets": assets})
    with shop.warehouse() as wh:
        losses = explain_losses(wh, config)
    queue = review_queue(losses, config)
    owners = dict(zip(queue.customer_id, queue.owner, strict=True))
    # A's detractor answer was at checkout; B's complaint and C's incident at pickup
    assert (owners["A"], owners["B"], owners["C"]) == ("store-ops", "pharmacy", "pharmacy")
    assert owners["E"] == owners["D"] == "customer-care"
    assert set(review_queue(losses, config, owner="pharmacy").customer_id) == {"B", "C"}
    with pytest.raises(QueryError, match="top is 0"):
        review_queue(losses, config, top=0)


def test_a_recorded_call_is_the_primary_reason(tmp_path: Path) -> None:
    ws = build(tmp_path, CUSTOMERS, VISITS, lapse_after_days=LAPSE)
    add_feedback(ws, tmp_path, FEEDBACK)
    api = earnright.open_workspace(ws.root)
    before = api.losses(level="company", grain="quarter").to_frame()
    assert "call" not in set(before.reason)
    api.record_loss_call("B", "Moved to another town", "Ann", code="moved", at="2026-09-01")
    frame = api.losses(level="company", grain="quarter").to_frame()
    q3 = frame[frame.period == "2026-Q3"]
    call = q3[q3.reason == "call"].iloc[0]
    assert (call.detail, call.customers, call.primary) == ("moved", 1, 1)
    complaint = q3[q3.reason == "complaint"].iloc[0]
    assert (complaint.customers, complaint.primary) == (1, 0)  # still a reason, not the primary
    queue = api.loss_review().to_frame()
    assert "B" not in set(queue.customer_id)  # called: out of the queue
    api.record_loss_call("B", "Moved to another town, for good", "Ann", at="2026-09-01")
    with ws.warehouse() as wh:
        assert wh.count("loss_calls") == 1  # the same customer and time: replaced


def test_a_call_about_an_unknown_customer_exits_2(shop: Workspace) -> None:
    with pytest.raises(QueryError, match="customer 'NOPE' is not in the customers table"):
        earnright.open_workspace(shop.root).record_loss_call("NOPE", "x", "Ann")
    result = CliRunner().invoke(
        app, ["loss-call", "NOPE", "--reason", "x", "--by", "Ann", "-w", str(shop.root)]
    )  # main() prints a user error (an EarnrightError) in one line and exits 2
    assert isinstance(result.exception, QueryError) and "NOPE" in str(result.exception)
    with pytest.raises(QueryError, match="reason is empty"):
        earnright.open_workspace(shop.root).record_loss_call("A", "  ", "Ann")


def test_loss_calls_ingest_validates_and_quarantines(tmp_path: Path) -> None:
    ws = build(tmp_path, CUSTOMERS, VISITS, lapse_after_days=LAPSE)
    (tmp_path / "calls.csv").write_text(
        "customer_id,called_at,caller,outcome,reason_code,won_back\n"
        "A,2026-09-02T10:00:00,Ann,Staff were rude,staff,0\n"
        "E,2026-09-02T11:00:00,Ann,Prices,price,maybe\n"
        "G,not a date,Ann,x,,\n"
        "H,2026-09-02T12:00:00,Bob,,,1\n"
        "D,2026-09-02T12:00:00,Bob,Too far,,2\n"
    )
    with ws.warehouse() as wh:
        result = ingest_file(wh, ws.config, "loss_calls", tmp_path / "calls.csv")
        assert (result.accepted, result.quarantined) == (1, 4)
        reasons = set(wh.table("quarantine").reason.execute())
    assert any("won_back: not 0 or 1: 2" in r for r in reasons)
    assert any("won_back: not a number: 'maybe'" in r for r in reasons)
    assert any("called_at: not a date/time" in r for r in reasons)
    assert any("outcome: missing value" in r for r in reasons)
    assert reasons_of(ws)["A"] == {"call"}  # this workspace has no feedback


# -- small and messy ---------------------------------------------------------------------------


def test_nobody_lost(tmp_path: Path) -> None:
    ws = build(tmp_path, [("A", "S1", NEW, "x")], monthly("A", range(1, 10)))
    result = earnright.open_workspace(ws.root).losses()
    assert len(result) == 0 and result.notes == ["no customers were lost"]
    assert len(earnright.open_workspace(ws.root).loss_review()) == 0


def test_one_customer_no_incidents_no_feedback(tmp_path: Path) -> None:
    visits = [*monthly("A", range(1, 4)), ("B", "2026-09-30T10:00:00", 1.0)]
    ws = build(tmp_path, [("A", "S1", NEW, "x"), ("B", "S2", NEW, "x")], visits,
               lapse_after_days=LAPSE)  # fmt: skip
    frame = earnright.open_workspace(ws.root).losses(level="company").to_frame()
    assert list(frame.reason) == ["no_signal"] and int(frame.lost.iloc[0]) == 1
    assert frame.excess.isna().all()


def test_a_period_just_begun_has_no_losses_yet(tmp_path: Path) -> None:
    visits = [*monthly("A", range(1, 4)), ("B", "2026-09-02T10:00:00", 1.0)]
    ws = build(tmp_path, [("A", "S1", NEW, "x"), ("B", "S2", NEW, "x")], visits,
               lapse_after_days=LAPSE)  # fmt: skip
    api = earnright.open_workspace(ws.root)
    assert len(api.losses(period="2026-04")) == 1  # A, lost 60 days after 2026-03-01
    begun = api.losses(period="2026-09")
    assert len(begun) == 0 and begun.notes == ["no customers were lost in 2026-09"]
    with pytest.raises(QueryError, match="no losses can fall in 2027-01"):
        api.losses(period="2027-01")


def test_an_empty_workspace(tmp_path: Path) -> None:
    ws = build(tmp_path, [], [])
    assert len(earnright.open_workspace(ws.root).losses()) == 0


def test_the_visit_drop_is_beyond_poisson_noise() -> None:
    # the same rate (3 in 90 days, 12 in 360): no drop; 1 against 17 in 121 days: a drop
    p = visit_drop(np.array([3, 1, 0]), np.array([12, 17, 2]), np.array([360, 121, 60]))
    assert p[0] > 0.4 and p[1] < 1e-3 and np.isnan(p[2])


def test_the_excess_is_the_loss_beyond_the_comparable_rate() -> None:
    out = excess_of(30, 100, 100, 1000)
    assert out["excess"] == pytest.approx(20.0)
    sd = np.sqrt(100 * 0.3 * 0.7 + 100**2 * 0.1 * 0.9 / 1000)
    assert out["excess_low"] == pytest.approx(20 - 1.959964 * sd)
    assert np.isnan(excess_of(0, 0, 5, 10)["excess"])


def test_a_fixed_calls_file_supersedes_the_quarantined_row(tmp_path: Path) -> None:
    from earnright.ingest.quarantine import quarantine_with_state

    ws = build(tmp_path, CUSTOMERS, VISITS, lapse_after_days=LAPSE)
    head = "customer_id,called_at,caller,outcome,reason_code,won_back\n"
    (tmp_path / "a.csv").write_text(head + "E,2026-09-02T11:00:00,Ann,Prices,price,maybe\n")
    (tmp_path / "b.csv").write_text(head + "E,2026-09-02T11:00:00,Ann,Prices,price,1\n")
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "loss_calls", tmp_path / "a.csv")
        assert list(quarantine_with_state(wh).state.execute()) == ["open"]
        ingest_file(wh, ws.config, "loss_calls", tmp_path / "b.csv")
        assert list(quarantine_with_state(wh).state.execute()) == ["superseded"]


@pytest.mark.usefixtures("backend")
def test_every_backend_finds_the_same_reasons(tmp_path: Path, warehouse_url: str) -> None:
    ws = build(tmp_path, CUSTOMERS, VISITS, lapse_after_days=LAPSE, url=warehouse_url)
    add_feedback(ws, tmp_path, FEEDBACK)
    add_incident(ws)
    assert reasons_of(ws) == EXPECTED


def test_losses_carry_the_ledgers_lifetime_value(tmp_path: Path) -> None:
    """value_ltv beside value: each unit-period's lost_ltv is the ledger's lost_ltv, and the
    primary reasons split it without remainder."""
    from tests.customers.test_clv_backends import shop as many_buyers

    people, visits = many_buyers(seed=3)
    ws = build(tmp_path, [(c, home, NEW, seg) for c, home, _, seg in people], visits,
               lapse_after_days=30)  # fmt: skip
    api = earnright.open_workspace(ws.root)
    for level, grain in (("store", "month"), ("company", "quarter")):
        ledger = api.assets(level=level, grain=grain).to_frame()
        losses = api.losses(level=level, grain=grain).to_frame()
        lost = losses.groupby(["unit_id", "period"]).lost_ltv.first()
        expected = ledger[ledger.lost > 0].set_index(["unit_id", "period"]).lost_ltv
        assert expected.sum() > 0 and len(expected) > 3
        assert lost.sort_index().to_numpy() == pytest.approx(
            expected.sort_index().to_numpy(), abs=0.01
        )
        assert list(lost.sort_index().index) == list(expected.sort_index().index)
        assert losses.value_ltv.notna().all() and (losses.value_ltv >= 0).all()


def test_without_repeat_buyers_the_losses_lifetime_value_is_null(tmp_path: Path) -> None:
    people = [("C1", "S1", NEW, "a"), ("C2", "S1", NEW, "a"), ("C3", "S2", NEW, "a")]
    visits = [
        ("C1", "2026-01-10T10:00:00", 40.0),
        ("C2", "2026-01-12T10:00:00", 5.0),
        ("C3", "2026-04-01T10:00:00", 7.0),
    ]
    ws = build(tmp_path, people, visits, lapse_after_days=30)
    result = earnright.open_workspace(ws.root).losses(level="company", grain="month")
    frame = result.to_frame()
    assert '"value_ltv": null' in json.dumps(result.to_dict())  # JSON null, not NaN
    assert int(frame.lost.iloc[0]) == 2  # C1 and C2, in February
    assert frame.value_ltv.isna().all() and frame.lost_ltv.isna().all()
    assert frame.lost_value.iloc[0] == pytest.approx(45.0)  # the year of spend is still there


def _same_losses(handed: Any, alone: Any) -> None:
    """The same losses: every column exact but the spend sums (``lost_value``: the engine sums
    a spell's purchases in no fixed order, so two passes can differ in the last bits)."""
    for part in ("lost", "reasons", "incidents"):
        got, want = getattr(handed, part), getattr(alone, part)
        got, want = got.reset_index(drop=True), want.reset_index(drop=True)
        sums = [c for c in ("lost_value",) if c in got]
        pd.testing.assert_frame_equal(got.drop(columns=sums), want.drop(columns=sums),
                                      check_exact=True)  # fmt: skip
        for col in sums:
            assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), rel=1e-12, abs=0)
    assert handed.as_of == alone.as_of


def test_a_ledgers_spells_and_fit_give_the_same_losses(tmp_path: Path) -> None:
    """The hand-over of ``build_report`` to the pack: the losses on a ledger's spells and
    lifetime-value fit are the losses computed alone, to the last digit, at every level."""
    from earnright.customers.assets import compute_ledger
    from earnright.customers.losses import explain_losses
    from tests.customers.test_clv_backends import shop as many_buyers

    people, visits = many_buyers(seed=3)
    ws = build(tmp_path, [(c, home, NEW, seg) for c, home, _, seg in people], visits,
               lapse_after_days=30)  # fmt: skip
    with ws.warehouse() as wh:
        ledger = compute_ledger(wh, ws.config, level="company", keep_spells=True)
        basis = ledger.basis
        assert basis is not None and basis.values is not None
        assert compute_ledger(wh, ws.config, level="company").basis is None  # only when asked
        assert ledger.frame.equals(compute_ledger(wh, ws.config, level="company").frame)
        asked = [("store", "month", None), ("company", "quarter", None), ("region", "month",
                 str(ledger.frame.period[ledger.frame.lost > 0].iloc[-1]))]  # fmt: skip
        for level, grain, period in asked:
            kw: dict[str, Any] = {"level": level, "grain": grain, "period": period}
            alone = explain_losses(wh, ws.config, **kw)
            assert alone.lost.lost_ltv.notna().all() and len(alone.lost) > 3
            _same_losses(explain_losses(wh, ws.config, basis=basis, **kw), alone)


def test_a_ledgers_spells_are_not_reused_once_the_warehouse_changed(tmp_path: Path) -> None:
    """A basis holds only for the warehouse state it was computed on: after a customer is
    forgotten (ids rewritten in place) or under another lapse rule it is computed again."""
    from earnright.customers.assets import compute_ledger
    from earnright.customers.losses import explain_losses

    ws = build(tmp_path, CUSTOMERS, VISITS, lapse_after_days=LAPSE)
    with ws.warehouse() as wh:
        basis = compute_ledger(wh, ws.config, level="company", keep_spells=True).basis
        assert basis is not None and basis.holds(wh, ws.config.assets)
        other = ws.config.assets.model_copy(update={"lapse_after_days": LAPSE + 1})
        assert not basis.holds(wh, other)
        assert "E" in set(explain_losses(wh, ws.config, basis=basis).lost.customer_id)
    earnright.open_workspace(ws.root).forget("E", reason="asked", by="dpo")
    with ws.warehouse() as wh:
        assert not basis.holds(wh, ws.config.assets)
        handed = explain_losses(wh, ws.config, basis=basis)
        alone = explain_losses(wh, ws.config)
    assert "E" not in set(handed.lost.customer_id) and len(handed.lost) == len(alone.lost)
    _same_losses(handed, alone)
