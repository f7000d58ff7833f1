"""docs/cli.md documents every command, and each command's options in that command's own section
(a test that fails when one is not, or when the formats the docs name are not those offered)."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

import pytest
import typer.main

from earnright.cli import COMMANDS, app
from earnright.cli.output import Format

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
HEADING = re.compile(r"^## `earnright (?P<name>[a-z]+)(?P<synopsis>[^`]*)`", re.MULTILINE)


def sections(text: str) -> dict[str, tuple[str, str]]:
    """Command name -> (its heading's synopsis, the whole section) of docs/cli.md."""
    found = list(HEADING.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    pairs = zip(found, ends, strict=True)
    return {m["name"]: (m["synopsis"], text[m.start() : end]) for m, end in pairs}


SECTIONS = sections(DOCS)
GROUP = typer.main.get_command(app)


def test_every_command_has_a_section() -> None:
    foundation = {"init", "ingest", "status", "quarantine", "scorecard", "demo"}
    listening = {"credibility", "needed", "changes", "rank", "drivers", "hygiene", "focus"}
    early_warning = {"localize", "detect", "reliability", "warnings", "watch"}
    assets = {"assets", "clv"}
    assert set(COMMANDS) == foundation | listening | early_warning | assets
    assert set(SECTIONS) == set(COMMANDS)


def test_the_sections_parse_one_per_command() -> None:
    text = "## `earnright a [--x]`\nuses --y\n## `earnright b [--z]`\n--w\n"
    assert sections(text) == {
        "a": (" [--x]", "## `earnright a [--x]`\nuses --y\n"),
        "b": (" [--z]", "## `earnright b [--z]`\n--w\n"),
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_option_is_in_its_own_commands_section(name: str) -> None:
    command = GROUP.get_command(None, name)  # type: ignore[attr-defined, arg-type]
    synopsis, section = SECTIONS[name]
    for param in command.params:
        for opt in [o for o in param.opts if o.startswith("--") and o != "--help"]:
            assert opt in synopsis, f"{name} {opt} is not in its heading in docs/cli.md"
        for opt in [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]:
            if opt != "--help":
                assert re.search(rf"{re.escape(opt)}(?![\w-])", section), (name, opt)


def _choices(name: str) -> set[str] | None:
    command = GROUP.get_command(None, name)  # type: ignore[attr-defined, arg-type]
    for param in command.params:
        if "--format" in param.opts:
            enum = param.type_descriptor.annotation
            assert isinstance(enum, type) and issubclass(enum, Enum), name
            return {str(e.value) for e in enum}
    return None


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_formats_in_the_docs_are_the_formats_offered(name: str) -> None:
    offered = _choices(name)
    synopsis, _ = SECTIONS[name]
    named = re.search(r"--format ([a-z|F]+)", synopsis)
    if offered is None:
        assert named is None, f"{name} documents --format but has none"
        return
    assert named is not None, name
    documented = set(Format) if named[1] == "F" else set(named[1].split("|"))
    assert {str(f) for f in documented} == offered, name
    if named[1] == "F":  # the formats every other command offers are listed at the top
        assert "`table`, `csv`, `json`, `parquet`, `xlsx`" in DOCS


def test_the_version_option_is_documented() -> None:
    assert "earnright --version" in DOCS
