"""``Workspace.<method>(...).to_dict()`` equals ``earnright <command> --format json``, for the
same arguments, on every listening and reliability command of a demo workspace."""

from __future__ import annotations

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
    "focus": [(["--all"], {"every": True}), (["--all", "--top", "1"], {"every": True, "top": 1})],
    "hygiene": [
        (["--all"], {"show_all": True}),
        (["--all", "--history", "3"], {"show_all": True, "history": 3}),
    ],
    "reliability": [
        ([], {}),
        (["--period", "2026-09", "--no-segments"], {"period": "2026-09", "segments": False}),
        (["--at", "2026-09-15"], {"at": "2026-09-15"}),
    ],
    "warnings": [([], {}), (["--status", "resolved"], {"status": "resolved"})],
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
