"""Reminders (at least once, never twice), response rates, and detractors' cases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from earnright.delivery import deliver_pending
from earnright.errors import QueryError
from earnright.survey import (
    list_cases,
    record_followup,
    response_rates,
    send_reminders,
    submit_answer,
    survey_links,
)
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace
from tests.survey.conftest import NOW, SENT, survey_config

pytestmark = pytest.mark.usefixtures("backend")
LATER = SENT + timedelta(days=3, hours=1)  # remind_after (3 days) has passed


def answer(wh: Warehouse, ws: Workspace, invitation: str, **answers: str) -> str | None:
    links = survey_links(wh, ws.config, now=NOW).set_index("invitation_id")
    token = links.url[invitation].rsplit("/", 1)[1]
    return submit_answer(wh, ws.config, token, answers, now=NOW).case_id


def test_reminders_go_once_to_open_invitations_past_the_wait(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    config = survey_ws.config
    answer(swh, survey_ws, "inv-2", ltr="9")
    early = send_reminders(swh, config, now=SENT + timedelta(days=2))  # too early for most
    assert early.invitation_id.tolist() == ["inv-4"]  # sent 5 days before SENT: due
    due = send_reminders(swh, config, now=LATER)
    assert sorted(due.invitation_id) == ["inv-1", "inv-3"]  # not inv-2 (answered), inv-5 (expired)
    assert send_reminders(swh, config, now=LATER).empty
    assert send_reminders(swh, config, now=LATER + timedelta(days=5)).empty
    outbox = swh.table("outbox").execute()
    assert len(outbox) == 3 and set(outbox.target) == {"https://sms.example.com/send"}
    assert outbox.message_id.is_unique and set(outbox.event) == {"reminder"}
    payload = json.loads(outbox.set_index("incident_id").payload["inv-1|1"])
    assert payload["incident"]["url"].startswith("https://survey.example.com/s/")
    sent: list[str] = []
    report = deliver_pending(
        swh, config, now=LATER, send_webhook=lambda m, d: sent.append(m.message_id)
    )
    assert report.delivered == 3 and sorted(sent) == sorted(outbox.message_id)


def test_a_failed_reminder_is_retried_and_not_duplicated(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    config = survey_ws.config
    send_reminders(swh, config, now=LATER)
    calls: list[str] = []

    def flaky(message: object, delivery: object) -> None:
        calls.append(message.message_id)
        if len(calls) == 1:
            raise OSError("gateway down")

    deliver_pending(swh, config, now=LATER, send_webhook=flaky)
    deliver_pending(swh, config, now=LATER + timedelta(days=1), send_webhook=flaky)
    outbox = swh.table("outbox").execute()
    assert set(outbox.status) == {"delivered"} and len(outbox) == 4  # inv-1 to inv-4
    assert len(calls) == 5 and len(set(calls)) == 4  # the failed one once more, no other twice


def test_no_reminders_without_a_team(swh: Warehouse, survey_ws: Workspace) -> None:
    config = survey_config(reminders_to="")
    assert send_reminders(swh, config, now=LATER).empty and swh.count("outbox") == 0


def test_response_rates_per_store_and_moment(swh: Warehouse, survey_ws: Workspace) -> None:
    answer(swh, survey_ws, "inv-1", ltr="9")
    rates = response_rates(swh).set_index(["unit_id", "moment"])
    assert rates.loc[("S1", "pickup")].tolist() == [2, 1, 0.5]
    assert rates.loc[("S2", "checkout")].tolist() == [1, 0, 0.0]
    assert rates.loc[("S3", "pickup")].tolist() == [2, 0, 0.0]
    since = response_rates(swh, since=SENT).set_index(["unit_id", "moment"])
    assert ("S3", "pickup") not in since.index


def test_a_detractor_opens_a_case_and_alerts_the_stores_manager(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    assert answer(swh, survey_ws, "inv-2", ltr="7", comment="fine") is None  # a passive
    case_id = answer(swh, survey_ws, "inv-1", ltr="3", comment="Waited 40 minutes <b>!</b>")
    assert case_id == "case-inv-1"
    cases = list_cases(swh, now=NOW)
    case = cases.set_index("case_id").loc[case_id]
    assert (case.unit_id, case.moment, case.ltr, case.manager) == ("S1", "pickup", 3.0, "unit:D1")
    assert case.answer_by == NOW + timedelta(hours=48) and case.status == "open"
    assert not case.overdue
    outbox = swh.table("outbox").execute()
    assert outbox[["channel", "target", "event"]].values.tolist() == [
        ["email", "d1-manager@example.com", "case"]
    ]
    payload = json.loads(outbox.payload.iloc[0])
    assert "Store 1" in payload["text"] and payload["incident"]["comment"].startswith("Waited")
    late = list_cases(swh, now=NOW + timedelta(hours=49)).set_index("case_id").loc[case_id]
    assert late.overdue


def test_a_case_without_a_manager_goes_to_the_case_owner(
    swh: Warehouse, survey_ws: Workspace
) -> None:
    case_id = answer(swh, survey_ws, "inv-4", ltr="0")  # S3 is under D2: no unit:D2 team
    assert list_cases(swh, now=NOW).set_index("case_id").manager[case_id] == ""
    assert swh.count("outbox") == 0  # opened all the same, nobody to tell


def test_a_cases_follow_up_is_recorded(swh: Warehouse, survey_ws: Workspace) -> None:
    case_id = answer(swh, survey_ws, "inv-1", ltr="2")
    assert case_id is not None
    record_followup(swh, case_id, "Called, apologised", "Dana", now=NOW + timedelta(hours=3))
    case = list_cases(swh, now=NOW + timedelta(days=3)).iloc[0]
    assert (case.status, case.followups, case.last_by, bool(case.overdue)) == (
        "followed up", 1, "Dana", False,
    )  # fmt: skip
    record_followup(swh, case_id, "Voucher sent", "Dana", now=NOW + timedelta(hours=5), close=True)
    assert list_cases(swh, now=NOW, status="closed").case_id.tolist() == [case_id]
    assert list_cases(swh, now=NOW, status="open").empty
    with pytest.raises(QueryError, match="no case 'case-x'"):
        record_followup(swh, "case-x", "note", "Dana", now=NOW)
    with pytest.raises(QueryError, match="needs a `note`"):
        record_followup(swh, case_id, " ", "Dana", now=NOW)
