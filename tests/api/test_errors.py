"""Errors in domain words from the API; the command line adds the option they concern."""

from __future__ import annotations

import pytest

import earnright
from earnright.errors import QueryError, WorkspaceError
from earnright.services.demo import DemoRun
from tests.api.conftest import cli_error

CASES = [
    ("scorecard", {"level": "shop"}, ["--level", "shop"], "level", "'shop' is not a declared"),
    ("scorecard", {"period": "2026-13"}, ["--period", "2026-13"], "period", "not a valid month"),
    ("credibility", {"period": "2020-01"}, ["--period", "2020-01"], "period",
     "no feedback or invitations in 2020-01: the data cover 2026-03 to 2026-09"),
    ("rank", {"metric": "q_nope"}, ["--metric", "q_nope"], "metric", "metric 'q_nope' is not"),
    ("rank", {"peer": "store"}, ["--peer", "store"], "peer", "must be a level above store"),
    ("focus", {"unit": "S9999"}, ["--unit", "S9999"], "unit", "'S9999' is not in the units table"),
    ("drivers", {"outcome": "nope"}, ["--outcome", "nope"], "outcome", "'nope' is not a feedback"),
    ("reliability", {"at": "soon"}, ["--at", "soon"], "at", "'soon' is not an ISO 8601 date-time"),
    ("warnings", {"since": "later"}, ["--since", "later"], "since", "'later' is not a date"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "kwargs", "args", "argument", "words"), CASES)
def test_the_api_says_it_in_domain_words_and_the_cli_adds_the_option(
    demo: DemoRun,
    ws: earnright.Workspace,
    method: str,
    kwargs: dict[str, object],
    args: list[str],
    argument: str,
    words: str,
) -> None:
    with pytest.raises(QueryError) as caught:
        getattr(ws, method)(**kwargs)
    assert words in str(caught.value) and caught.value.argument == argument
    assert "--" not in str(caught.value)  # no option of the command line in the API's words
    said = cli_error(method, "-w", str(demo.workspace), *args)
    assert said == f"--{argument}: {caught.value}"


def test_the_installed_command_prints_the_option_first(demo: DemoRun) -> None:
    from tests.cli.test_commands import run

    done = run("rank", "--metric", "q_nope", "-w", str(demo.workspace), cwd=demo.workspace)
    assert done.returncode == 2
    assert " ".join(done.stderr.split()).startswith("error: --metric: metric 'q_nope' is not")


def test_a_period_of_another_grain_and_no_workspace(ws: earnright.Workspace, tmp_path) -> None:
    with pytest.raises(QueryError, match="2026-Q3 is a quarter, not a month") as caught:
        ws.scorecard(period=earnright.Period.parse("2026-Q3"), grain="month")
    assert caught.value.argument == "grain"
    with pytest.raises(QueryError, match="'2026-Q3' is not a month"):
        ws.scorecard(period="2026-Q3", grain="month")
    with pytest.raises(WorkspaceError, match="no earnright workspace"):
        earnright.open_workspace(tmp_path)
    with pytest.raises(QueryError, match="name one unit, or ask for every unit"):
        ws.focus()


def test_the_workspace_error_names_its_argument(tmp_path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        earnright.open_workspace(tmp_path / "nowhere")
    assert caught.value.argument == "workspace" and "--" not in str(caught.value)
    said = cli_error("scorecard", "-w", str(tmp_path / "nowhere"))
    assert said.startswith("--workspace: no earnright workspace at ")


def test_arguments_named_in_a_message_are_options_on_the_command_line(
    demo: DemoRun, copy, tmp_path
) -> None:
    """The API names the arguments a message speaks of in backticks; the CLI shows options."""
    ws = earnright.open_workspace(copy)
    with pytest.raises(QueryError) as caught:
        ws.clear_quarantine()
    assert "`superseded` rows, a `batch`'s rows" in str(caught.value)
    said = cli_error("quarantine", "clear", "-w", str(copy))
    assert said == "say what to clear: the --superseded rows, a --batch's rows, or both together"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WorkspaceError) as refused:
        earnright.create_demo(tmp_path / "afile")
    assert refused.value.argument == "out" and "--" not in str(refused.value)
    assert cli_error("demo", "--out", str(tmp_path / "afile")).startswith("--out: ")
    with pytest.raises(WorkspaceError, match="pass `replace` to replace it"):
        earnright.create_demo(copy)  # a demo's copy, marker and all: refused, nothing deleted
    assert "pass --replace to replace it" in cli_error("demo", "--out", str(copy))


def test_notes_and_summaries_name_options_on_the_command_line(
    demo: DemoRun, ws: earnright.Workspace, copy
) -> None:
    from typer.testing import CliRunner

    from earnright.cli import app

    assert "give `at` or `period` to choose" in ws.reliability().notes[0]
    done = CliRunner().invoke(app, ["reliability", "-w", str(demo.workspace), "-f", "json"])
    assert "give --at or --period to choose" in " ".join(done.stderr.split())
    units = demo.workspace / "data" / "units.csv"
    again = earnright.open_workspace(copy).ingest("units", units)
    assert again.summaries[0].endswith("nothing was added. Pass `force` to re-read it.")
    done = CliRunner().invoke(app, ["ingest", "units", str(units), "-w", str(copy)])
    assert "Pass --force to re-read it." in " ".join(done.stdout.split())


def test_cli_words_rewrites_only_the_apis_arguments() -> None:
    from earnright.cli.output import cli_words

    assert cli_words("try `show_all`, `min_n` or `every`") == "try --all, --min-n or --all"
    assert cli_words("kind `units`, `earnright init` and `Period`") == (
        "kind `units`, `earnright init` and `Period`"
    )
