"""The loss methods return what their commands print with --format json."""

from __future__ import annotations

from pathlib import Path

import earnright
from tests.api.conftest import cli, same


def test_losses_the_review_and_a_recorded_call_match_their_commands(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    where = ["-w", str(copy)]
    losses = cli("losses", "--grain", "quarter", *where)
    assert same(losses, ws.losses(grain="quarter").to_dict()) == []
    review = cli("loss-review", "--top", "3", *where)
    assert same(review, ws.loss_review(top=3).to_dict()) == []
    customer = ws.loss_review(top=1).to_frame().customer_id.iloc[0]
    at = "2026-10-02T10:00:00"
    called = cli("loss-call", customer, "--reason", "moved away", "--by", "ana", "--at", at,
                 *where)  # fmt: skip
    again = ws.record_loss_call(customer, "moved away", "ana", at="2026-10-03T10:00:00").to_dict()
    (row,), (other,) = called, again  # one row each, the same fields, another time
    assert set(row) == set(other) and row["called_at"] != other["called_at"]
    assert customer not in set(ws.loss_review(top=3).to_frame().customer_id)  # called: done
