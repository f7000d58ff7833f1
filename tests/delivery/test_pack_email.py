"""`earnright pack --email`: each recipient gets their own pack through the outbox, at least
once, and a second run in the same month sends nothing new."""

from __future__ import annotations

import email
import re
import subprocess
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

from earnright.api import Workspace, open_workspace
from earnright.services.demo import run_demo
from tests.cli.test_commands import run
from tests.delivery.test_delivery import _SMTPServer, smtp_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = run_demo(tmp_path_factory.mktemp("mail") / "ws", stores=4, months=8, seed=5).workspace
    with (root / "earnright.toml").open("a") as config:
        config.write(
            '\n[[pack.recipients]]\nname = "Chief Customer Officer"\nemail = "cco@example.com"\n'
            '\n[[pack.recipients]]\nname = "Store manager"\nemail = "s2@example.com"\n'
            'unit = "S0002"\n'
            '\n[[pack.recipients]]\nname = "Store manager, again"\nemail = "s2b@example.com"\n'
            'unit = "S0002"\n'
        )
    return root


def _with_relay(root: Path, port: int) -> Workspace:
    config = root / "earnright.toml"
    text = re.sub(r'(?m)^smtp_host = ".*"$', 'smtp_host = "127.0.0.1"', config.read_text())
    config.write_text(re.sub(r"(?m)^smtp_port = \d+$", f"smtp_port = {port}", text))
    return open_workspace(root)


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "attached.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


def _attachment(message: Message) -> tuple[str, bytes]:
    (part,) = [p for p in message.walk() if p.get_content_disposition() == "attachment"]
    return str(part.get_filename()), part.get_payload(decode=True)  # type: ignore[return-value]


def test_each_recipient_gets_their_pack_once_a_month(
    demo: Path,
    smtp_server: _SMTPServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    ws = _with_relay(demo, smtp_server.server_address[1])
    done = run("pack", "--email", "--period", "2026-08", cwd=demo)
    assert done.returncode == 0, done.stderr
    assert "3 new pack messages; outbox: 3 delivered" in done.stdout
    sent = {tuple(m["to"]): email.message_from_bytes(m["data"]) for m in smtp_server.messages}
    assert set(sent) == {("<cco@example.com>",), ("<s2@example.com>",), ("<s2b@example.com>",)}
    name, pdf = _attachment(sent[("<s2@example.com>",)])
    store = _pdf_text(pdf, tmp_path)
    assert name == "S0002.pdf" and "Customer asset ledger" in store
    with ws.warehouse() as wh:
        stores = wh.table("units").filter(lambda t: t.level == "store").to_pandas()
    others = [u for u in stores.unit_id if u != "S0002"]
    assert others and not any(u in store for u in others)  # only their own store
    name, pdf = _attachment(sent[("<cco@example.com>",)])
    assert name == "company.pdf" and all(u in _pdf_text(pdf, tmp_path) for u in others)
    again = run("pack", "--email", "--period", "2026-08", cwd=demo)
    assert "0 new pack messages; outbox: 0 delivered" in again.stdout
    assert len(smtp_server.messages) == 3  # idempotent for the month


def test_a_failed_send_is_retried_and_not_queued_twice(demo: Path) -> None:
    ws = open_workspace(demo)
    calls: list[str] = []

    def down(message: object, delivery: object) -> None:
        calls.append(str(getattr(message, "target", "")))
        raise OSError("relay down")

    first = ws.email_packs(period="2026-07", send_email=down)
    assert len(first.queued) == 3 and first.delivery["retrying"] == 3
    assert len({q["file"] for q in first.queued}) == 2  # one pack per unit, not per person
    second = ws.email_packs(period="2026-07", send_email=down)
    assert second.queued == [] and len(calls) == 3  # not due again yet: nothing resent
    later = ws.email_packs(period="2026-07", now=datetime.now(UTC) + timedelta(hours=1),
                           send_email=lambda message, delivery: calls.append("ok"))  # fmt: skip
    assert later.queued == [] and later.delivery["delivered"] == 3 and calls[3:] == ["ok"] * 3
