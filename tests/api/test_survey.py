"""The survey's methods and commands: --format json prints exactly the method's to_dict()."""

from __future__ import annotations

from pathlib import Path

import pytest

import earnright
from earnright.survey import submit_answer
from earnright.workspace import Workspace
from tests.api.conftest import cli, same
from tests.cli.test_commands import run
from tests.survey.conftest import NOW, make_survey_workspace

AT = "2026-09-02T09:00:00"
LATER = "2026-09-05T10:00:00"


@pytest.fixture
def survey_ws(tmp_path: Path) -> Workspace:
    return make_survey_workspace(tmp_path)


@pytest.fixture
def where(survey_ws: Workspace) -> str:
    return str(survey_ws.root)


def _detractor(ws: Workspace) -> None:
    api = earnright.open_workspace(ws.root)
    url = api.survey_links(now=AT).to_frame().set_index("invitation_id").url["inv-1"]
    with ws.warehouse() as wh:
        submit_answer(wh, ws.config, url.rsplit("/", 1)[1], {"ltr": "2"}, now=NOW)


def test_links_rates_and_cases_are_the_same_in_python_and_json(
    survey_ws: Workspace, where: str
) -> None:
    _detractor(survey_ws)
    api = earnright.open_workspace(where)
    since = "2026-09-01"
    assert same(cli("survey", "links", "--now", AT, "-w", where),
                api.survey_links(now=AT).to_dict()) == []  # fmt: skip
    assert same(cli("survey", "links", "--since", since, "--now", AT, "-w", where),
                api.survey_links(since=since, now=AT).to_dict()) == []  # fmt: skip
    assert same(cli("survey", "rates", "-w", where), api.survey_rates().to_dict()) == []
    assert same(cli("survey", "cases", "--now", LATER, "-w", where),
                api.survey_cases(now=LATER).to_dict()) == []  # fmt: skip
    assert same(cli("survey", "cases", "--status", "open", "--now", AT, "-w", where),
                api.survey_cases(status="open", now=AT).to_dict()) == []  # fmt: skip
    assert [c["case_id"] for c in api.survey_cases(now=LATER).to_dict()] == ["case-inv-1"]
    assert api.survey_cases(now=LATER).to_dict()[0]["overdue"] is True


def test_remind_and_follow_up_print_what_they_stored(survey_ws: Workspace, where: str) -> None:
    _detractor(survey_ws)
    reminded = cli("survey", "remind", "--now", LATER, "-w", where)
    assert sorted(r["invitation_id"] for r in reminded) == ["inv-2", "inv-3", "inv-4"]
    assert cli("survey", "remind", "--now", LATER, "-w", where) == []  # never twice
    done = cli("survey", "case", "case-inv-1", "--note", "Called", "--by", "Dana", "--close",
               "--now", LATER, "-w", where)  # fmt: skip
    assert done == {"case_id": "case-inv-1", "note": "Called", "noted_by": "Dana",
                    "noted_at": "2026-09-05 10:00:00", "closes": 1}  # fmt: skip
    api = earnright.open_workspace(where)
    assert api.survey_cases(status="closed").to_dict()[0]["last_note"] == "Called"


def test_bad_requests_exit_2_naming_the_option(where: str) -> None:
    unknown = run(
        "survey", "case", "case-x", "--note", "n", "--by", "b", "-w", where, cwd=Path(where)
    )
    assert unknown.returncode == 2 and "no case 'case-x'" in unknown.stderr
    status = run("survey", "cases", "--status", "pending", "-w", where, cwd=Path(where))
    assert status.returncode == 2 and "--status" in status.stderr
    since = run("survey", "links", "--since", "yesterday-ish", "-w", where, cwd=Path(where))
    assert since.returncode == 2 and "--since: 'yesterday-ish' is not a date" in since.stderr
