"""One ingestion path: the same hostile answers sent to the survey's route and written in a
feedback file are stored alike and quarantined alike (field, reason), identifiers masked
alike; the survey never calls the pandas chunk checks."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from earnright.errors import IngestError
from earnright.ingest import ingest_file
from earnright.ingest import kinds as ingest_kinds
from earnright.serve.survey_routes import survey_router
from earnright.survey import link_secret, sign_token
from earnright.workspace import Workspace
from tests.survey.conftest import NOW, SENT, make_survey_workspace, write_invitations

FAR = NOW + timedelta(days=365)
LONG = "long " * 1000  # 5,000 characters: kept whole, as a file's
HOSTILE: list[dict[str, Any]] = [
    {"ltr": "11"},  # out of scale
    {"ltr": "4.5", "osat": "3"},  # not whole
    {"ltr": "abc", "osat": "-1"},  # a word; below the scale
    {"ltr": 7, "osat": True},  # JSON types: a number, a boolean
    {"ltr": [1, 2]},  # a list
    {"ltr": "jo@example.com"},  # an identifier quoted in the reason: masked
    {"ltr": "inf", "q_wait": "NA"},  # infinite; a missing spelling
    {"osat": "6", "q_staff": "0"},  # outside osat's and the drivers' scales
    {"ltr": "1e1", "q_wait": " 4 "},  # read as numbers: accepted
    {"ltr": "9", "comment": '=HYPERLINK("http://evil.example","x")'},  # formula-leading
    {"ltr": "3", "comment": LONG},
    {"ltr": " 8 ", "comment": "<script>alert(1)</script> write to jo@example.com"},
    {"osat": "4", "comment": "+1 555 123 4567 called me"},
]
ASKED = ["ltr", "osat", "q_wait", "q_staff"]  # the pickup moment's form
COLUMNS = ["response_id", "unit_id", "responded_at", "customer_id", "channel", "moment",
           "comment", *ASKED]  # fmt: skip


def invitations(tmp_path: Path) -> list[tuple[str, str, str, Any, str]]:
    return [(f"inv-h{k}", "S1", f"ch{k}", SENT, "pickup") for k in range(len(HOSTILE))]


def survey_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = make_survey_workspace(tmp_path / "survey")
    with ws.warehouse() as wh:
        path = write_invitations(tmp_path / "hostile.csv", invitations(tmp_path))
        ingest_file(wh, ws.config, "invitations", path)
        tokens = [sign_token(link_secret(wh), f"inv-h{k}", FAR) for k in range(len(HOSTILE))]

    def refuse(*_: Any) -> None:
        raise AssertionError("the survey called the pandas chunk checks")

    monkeypatch.setattr(ingest_kinds, "validate_chunk", refuse)
    app = FastAPI()
    router = survey_router(ws)
    app.include_router(router)
    with TestClient(app) as client:
        for token, answers in zip(tokens, HOSTILE, strict=True):
            sent = client.post(f"/api/v1/responses/{token}", json=answers)
            assert sent.status_code in (201, 422), sent.text
    router.service.close()  # type: ignore[attr-defined]
    monkeypatch.undo()
    return ws


def as_file_text(value: Any) -> str:
    """What a file holds for a JSON value: its text."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def file_side(tmp_path: Path) -> Workspace:
    ws = make_survey_workspace(tmp_path / "file")
    path = tmp_path / "feedback.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f, quoting=csv.QUOTE_ALL)
        out.writerow(COLUMNS)
        for k, answers in enumerate(HOSTILE):
            base = [f"survey-inv-h{k}", "S1", NOW.isoformat(), f"ch{k}", "survey", "pickup"]
            out.writerow(base + [as_file_text(answers.get(c)) for c in ["comment", *ASKED]])
    with ws.warehouse() as wh:
        ingest_file(wh, ws.config, "feedback", path)
    return ws


def stored(ws: Workspace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with ws.warehouse() as wh:
        feedback = wh.table("feedback").select(*COLUMNS).drop("responded_at").to_pyarrow()
        quarantine = wh.table("quarantine").filter(lambda t: t.kind == "feedback")
        rejects = quarantine.select("row_key", "field", "reason", "raw").to_pyarrow()
    rows = sorted(feedback.to_pylist(), key=lambda r: r["response_id"])
    return rows, sorted(rejects.to_pylist(), key=lambda r: r["row_key"])


@pytest.fixture
def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    yield stored(survey_side(tmp_path, monkeypatch)), stored(file_side(tmp_path))


def test_hostile_answers_are_stored_and_quarantined_as_a_files_rows(both: Any) -> None:
    (survey_rows, survey_rejects), (file_rows, file_rejects) = both
    assert survey_rows == file_rows
    assert len(survey_rows) == 5 and len(survey_rejects) == 8  # both kinds are tested
    pick = [{k: r[k] for k in ("row_key", "field", "reason")} for r in survey_rejects]
    assert pick == [{k: r[k] for k in ("row_key", "field", "reason")} for r in file_rejects]
    texts = [r["comment"] for r in survey_rows]
    assert LONG.strip() in texts and '=HYPERLINK("http://evil.example","x")' in texts
    assert "<script>alert(1)</script> write to [EMAIL]" in texts
    assert not any("jo@example.com" in r["reason"] + r["raw"] for r in survey_rejects)
    assert any("ltr: not a number: '[EMAIL]'" in r["reason"] for r in survey_rejects)


def test_an_unknown_question_is_refused_by_both_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file with an unknown column is refused whole; the survey quarantines the answer."""
    ws = make_survey_workspace(tmp_path / "file")
    path = tmp_path / "feedback.csv"
    path.write_text(f"response_id,unit_id,responded_at,nope\nr1,S1,{NOW.isoformat()},3\n")
    with ws.warehouse() as wh, pytest.raises(IngestError, match="nope"):
        ingest_file(wh, ws.config, "feedback", path)
    from earnright.survey import submit_answer

    ws = make_survey_workspace(tmp_path / "survey")
    with ws.warehouse() as wh:
        token = sign_token(link_secret(wh), "inv-1", FAR)
        result = submit_answer(wh, ws.config, token, {"ltr": "9", "nope": "3"}, now=NOW)
        (reject,) = (
            wh.table("quarantine")
            .filter(lambda t: t.kind == "feedback")
            .execute()[["field", "reason"]]
            .to_dict("records")
        )
        assert wh.count("feedback") == 0
    assert result.status == "quarantined"
    assert reject == {"field": "nope", "reason": "nope: not a question of this survey"}
