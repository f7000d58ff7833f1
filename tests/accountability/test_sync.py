"""The product feeds the issue register: focus items and early-warning incidents, once."""

from __future__ import annotations

import pytest

import earnright
from earnright.services.demo import run_demo


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> earnright.Workspace:
    run = run_demo(tmp_path_factory.mktemp("sync") / "ws", stores=6, months=7, seed=3)
    return earnright.open_workspace(run.workspace)


def test_focus_items_and_incidents_become_issues_once(demo_ws: earnright.Workspace) -> None:
    focus = demo_ws.focus(every=True)
    items = {(f.unit_id, i.driver) for f in focus.lists for i in f.items}
    incidents = demo_ws.warnings().to_frame()
    added = demo_ws.sync_issues()
    assert (added.focus, added.incidents) == (len(items), len(incidents))
    assert len(items) >= 1 and len(incidents) >= 1
    again = demo_ws.sync_issues()
    assert (again.focus, again.incidents) == (0, 0)
    register = demo_ws.issues().to_frame()
    from_focus = register[register.origin == "focus"]
    assert set(zip(from_focus.unit_id, from_focus.metric, strict=True)) == items
    from_incidents = register[register.origin == "incident"].set_index("issue_id")
    expected = incidents.set_index("incident:" + incidents["id"].astype(str))
    assert set(from_incidents.index) == set(expected.index)
    for column, source in [("owner", "owner"), ("revenue_at_stake", "revenue_at_risk"),
                           ("customers_at_stake", "customers_affected")]:  # fmt: skip
        got, want = from_incidents[column], expected.loc[from_incidents.index, source]
        assert ((got == want) | (got.isna() & want.isna())).all(), column


def test_an_owner_reviews_and_decides_a_synced_issue(demo_ws: earnright.Workspace) -> None:
    demo_ws.sync_issues()
    issue = demo_ws.issues().to_frame().iloc[0]
    agenda = demo_ws.review(issue.owner).to_frame()
    assert issue.issue_id in set(agenda.issue_id)
    row = agenda.set_index("issue_id").loc[issue.issue_id]
    assert row.theirs and row.recommended  # no rights declared: anyone may decide
    made = demo_ws.decide(issue.issue_id, row.recommended, issue.owner)
    assert made.decision["metric"] == issue.metric
    assert issue.issue_id not in set(demo_ws.review(issue.owner).to_frame().issue_id)
    outcome = demo_ws.outcomes(since="2026-01-01").to_frame()
    assert outcome.set_index("action_id").loc[made.decision["decision_id"], "verdict"] in {
        "too early", "not measurable"}  # fmt: skip
