"""``Workspace.<method>(...).to_dict()`` equals ``earnright <command> --format json``, for the
same arguments, on every listening and reliability command of a demo workspace (the data
commands' are in test_operations.py; every command that prints JSON has one: checked below)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import earnright
from earnright.services.demo import DemoRun
from tests.api.conftest import cli, same

# (command line after the command name, method keyword arguments)
CASES: dict[str, list[tuple[list[str], dict[str, Any]]]] = {
    "scorecard": [
        ([], {}),
        (["--level", "region", "--grain", "quarter"], {"level": "region", "grain": "quarter"}),
        (["--period", "2026-08"], {"period": "2026-08"}),
    ],
    "credibility": [([], {}), (["--level", "district"], {"level": "district"})],
    "needed": [([], {}), (["--change", "15", "--power", "0.9"], {"change": 15, "power": 0.9})],
    "changes": [
        (["--all"], {"show_all": True}),
        (
            ["--against", "peers", "--metric", "csat", "--all"],
            {"against": "peers", "metric": "csat", "show_all": True},
        ),
    ],
    "rank": [
        (["--draws", "300"], {"draws": 300}),
        (["--metric", "csat", "--history", "0"], {"metric": "csat", "history": 0}),
    ],
    "drivers": [
        (["--level", "region", "--bootstrap", "20"], {"level": "region", "bootstrap": 20}),
        (["--pooled", "--bootstrap", "0"], {"by_moment": False, "bootstrap": 0}),
    ],
    "focus": [
        (["--all"], {"every": True}),
        (["--all", "--top", "1"], {"every": True, "top": 1}),
        (["--all", "--sort", "worth"], {"every": True, "sort": "worth"}),
    ],
    "hygiene": [
        (["--all"], {"show_all": True}),
        (["--all", "--history", "3"], {"show_all": True, "history": 3}),
    ],
    "reliability": [
        ([], {}),
        (["--period", "2026-09", "--no-segments"], {"period": "2026-09", "segments": False}),
        (["--at", "2026-09-15"], {"at": "2026-09-15"}),
    ],
    "warnings": [
        ([], {}),
        (["--status", "resolved"], {"status": "resolved"}),
        (["--sort", "worth"], {"sort": "worth"}),
    ],
    "assets": [
        ([], {}),
        (
            ["--level", "region", "--grain", "quarter", "--by", "segment"],
            {"level": "region", "grain": "quarter", "by": "segment"},
        ),
        (["--period", "2026-08"], {"period": "2026-08"}),
    ],
    "clv": [
        (["--draws", "10"], {"draws": 10}),
        (
            ["--level", "company", "--calibration-end", "2026-06-30", "--draws", "0"],
            {"level": "company", "calibration_end": "2026-06-30", "draws": 0},
        ),
    ],
    "loyalty": [([], {}), (["--level", "district"], {"level": "district"})],
    "status": [([], {})],
}
PARAMS = [
    pytest.param(command, args, kwargs, id=f"{command}{i}")
    for command, cases in CASES.items()
    for i, (args, kwargs) in enumerate(cases)
]


@pytest.mark.parametrize(("command", "args", "kwargs"), PARAMS)
def test_to_dict_is_the_cli_json(
    demo: DemoRun, ws: earnright.Workspace, command: str, args: list[str], kwargs: dict[str, Any]
) -> None:
    result = getattr(ws, command)(**kwargs)
    expected = cli(command, "-w", str(demo.workspace), *args)
    assert not same(result.to_dict(), expected)
    assert expected  # a comparison of two empty answers would prove nothing


def test_focus_of_one_unit_and_drivers_of_one_unit(demo: DemoRun, ws: earnright.Workspace) -> None:
    store = ws.scorecard(period="2026-09").rows[0]["unit_id"]
    where = ["-w", str(demo.workspace)]
    assert not same(ws.focus(unit=store).to_dict(), cli("focus", *where, "--unit", store))
    mine = ws.drivers(unit=store, bootstrap=0)
    assert not same(mine.to_dict(), cli("drivers", *where, "--unit", store, "--bootstrap", "0"))


def test_a_period_object_and_its_label_give_the_same_result(ws: earnright.Workspace) -> None:
    quarter = earnright.Period.parse("2026-Q3")
    by_label = ws.scorecard(level="company", period="2026-Q3")  # the grain is the label's own
    by_period = ws.scorecard(level="company", period=quarter)
    assert by_label.to_dict() == by_period.to_dict()
    assert {r["period"] for r in by_label.rows} == {"2026-Q3"} and by_label.grain == "quarter"
    september = ws.reliability(period=earnright.Period.parse("2026-09"))
    assert september.report.period_start.isoformat() == "2026-09-01T00:00:00"
    assert september.to_dict() == ws.reliability(period="2026-09").to_dict()


def test_the_notes_are_what_the_cli_says_on_stderr(demo: DemoRun, ws: earnright.Workspace) -> None:
    from typer.testing import CliRunner

    from earnright.cli import app

    done = CliRunner().invoke(app, ["rank", "-w", str(demo.workspace), "--draws", "200"])
    note = ws.rank(draws=200).notes
    assert note and note[0].startswith("period 2026-09 (latest complete month")
    assert note[0] in " ".join(done.stderr.split())


def _json_commands() -> set[str]:
    """Every command (``quarantine list`` for a subcommand) whose --format offers json, from
    the Typer app itself."""
    from tests.cli.test_docs import LEAVES

    found = set()
    for name, command in LEAVES.items():
        for param in command.params:
            offered = param.type_descriptor.annotation if "--format" in param.opts else []
            if "json" in {str(e.value) for e in offered}:
                found.add(name)
    return found


def _compared(sources: list[str], known: set[str]) -> set[str]:
    """The commands whose JSON a test compares with a method's ``to_dict()``: the keys of
    CASES and every ``cli("name", ["sub", ]…)`` call in ``sources`` (``sub`` when ``name sub``
    is a ``known`` command)."""
    calls = re.findall(r'\bcli\(\s*"([a-z-]+)"(?:,\s*"([a-z-]+)")?', "\n".join(sources))
    commands = set(CASES)
    for name, sub in calls:
        commands.add(f"{name} {sub}" if f"{name} {sub}" in known else name)
    return commands


def test_every_command_that_prints_json_has_its_parity_test() -> None:
    """A command added without a test that its method's to_dict() is its JSON fails here."""
    json_commands = _json_commands()
    assert {"scorecard", "quarantine list", "watch", "detect", "localize"} <= json_commands
    sources = [p.read_text() for p in Path(__file__).parent.glob("test_*.py")]
    assert sorted(json_commands - _compared(sources, json_commands)) == []
    cut = [s.replace('cli("detect"', 'run("detect"') for s in sources]  # the check can fail
    assert sorted(json_commands - _compared(cut, json_commands)) == ["detect"]
