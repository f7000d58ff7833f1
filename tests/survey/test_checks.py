"""The quick check of plain answers types exactly the rows file ingestion's checks accept, and
leaves every other answer to them (earnright.survey.checks)."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pandas as pd
import pytest

from earnright.comments.privacy import FREE_TEXT, Masker, mask_columns
from earnright.ingest.kinds import KINDS, validate_chunk
from earnright.survey import submission
from earnright.survey.checks import plain_row
from earnright.survey.form import form_questions
from earnright.survey.invitations import Invitation
from earnright.warehouse import Warehouse
from earnright.workspace import Workspace
from tests.survey.conftest import NOW, SENT, survey_config
from tests.survey.test_submission import token_of

CONFIG = survey_config()
AT = datetime(2026, 9, 2, 10, 30, 15, 123456)
# answers a customer, a kiosk or a fuzzer might send: plain ones and every kind of odd one
VALUES: list[Any] = [
    None, "", "  ", "0", "1", "3", "5", "7", "9", "10", " 4 ", "04", "11", "-1", "6.0", "4.5",
    "NA", "null", "abc", "1e1", "٣", "+3", "inf", 3, 7, 9.0, 12, True, "\t8\n",
]  # fmt: skip
COMMENTS: list[Any] = [
    None, "", "fine", "  spaced  ", "<script>alert(1)</script>", "mail jo@example.com please",
    "x" * 50, 42, "line\nbreak",
]  # fmt: skip
MOMENTS = ["pickup", "checkout", None]


def invitation(k: int, moment: str | None, unit: str = "S1") -> Invitation:
    return Invitation(f"inv-{k}", unit, unit, f"c{k}", moment, SENT)


def random_items(rng: random.Random, n: int) -> dict[int, tuple[submission.Submission, Any]]:
    items = {}
    for k in range(n):
        moment = rng.choice(MOMENTS)
        asked = [q.id for q in form_questions(CONFIG, moment)]
        answers = {q: rng.choice(VALUES) for q in asked if rng.random() < 0.8}
        if rng.random() < 0.7:
            answers["comment"] = rng.choice(COMMENTS)
        if rng.random() < 0.05:
            answers["q_unknown"] = "3"  # not a question of the form
        items[k] = (submission.Submission(f"t{k}", answers), invitation(k, moment))
    return items


def reference(items: dict[int, tuple[submission.Submission, Any]]) -> submission.CheckedAnswers:
    """Every row through validate_chunk, as before the quick check existed."""
    rows, reasons, columns = [], {}, set()
    for k, (sub, inv) in items.items():
        asked = [q.id for q in form_questions(CONFIG, inv.moment)]
        columns |= set(asked)
        rows.append(submission.answer_row(inv, sub.answers, asked, k + 1, AT))
        if found := submission.form_problems(sub.answers, asked):
            reasons[k + 1] = [r for _, r in found]
    frame = pd.DataFrame(rows)
    frame = frame.astype({c: "string" for c in frame.columns if c != "_line"})
    good, bad = validate_chunk(KINDS["feedback"], frame, CONFIG, sorted(columns), {"S1"})
    mask_columns(good, FREE_TEXT["feedback"], Masker(CONFIG.privacy.identifiers))
    for line, reason in zip(bad.line, bad.reason, strict=True):
        reasons[int(line)] = [reason, *reasons.get(int(line), [])]
    accepted = {}
    for row in good.to_dict("records"):
        line = int(row.pop("_line"))
        if line not in reasons:
            accepted[line - 1] = {c: submission.warehouse_value(v) for c, v in row.items()}
    return submission.CheckedAnswers(accepted, reasons, None)


@pytest.mark.parametrize("seed", range(6))
def test_quick_and_chunk_checks_accept_and_refuse_the_same_answers(seed: int) -> None:
    items = random_items(random.Random(seed), 60)
    quick, slow = submission.check_answers(CONFIG, items, AT), reference(items)
    assert quick.reasons == slow.reasons
    assert quick.accepted == slow.accepted
    assert 10 < len(quick.accepted) < 60  # both kinds were drawn


def test_what_is_plain() -> None:
    def plain(value: Any, question: str = "ltr") -> bool:
        row = {"response_id": "r", "unit_id": "S1", "moment": "pickup", question: value}
        return plain_row(CONFIG, row, [question], AT) is not None

    assert all(plain(v) for v in [None, "", " ", "0", "10", " 7 ", "07"])
    assert not any(plain(v) for v in ["11", "-1", "6.0", "NA", "abc", "1e1", "٣", "+3", "inf"])
    assert plain("5", "osat") and not plain("6", "osat")  # each question's own scale
    row = {"response_id": "r", "unit_id": "S1", "moment": "nowhere", "ltr": "9"}
    assert plain_row(CONFIG, row, ["ltr"], AT) is None  # an unknown moment: the checks say why
    assert plain_row(CONFIG, row | {"moment": " pickup "}, ["ltr"], AT) == {
        "response_id": "r", "unit_id": "S1", "responded_at": AT, "customer_id": None,
        "channel": "survey", "moment": "pickup", "comment": None, "ltr": 9.0,
    }  # fmt: skip


def test_a_plain_answer_skips_the_chunk_checks(
    swh: Warehouse, survey_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixed cost of the pandas checks (tens of ms a call) is not paid per answer."""

    def refuse(*_: Any) -> None:
        raise AssertionError("validate_chunk called for a plain answer")

    monkeypatch.setattr(submission, "validate_chunk", refuse)
    token = token_of(swh, survey_ws, "inv-1")
    answers = {"ltr": "9", "osat": 4, "q_wait": " 3 ", "comment": "quick"}
    result = submission.submit_answer(swh, survey_ws.config, token, answers, now=NOW)
    assert result.status == "accepted"
    t = swh.table("feedback")
    assert t.select("ltr", "osat", "q_wait", "comment").to_pyarrow().to_pylist() == [
        {"ltr": 9.0, "osat": 4.0, "q_wait": 3.0, "comment": "quick"}
    ]
