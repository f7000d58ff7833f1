"""Accountability's methods return what its commands print with --format json."""

from __future__ import annotations

from pathlib import Path

import earnright
from tests.api.conftest import cli, same


def test_issues_review_decide_commitments_and_outcomes_match_their_commands(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    ws.sync_issues()
    where = ["-w", str(copy)]
    assert cli("issue", "list", "--status", "all", *where) == ws.issues(status="all").to_dict()
    issue = ws.issues().to_frame().iloc[0]
    agenda = cli("review", "--owner", issue.owner, *where)
    assert same(agenda, ws.review(issue.owner).to_dict()) == [] and agenda
    kept = ws.commit("We will fix what customers tell us first", "ceo")
    made = cli("decide", issue.issue_id, "--action", "fix it", "--by", issue.owner,
               "--commitment", kept, *where)  # fmt: skip
    assert made["issue_id"] == issue.issue_id and made["commitment_id"] == kept
    assert set(made) == set(ws.decide(issue.issue_id, "again", issue.owner).to_dict())
    assert cli("commitments", *where) == ws.commitments().to_dict()
    outcomes = cli("outcomes", *where)
    assert same(outcomes, ws.outcomes().to_dict()) == []
    assert made["decision_id"] in {r["action_id"] for r in outcomes}
    decided = {r["verdict"] for r in outcomes if r["action_id"] == made["decision_id"]}
    assert decided <= {"too early", "not measurable"}
    practice = cli("commitments", "--outcomes", *where)
    assert same(practice, ws.commitment_outcomes().to_dict()) == []
    (row,) = [r for r in practice if r["commitment_id"] == kept]
    assert row["decision_id"] == made["decision_id"] and row["verdict"] in decided
