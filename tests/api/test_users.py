"""`earnright users list --format json` prints the people the server's users module reads."""

from __future__ import annotations

from pathlib import Path

import earnright
from earnright.serve.users import add_user, disable_user, list_users
from tests.api.conftest import cli, same


def test_users_list_prints_every_person_as_stored(copy: Path) -> None:
    ws = earnright.open_workspace(copy)
    with ws.location.warehouse() as wh:
        add_user(wh, "ana", "manager", "a long secret", "D001", [])
        add_user(wh, "bo", "owner", "a long secret", None, ["checkout"])
        disable_user(wh, "bo")
        rows = list_users(wh)
    expected = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows]
    printed = cli("users", "list", "-w", str(copy))
    assert same(printed, expected) == []
    assert [(p["user_name"], p["role"]) for p in printed] == [("ana", "manager"), ("bo", "owner")]
    assert printed[0]["disabled_at"] is None and printed[1]["disabled_at"] is not None
