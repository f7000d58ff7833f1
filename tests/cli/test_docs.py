"""docs/cli.md documents every command, and each command's options in that command's own section
(a test that fails when one is not, or when the formats the docs name are not those offered)."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import typer.main

from earnright.cli import COMMANDS, app
from earnright.cli.output import Format

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
HEADING = re.compile(
    r"^## `earnright (?P<name>[a-z-]+(?: [a-z]+)?)(?P<synopsis>(?: [^a-z`][^`]*)?)`", re.MULTILINE
)
# Options every command that has them shares, documented once before the first command.
SHARED = ("--workspace", "--grain", "--period", "--format", "--output")


def sections(text: str) -> dict[str, tuple[str, str]]:
    """Command name (``quarantine list`` for a subcommand) -> (its heading's synopsis, the
    section's text below the heading) of docs/cli.md."""
    found = list(HEADING.finditer(text))
    ends = [m.start() for m in found[1:]] + [len(text)]
    pairs = zip(found, ends, strict=True)
    return {m["name"]: (m["synopsis"], text[m.end() : end]) for m, end in pairs}


SECTIONS = sections(DOCS)
PREAMBLE = DOCS[: DOCS.index("\n## ")]
GROUP = typer.main.get_command(app)


def leaf_commands(group: Any = GROUP, prefix: str = "") -> dict[str, Any]:
    """Every command that runs, from the Typer app itself: ``quarantine list`` for a group's."""
    found = {}
    for name in group.list_commands(None):
        command = group.get_command(None, name)
        if hasattr(command, "list_commands"):
            found |= leaf_commands(command, f"{prefix}{name} ")
        else:
            found[prefix + name] = command
    return found


LEAVES = leaf_commands()


def long_options(command: Any) -> list[str]:
    """Every ``--option`` of a command, both names of a ``--flag/--no-flag`` pair, no --help."""
    names = [o for p in command.params for o in [*p.opts, *p.secondary_opts]]
    return [o for o in names if o.startswith("--") and o != "--help"]


def undocumented(name: str, command: Any, sections: dict[str, tuple[str, str]]) -> list[str]:
    """What is missing of ``command``'s options in its section: ``heading --opt`` when its
    heading does not show it, ``text --opt`` when no sentence below the heading says what it
    does (the shared options are said once, before the first command)."""
    synopsis, body = sections[name]
    missing = []
    for opt in long_options(command):
        if not re.search(rf"{re.escape(opt)}(?![\w-])", synopsis):
            missing.append(f"heading {opt}")
        said = re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", body)
        if not said and opt not in SHARED:
            missing.append(f"text {opt}")
    return missing


def test_every_command_has_a_section() -> None:
    foundation = {"init", "ingest", "status", "quarantine", "scorecard", "demo"}
    listening = {"credibility", "needed", "changes", "rank", "drivers", "hygiene", "focus"}
    early_warning = {"localize", "detect", "reliability", "warnings", "watch"}
    assets = {"assets", "clv", "losses", "loss-review", "loss-call", "loyalty"}
    accountability = {"issue", "review", "decide", "commit", "commitments", "outcomes"}
    reports = {"report", "pack"}
    survey = {"survey"}
    serving = {"serve", "users", "tokens"}
    privacy = {"forget", "forgotten"}
    comments = {"comments", "themes"}
    everything = foundation | listening | early_warning | assets | accountability | reports
    everything |= survey | serving | privacy | comments
    assert set(COMMANDS) == everything
    assert {"quarantine list", "quarantine clear"} < set(LEAVES)
    assert set(SECTIONS) == set(LEAVES)


def test_the_sections_parse_one_per_command() -> None:
    text = "## `earnright a [--x]`\nuses --y\n## `earnright b c [--z]`\n--w\n"
    assert sections(text) == {"a": (" [--x]", "\nuses --y\n"), "b c": (" [--z]", "\n--w\n")}


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_each_option_is_documented_in_its_own_commands_section(name: str) -> None:
    assert undocumented(name, LEAVES[name], SECTIONS) == []


def test_the_shared_options_are_documented_before_the_commands() -> None:
    for opt in SHARED:
        assert re.search(rf"`{opt}[ `]", PREAMBLE), opt


def test_an_undocumented_option_is_caught() -> None:
    """The check can fail: an option missing from the heading, or said nowhere below it."""
    command = LEAVES["rank"]
    synopsis, body = SECTIONS["rank"]
    cut = {"rank": (synopsis.replace(" [--draws N]", ""), body.replace("`--draws`", "draws"))}
    assert undocumented("rank", command, cut) == ["heading --draws", "text --draws"]
    pair = {"focus": SECTIONS["focus"]}
    pair["focus"] = (pair["focus"][0], pair["focus"][1].replace("--fdr/--no-fdr", "--fdr"))
    assert undocumented("focus", LEAVES["focus"], pair) == ["text --no-fdr"]


def _choices(name: str) -> set[str] | None:
    command = LEAVES[name]
    for param in command.params:
        if "--format" in param.opts:
            enum = param.type_descriptor.annotation
            assert isinstance(enum, type) and issubclass(enum, Enum), name
            return {str(e.value) for e in enum}
    return None


@pytest.mark.parametrize("name", sorted(LEAVES))
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
