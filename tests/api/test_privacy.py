"""The privacy methods return what their commands print with --format json; on the demo
company, forgetting a customer leaves the ledger's numbers as they were."""

from __future__ import annotations

from pathlib import Path

import earnright
from tests.api.conftest import cli, same


def test_forget_and_forgotten_match_their_commands(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    where = ["-w", str(copy)]
    with ws.warehouse() as wh:
        t = wh.table("transactions")
        first, second = (
            t.customer_id.value_counts().order_by("customer_id").limit(2).execute()["customer_id"]
        )
    ledger = ws.assets(grain="quarter").to_dict()
    done = cli("forget", first, "--reason", "erasure request", "--by", "dpo", *where)
    assert done["already"] is False and done["tables"]["transactions"] > 0
    again = ws.forget(first, by="someone else").to_dict()  # the record of the first, unchanged
    assert same(again, done | {"already": True}) == []
    ws.forget(second, by="dpo")
    assert same(cli("forgotten", *where), ws.forgotten().to_dict()) == []
    assert len(ws.forgotten()) == 2
    assert same(ws.assets(grain="quarter").to_dict(), ledger) == []
