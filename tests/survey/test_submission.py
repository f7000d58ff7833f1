"""Answers in through the feedback ingestion rules: bad ones quarantined, one per invitation,
and at once in the store's scorecard. Every test runs on DuckDB, PostgreSQL and Spark."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from earnright.errors import AlreadyAnswered, SurveyLinkError
from earnright.listening.scorecard import compute_scorecard
from earnright.periods import Grain
from earnright.survey import open_invitation, submission, submit_answer, survey_links
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace
from tests.survey.conftest import NOW, SENT

pytestmark = pytest.mark.usefixtures("backend")


def token_of(wh: Warehouse, ws: Workspace, invitation: str) -> str:
    links = survey_links(wh, ws.config, now=NOW)
    url = links.set_index("invitation_id").url[invitation]
    assert url.startswith("https://survey.example.com/s/")
    return str(url.rsplit("/", 1)[1])


def test_links_are_the_open_invitations_and_carry_no_secret(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    links = survey_links(swh, survey_ws.config, now=NOW)
    assert sorted(links.invitation_id) == ["inv-1", "inv-2", "inv-3", "inv-4"]  # inv-5 expired
    secret = swh.table("survey_secret").secret.execute().iloc[0]
    assert not any(secret in url for url in links.url)
    since = survey_links(swh, survey_ws.config, now=NOW, since=SENT)
    assert sorted(since.invitation_id) == ["inv-1", "inv-2", "inv-3"]
    submit_answer(swh, survey_ws.config, token_of(swh, survey_ws, "inv-1"), {"ltr": "9"}, now=NOW)
    assert "inv-1" not in set(survey_links(swh, survey_ws.config, now=NOW).invitation_id)


def test_the_form_asks_the_moments_questions(swh: Warehouse, survey_ws: Workspace) -> None:
    invitation, questions = open_invitation(
        swh, survey_ws.config, token_of(swh, survey_ws, "inv-3"), now=NOW
    )
    assert (invitation.unit_name, invitation.moment) == ("Store 2", "checkout")
    assert [q.id for q in questions] == ["ltr", "osat", "q_pay"]


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"ltr": "11"}, "ltr: out of scale: 11.0 (expected 0 to 10)"),
        ({"ltr": "nine"}, "ltr: not a number: 'nine'"),
        ({"ltr": "7.5"}, "ltr: not a whole-number answer: 7.5"),
        ({"osat": "3", "q_pay": "4"}, "q_pay: not a question of this survey"),
        ({"ltr": "", "comment": "  "}, "(answers): no answer given"),
    ],
)
def test_a_bad_answer_is_quarantined_and_the_invitation_stays_open(
    swh: Warehouse, survey_ws: Workspace, answers: dict[str, str], reason: str
) -> None:
    token = token_of(swh, survey_ws, "inv-1")
    result = submit_answer(swh, survey_ws.config, token, answers, now=NOW)
    assert result.status == "quarantined" and reason in result.reasons
    q = swh.table("quarantine").execute()
    assert len(q) == 1 and reason in q.reason.iloc[0]
    assert (q.kind.iloc[0], q.source.iloc[0], q.row_key.iloc[0]) == (
        "feedback", "survey:form", "survey-inv-1",
    )  # fmt: skip
    assert swh.count("feedback") == 0
    batch = swh.table("batches").execute().iloc[-1]
    assert (batch.rows_read, batch.rows_accepted, batch.rows_quarantined) == (1, 0, 1)
    fixed = submit_answer(swh, survey_ws.config, token, {"ltr": "8"}, now=NOW)
    assert fixed.status == "accepted" and swh.count("feedback") == 1


def test_a_second_answer_changes_nothing(swh: Warehouse, survey_ws: Workspace) -> None:
    token = token_of(swh, survey_ws, "inv-2")
    first = submit_answer(swh, survey_ws.config, token, {"ltr": "10", "osat": "5"}, now=NOW)
    assert first.status == "accepted"
    before = swh.table("feedback").execute()
    with pytest.raises(AlreadyAnswered):
        submit_answer(swh, survey_ws.config, token, {"ltr": "0"}, now=NOW)
    with pytest.raises(AlreadyAnswered):
        open_invitation(swh, survey_ws.config, token, now=NOW)
    after = swh.table("feedback").execute()
    assert after.equals(before) and after.ltr.tolist() == [10.0]


def test_the_unique_index_refuses_a_racing_second_answer(
    swh: Warehouse, survey_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two answers that both passed the 'not answered yet' check: the second's transaction
    fails on the unique index and rolls back whole (no feedback row, no batch)."""
    token = token_of(swh, survey_ws, "inv-2")
    submit_answer(swh, survey_ws.config, token, {"ltr": "10"}, now=NOW)
    batches = swh.count("batches")
    real = submission.answered_among
    checks = iter([lambda wh, ids: set()])  # the pre-check misses it; the one after sees it
    monkeypatch.setattr(submission, "answered_among", lambda wh, ids: next(checks, real)(wh, ids))
    with pytest.raises(AlreadyAnswered):
        submit_answer(swh, survey_ws.config, token, {"ltr": "2"}, now=NOW)
    assert swh.count("feedback") == 1 and swh.count("batches") == batches
    assert swh.count("survey_cases") == 0


def test_an_unknown_or_expired_invitation_is_refused(swh: Warehouse, survey_ws: Workspace) -> None:
    from earnright.survey import link_secret, sign_token

    forged = sign_token(link_secret(swh), "inv-404", NOW + timedelta(days=1))
    with pytest.raises(SurveyLinkError, match="names no invitation"):
        submit_answer(swh, survey_ws.config, forged, {"ltr": "9"}, now=NOW)
    token = token_of(swh, survey_ws, "inv-1")
    with pytest.raises(SurveyLinkError) as caught:
        submit_answer(swh, survey_ws.config, token, {"ltr": "9"}, now=NOW + timedelta(days=31))
    assert caught.value.expired


def test_an_answer_is_in_the_stores_scorecard_at_once(swh: Warehouse, survey_ws: Workspace) -> None:
    config = survey_ws.config
    token = token_of(swh, survey_ws, "inv-3")

    def card() -> pd.DataFrame:
        frame = compute_scorecard(swh, config, level="store", grain=Grain.month, period="2026-09")
        return frame.set_index("unit_id")

    before = card()
    assert before.loc["S2", "responses"] == 0 and before.loc["S2", "invitations"] == 1
    submit_answer(swh, config, token, {"ltr": "9", "osat": "4", "q_pay": "5"}, now=NOW)
    after = card()
    assert after.loc["S2", "responses"] == 1 and after.loc["S2", "response_rate"] == 1.0
    assert after.loc["S2", "nps"] == 100.0
    assert after.loc["S2", "q_pay_mean"] == 5.0 and after.loc["S2", "q_pay_n"] == 1


@pytest.mark.never(["duckdb"], raises=AssertionError, reason="one process and connection")
def test_concurrent_answers_to_one_invitation_make_one_row(
    survey_ws: Workspace, backend: str
) -> None:
    """Connections answer the same invitation at once: exactly one is accepted. Eight on
    PostgreSQL (its unique index); two on Spark (the writer checks the key under its lock;
    each Spark answer is a few seconds of jobs, taken in turn)."""
    with survey_ws.warehouse() as wh:
        token = token_of(wh, survey_ws, "inv-1")
    assert backend != "duckdb"
    n = 2 if backend == "spark" else 8
    outcomes: list[str] = []
    barrier = threading.Barrier(n)

    def answer(score: int) -> None:
        with survey_ws.warehouse() as wh:
            barrier.wait()
            try:
                submit_answer(wh, survey_ws.config, token, {"ltr": str(score)}, now=NOW)
                outcomes.append("accepted")
            except AlreadyAnswered:
                outcomes.append("already")

    threads = [threading.Thread(target=answer, args=(s,)) for s in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted"] + ["already"] * (n - 1)
    with survey_ws.warehouse() as wh:
        assert wh.count("feedback") == 1 and wh.count("survey_answers") == 1


def test_answers_arriving_together_are_one_batch_each_with_its_own_outcome(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    from earnright.survey import Submission, submit_answers

    one, three = token_of(swh, survey_ws, "inv-1"), token_of(swh, survey_ws, "inv-3")
    batches = swh.count("batches")
    outcomes = submit_answers(swh, survey_ws.config, [
        Submission(one, {"ltr": "4"}),  # a detractor: accepted, a case
        Submission("forged.1.x", {"ltr": "9"}),
        Submission(three, {"ltr": "12"}),  # quarantined, inv-3 stays open
        Submission(one, {"ltr": "10"}),  # inv-1 again in the same batch: refused after it
        Submission(token_of(swh, survey_ws, "inv-2"), {"osat": "5", "q_pay": "1"}),
    ], now=NOW)  # fmt: skip
    kinds = [getattr(o, "status", type(o).__name__) for o in outcomes]
    assert kinds == ["accepted", "SurveyLinkError", "quarantined", "AlreadyAnswered",
                     "quarantined"]  # fmt: skip
    assert outcomes[0].case_id == "case-inv-1"  # type: ignore[union-attr]
    assert outcomes[4].reasons == ["q_pay: not a question of this survey"]  # type: ignore[union-attr]
    assert swh.count("batches") == batches + 1 and swh.count("feedback") == 1
    q = swh.table("quarantine").execute().sort_values("line")
    assert q.row_key.tolist() == ["survey-inv-3", "survey-inv-2"]
    assert q.line.tolist() == [3, 5] and set(q.batch_id) == {batches + 1}
    assert survey_links(swh, survey_ws.config, now=NOW).invitation_id.tolist().count("inv-3") == 1


def test_an_invitation_naming_an_unknown_moment_is_quarantined(
    swh: Warehouse, survey_ws: Workspace, tmp_path: Path
) -> None:
    from earnright.ingest import ingest_file
    from tests.survey.conftest import write_invitations

    path = write_invitations(tmp_path / "more.csv", [("inv-9", "S1", "c9", SENT, "nowhere")])
    result = ingest_file(swh, survey_ws.config, "invitations", path)
    assert (result.accepted, result.quarantined) == (0, 1)
    assert swh.table("quarantine").reason.execute().tolist() == [
        "moment: unknown journey moment: 'nowhere'"
    ]


def test_a_comment_is_masked_as_a_files_would_be(swh: Warehouse, survey_ws: Workspace) -> None:
    said = "Call me on +44 20 7946 0958 or mail jo.bloggs@example.com, the queue was awful"
    token = token_of(swh, survey_ws, "inv-1")
    submit_answer(swh, survey_ws.config, token, {"ltr": "2", "comment": said}, now=NOW)
    stored = swh.table("feedback").comment.execute().tolist()
    case = swh.table("survey_cases").comment.execute().tolist()
    assert stored == case == ["Call me on [PHONE] or mail [EMAIL], the queue was awful"]
