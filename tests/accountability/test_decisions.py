"""Issues, decision rights, decisions (append-only), commitments and the review agenda."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import earnright
from earnright.cli import app
from earnright.errors import QueryError
from tests.accountability.conftest import write_rights

RIGHTS = """
[[decisions.rights]]
owner = "store-ops"
actions = ["staffing"]
units = ["R1"]
up_to = 1000
escalate_to = "vp"

[[decisions.rights]]
owner = "vp"
escalate_to = "ceo"
"""
UNITS = [
    ("C", "Co", "company", ""), ("R1", "North", "region", "C"), ("R2", "South", "region", "C"),
    ("D1", "D1", "district", "R1"), ("D2", "D2", "district", "R2"),
    ("S1", "S1", "store", "D1"), ("S2", "S2", "store", "D2"),
]  # fmt: skip


@pytest.fixture
def ws(tmp_path: Path) -> earnright.Workspace:
    made = earnright.create_workspace(tmp_path / "ws")
    pd.DataFrame(UNITS, columns=["unit_id", "name", "level", "parent_id"]).to_csv(
        tmp_path / "units.csv", index=False
    )
    made.ingest("units", tmp_path / "units.csv")
    return write_rights(tmp_path / "ws", RIGHTS)


def _refusal(ws: earnright.Workspace, issue: str, by: str, **options: object) -> str:
    with pytest.raises(QueryError) as caught:
        ws.decide(issue, "add a pharmacist at peak", by, **options)  # type: ignore[arg-type]
    assert caught.value.argument == "by"
    return str(caught.value)


def test_rights_decide_or_refuse_naming_who_can(ws: earnright.Workspace) -> None:
    north = ws.add_issue("S1", "Slow checkout", "store-ops", metric="nps")
    south = ws.add_issue("S2", "Slow checkout", "store-ops", metric="nps")
    made = ws.decide(north, "add a pharmacist at peak", "store-ops", kind="staffing", amount=800)
    assert made.decision["authority"].startswith("store-ops's right (staffing; R1; up to 1,000)")
    assert "vp" in _refusal(ws, north, "store-ops", kind="staffing", amount=5000)
    assert "vp" in _refusal(ws, south, "store-ops", kind="staffing")  # not their region
    assert "vp" in _refusal(ws, north, "store-ops", kind="refund")  # not their kind
    assert "store-ops, vp" in _refusal(ws, north, "intern", kind="staffing")
    assert ws.decide(south, "refit", "vp", kind="refit", amount=1e6).decision["authority"]
    top = ws.decide(south, "close", "ceo", kind="closure").decision["authority"]
    assert top.startswith("ceo: top authority")


def test_decisions_are_appended_never_edited(ws: earnright.Workspace) -> None:
    issue = ws.add_issue("S1", "Slow checkout", "store-ops", metric="nps", moment="checkout")
    first = ws.decide(issue, "one more till", "store-ops", kind="staffing", expected="+5 NPS")
    second = ws.decide(issue, "two more tills", "vp", kind="staffing", expected_effect=5.0)
    with ws.warehouse() as wh:
        decisions = wh.table("decisions").to_pandas().set_index("decision_id")
        actions = wh.table("actions").to_pandas().set_index("action_id")
    assert list(decisions.index) == [first.decision["decision_id"], second.decision["decision_id"]]
    assert decisions.loc[first.decision["decision_id"], "action"] == "one more till"
    assert set(actions.index) == set(decisions.index)
    assert (actions.metric == "nps").all() and (actions.issue_id == issue).all()
    show_by = pd.Timestamp(second.decision["show_by"]) - pd.Timestamp(second.decision["decided_at"])
    assert show_by == pd.Timedelta(weeks=8)  # [outcomes] post_weeks
    register = ws.issues(status="all").to_frame().set_index("issue_id")
    assert register.loc[issue, "status"] == "decided" and register.loc[issue, "decisions"] == 2
    assert ws.issues().to_frame().empty


def test_a_decision_needs_a_known_issue_metric_and_commitment(ws: earnright.Workspace) -> None:
    issue = ws.add_issue("S1", "Rude staff", "store-ops")  # no metric yet
    with pytest.raises(QueryError, match="metric"):
        ws.decide(issue, "coach", "store-ops", kind="staffing")
    with pytest.raises(QueryError, match="no issue 'I-404'"):
        ws.decide("I-404", "coach", "store-ops", kind="staffing", metric="nps")
    with pytest.raises(QueryError, match="no commitment"):
        ws.decide(issue, "coach", "store-ops", kind="staffing", metric="nps", commitment="C-x")
    with pytest.raises(QueryError, match="no unit 'S9'"):
        ws.add_issue("S9", "x", "store-ops")
    # a driver question named by the config's prefix, declared or not, is a metric
    made = ws.decide(issue, "coach", "store-ops", kind="staffing", metric="q_courtesy")
    assert made.decision["metric"] == "q_courtesy"
    with pytest.raises(QueryError, match="'happiness' is not a metric"):
        ws.add_issue("S1", "x", "store-ops", metric="happiness")
    with pytest.raises(QueryError, match="not a week") as caught:
        ws.review("store-ops", week="2026-37")
    assert caught.value.argument == "week"


def test_commitments_count_the_decisions_that_practise_them(ws: earnright.Workspace) -> None:
    kept = ws.commit("We will answer every complaint within a day", "ceo")
    ws.commit("We will not charge for delivery", "ceo")
    issue = ws.add_issue("S1", "Complaints unanswered", "store-ops", metric="nps")
    ws.decide(issue, "daily complaint round", "store-ops", kind="staffing", commitment=kept)
    frame = ws.commitments().to_frame().set_index("commitment_id")
    assert frame.loc[kept, "decisions"] == 1 and frame.decisions.sum() == 1


def test_commitment_outcomes_show_each_decision_and_its_measured_outcome(
    ws: earnright.Workspace,
) -> None:
    """Per commitment, each decision pointing to it with its action's outcome (here: no NPS
    answers yet, so not measurable, as ``outcomes`` says); a commitment no decision practises
    says so."""
    kept = ws.commit("We will answer every complaint within a day", "ceo")
    idle = ws.commit("We will not charge for delivery", "ceo")
    issue = ws.add_issue("S1", "Complaints unanswered", "store-ops", metric="nps")
    made = [ws.decide(issue, f"round {i}", "store-ops", kind="staffing", commitment=kept)
            for i in (1, 2)]  # fmt: skip
    rows = ws.commitment_outcomes().to_frame()
    mine = rows[rows.commitment_id == kept]
    assert set(mine.decision_id) == {m.decision["decision_id"] for m in made}
    assert set(mine.issue_id) == {issue} and set(mine.metric) == {"nps"}
    verdicts = ws.outcomes().to_frame().set_index("action_id").verdict
    assert (mine.verdict == mine.decision_id.map(verdicts)).all()
    (other,) = rows[rows.commitment_id == idle].itertuples()
    assert other.verdict == "no decision" and pd.isna(other.decision_id)


def test_review_lists_open_issues_and_whose_they_are(ws: earnright.Workspace) -> None:
    ws.add_issue("S1", "Slow checkout", "store-ops", metric="nps", revenue_at_stake=9000.0)
    ws.add_issue("S2", "Empty shelves", "store-ops", metric="nps", revenue_at_stake=100.0)
    ws.add_issue("S2", "Parking", "facilities", metric="nps")
    agenda = ws.review("store-ops").to_frame()
    assert list(agenda.unit_id) == ["S1", "S2"]  # the most at stake first
    assert list(agenda.theirs) == [False, False]  # the recommended kind is not staffing
    assert set(agenda.decided_by) == {"vp"}
    assert ws.review("store-ops", week="2020-W01").to_frame().empty  # raised later


def test_the_command_line_refuses_with_exit_2_naming_who_can(ws: earnright.Workspace) -> None:
    runner, where = CliRunner(), ["--workspace", str(ws.root)]
    added = runner.invoke(app, ["issue", "add", "--unit", "S1", "--title", "Queue",
                                "--owner", "store-ops", "--metric", "nps", *where])  # fmt: skip
    assert added.exit_code == 0, added.output
    issue = added.stdout.strip()
    refused = subprocess.run(
        [sys.executable, "-m", "earnright", "decide", issue, "--action", "hire", "--by",
         "store-ops", "--kind", "staffing", "--amount", "5000", *where],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "decided by vp" in refused.stderr
    done = runner.invoke(app, ["decide", issue, "--action", "hire", "--by", "vp",
                               "--format", "json", *where])  # fmt: skip
    assert done.exit_code == 0 and json.loads(done.stdout)["decided_by"] == "vp"
    listed = runner.invoke(app, ["issue", "list", "--status", "all", "--format", "json", *where])
    assert [r["status"] for r in json.loads(listed.stdout)] == ["decided"]


def test_actions_and_issues_files_are_validated_and_quarantined(
    ws: earnright.Workspace, tmp_path: Path
) -> None:
    (tmp_path / "actions.csv").write_text(
        "action_id,unit_id,started_at,metric,kind,owner,decided_by,ended_at\n"
        "A1,S1,2026-03-02,nps,staffing,ops,vp,2026-04-01\n"
        "A2,S1,2026-03-02,happiness,staffing,ops,vp,\n"
        "A3,S1,2026-03-02,nps,staffing,ops,vp,2026-01-01\n"
        "A4,S7,2026-03-02,spend,staffing,ops,vp,\n"
        "A5,S2,2026-03-02,ltr,training,,vp,\n"
    )
    done = ws.ingest("actions", tmp_path / "actions.csv").to_frame().iloc[0]
    assert (done.accepted, done.quarantined) == (1, 4)
    rows = ws.quarantine().to_frame().set_index("line")
    assert rows.loc[3, "field"] == "metric" and "happiness" in rows.loc[3, "reason"]
    assert rows.loc[4, "field"] == "ended_at" and rows.loc[5, "field"] == "unit_id"
    assert rows.loc[6, "field"] == "owner"
    (tmp_path / "issues.csv").write_text(
        "issue_id,unit_id,title,owner,revenue_at_stake\nX1,S1,Queue,store-ops,120\n"
        "X2,S2,Queue,store-ops,-5\n"
    )
    ws.ingest("issues", tmp_path / "issues.csv")
    register = ws.issues().to_frame()
    assert list(register.issue_id) == ["X1"] and list(register.origin) == ["file"]
