"""The survey's routes in a bare FastAPI app: the form, its answers, the JSON twin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from earnright.serve.survey_routes import survey_router
from earnright.survey import link_secret, sign_token, survey_links
from earnright.workspace import Workspace
from tests.survey.conftest import NOW

FAR = NOW + timedelta(days=365)


@pytest.fixture
def client(survey_ws: Workspace) -> Iterator[TestClient]:
    app = FastAPI()
    router = survey_router(survey_ws)
    app.include_router(router)
    with TestClient(app) as c:
        yield c
    router.service.close()  # type: ignore[attr-defined]


def link(ws: Workspace, invitation: str) -> str:
    """The path of a live link (links judged a year on: the router checks against now)."""
    with ws.warehouse() as wh:
        token = sign_token(link_secret(wh), invitation, FAR)
        assert invitation in set(survey_links(wh, ws.config, now=NOW).invitation_id)
    return f"/s/{token}"


def test_the_form_is_accessible_and_in_the_configs_language(
    client: TestClient, survey_ws: Workspace
) -> None:
    page = client.get(link(survey_ws, "inv-1"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html and 'name="viewport"' in html
    assert html.count("<fieldset>") == 4 and html.count("<legend") == 4  # ltr, osat, 2 drivers
    assert len(re.findall(r'<input type="radio" name="ltr" value="\d+">', html)) == 11
    assert '<label for="comment">' in html and 'id="comment" name="comment"' in html
    assert "Store 1" in html
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert page.headers["referrer-policy"] == "no-referrer"


def test_the_form_speaks_french(survey_ws: Workspace, tmp_path: object) -> None:
    from dataclasses import replace

    from tests.survey.conftest import survey_config

    french = replace(survey_ws, config=survey_config(language="fr"))
    app = FastAPI()
    app.include_router(survey_router(french))
    with TestClient(app) as c:
        html = c.get(link(survey_ws, "inv-1")).text
    assert '<html lang="fr">' in html and "Envoyer" in html and "Votre avis" in html


def test_an_answer_through_the_form_then_a_second(client: TestClient, survey_ws: Workspace) -> None:
    path = link(survey_ws, "inv-1")
    done = client.post(path, data={"ltr": "10", "osat": "5", "q_wait": "4", "comment": "Quick"})
    assert done.status_code == 200 and "Thank you" in done.text
    again = client.post(path, data={"ltr": "0"})
    assert again.status_code == 409 and "already answered" in again.text
    assert client.get(path).status_code == 409
    with survey_ws.warehouse() as wh:
        rows = wh.table("feedback").execute()
    assert rows.ltr.tolist() == [10.0] and rows.comment.tolist() == ["Quick"]


def test_a_bad_answer_shows_the_form_again_with_the_reason_and_the_comment_as_text(
    client: TestClient, survey_ws: Workspace
) -> None:
    path = link(survey_ws, "inv-1")
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    page = client.post(path, data={"ltr": "12", "comment": hostile})
    assert page.status_code == 422 and "ltr: out of scale: 12.0" in page.text
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=" in page.text
    assert client.post(path, data={"ltr": "9", "comment": hostile}).status_code == 200


def test_links_that_cannot_be_answered(client: TestClient, survey_ws: Workspace) -> None:
    assert client.get("/s/not-a-token").status_code == 404
    with survey_ws.warehouse() as wh:
        expired = sign_token(link_secret(wh), "inv-1", NOW)  # in the past
    page = client.get(f"/s/{expired}")
    assert page.status_code == 410 and "expired" in page.text
    assert client.post(f"/s/{expired}", data={"ltr": "9"}).status_code == 410


def test_the_json_twin(client: TestClient, survey_ws: Workspace) -> None:
    token = link(survey_ws, "inv-1").removeprefix("/s/")
    url = f"/api/v1/responses/{token}"
    bad = client.post(url, json={"ltr": 42})
    assert bad.status_code == 422 and bad.json()["status"] == "quarantined"
    assert bad.json()["reasons"] == ["ltr: out of scale: 42.0 (expected 0 to 10)"]
    assert client.post(url, json=[1, 2]).status_code == 422
    assert client.post(url, content=b"{not json").status_code == 422
    good = client.post(url, json={"ltr": 4, "q_wait": 2, "comment": "slow"})
    assert good.status_code == 201
    assert good.json() == {
        "status": "accepted", "invitation_id": "inv-1", "response_id": "survey-inv-1",
        "case_id": "case-inv-1", "reasons": [],
    }  # fmt: skip
    assert client.post(url, json={"ltr": 9}).status_code == 409
    assert client.post("/api/v1/responses/x.1.y", json={"ltr": 9}).status_code == 404
    with survey_ws.warehouse() as wh:
        answers = wh.table("survey_answers").execute()
    assert answers.channel.tolist() == ["api"]


def test_earnright_serve_mounts_the_survey_without_sign_in(survey_ws: Workspace) -> None:
    from earnright.api.workspace import Workspace as ApiWorkspace
    from earnright.serve.app import create_app

    with TestClient(create_app(ApiWorkspace(survey_ws))) as c:
        path = link(survey_ws, "inv-1")
        assert c.get(path, follow_redirects=False).status_code == 200
        done = c.post(path, data={"ltr": "9", "osat": "4"}, follow_redirects=False)
        assert done.status_code == 200 and "Thank you" in done.text
        assert c.get("/api/v1/scorecard", follow_redirects=False).status_code == 401
    with survey_ws.warehouse() as wh:
        assert wh.table("feedback").execute().ltr.tolist() == [9.0]
