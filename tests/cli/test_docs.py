"""Every command and option is documented in docs/cli.md (a test that fails when one is not)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from earnright.cli import app

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()


def test_every_command_and_option_is_in_docs() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    foundation = {"init", "ingest", "status", "quarantine", "scorecard", "demo"}
    listening = {"credibility", "needed", "changes", "rank", "drivers", "hygiene", "focus"}
    early_warning = {"localize", "detect", "reliability", "warnings", "watch"}
    assert set(commands) == foundation | listening | early_warning
    for name, command in commands.items():
        assert f"## `earnright {name}" in DOCS, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert opt in DOCS, f"{name} {opt} is not in docs/cli.md"
