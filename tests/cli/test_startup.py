"""`earnright --help` and `--version` start without the heavy libraries; every command is listed.

The check is on what Python imports (``-X importtime``), not on a time, so it holds on any
machine: pandas, scipy and Ibis take seconds to load and none of them is needed to list commands.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer

from earnright.cli import COMMANDS, app, load_command

HEAVY = ("pandas", "scipy", "ibis", "duckdb", "pyarrow", "numpy")


def imported_modules(*args: str, full: bool = False) -> tuple[set[str], str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "earnright", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == (0 if args else 2), done.stderr[-2000:]  # no command: usage
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", done.stderr, re.MULTILINE)
    assert "earnright.cli" in names  # the parse found the modules
    return {name if full else name.split(".")[0] for name in names}, done.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    modules, out = imported_modules(*args)
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))
    if args == ["--version"]:
        assert out == f"earnright {version('earnright')}\n"
    else:
        assert all(name in out for name in COMMANDS)


def test_localizing_a_file_loads_no_other_capability(tmp_path: Path) -> None:
    # `earnright localize` is run once per case by benchmarks and scripts: before, it loaded
    # every result type of the public API (the listening statistics, scipy.stats), about
    # three times the CPU the localisation itself takes on a Squeeze-sized case.
    case = tmp_path / "case.csv"
    rows = [f"{10.0 if a == 'a1' else 5.0},5.0,{a},{b}" for a in ("a1", "a2") for b in ("b1", "b2")]
    case.write_text("real,predict,a,b\n" + "\n".join(rows) + "\n")
    modules, out = imported_modules("localize", str(case), "--format", "json", full=True)
    assert "root_causes" in out
    loaded = sorted(m for m in modules if m.startswith(("earnright.listening", "scipy.stats")))
    assert not loaded, loaded


def test_the_summaries_listed_are_each_commands_own_help() -> None:
    for name, (_, summary) in COMMANDS.items():
        command = load_command(name)
        first = " ".join((command.help or "").split("\n\n")[0].split())
        assert first.startswith(summary), (name, summary, first)


def test_every_command_a_module_registers_is_listed() -> None:
    for module_name in {module for module, _ in COMMANDS.values()}:
        sub = typer.Typer()
        importlib.import_module(f"earnright.cli.{module_name}").register(sub)
        for info in sub.registered_commands:
            assert COMMANDS[str(info.name)][0] == module_name, info.name


def test_an_unknown_command_is_refused_with_a_suggestion() -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["rnak"])
    assert result.exit_code == 2 and "rank" in result.output


def _help_paragraphs(command: list[str]) -> list[list[str]]:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "80"})
    text = result.output.split("Usage:", 1)[1].split("╭", 1)[0]
    paragraphs: list[list[str]] = [[]]
    for line in text.splitlines()[1:]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


@pytest.mark.parametrize("command", [["rank"], ["localize"], ["survey", "links"]])
def test_help_wraps_whole_paragraphs_and_shows_config_sections(command: list[str]) -> None:
    # Before: the docstrings' own line breaks (at 100 columns) stayed in the help, so an
    # 80-column terminal showed ragged short lines, and "[listening] min_n" lost its section
    # (the terminal read the brackets as markup).
    paragraphs = _help_paragraphs(command)
    assert paragraphs
    for lines in paragraphs:
        assert all(len(line) >= 50 for line in lines[:-1]), lines
    text = " ".join(" ".join(p) for p in paragraphs)
    if command == ["rank"]:
        assert "fewer than [listening] min_n answers" in text
    if command == ["survey", "links"]:
        assert "[survey] base_url" in text
