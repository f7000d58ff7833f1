"""`earnright demo` never deletes what it did not write (issue 17)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from earnright.services.demo import DEMO_FILES, MARKER
from tests.cli.test_commands import run

SMALL = ("--stores", "3", "--months", "1")


def _demo(out: Path, *extra: str) -> tuple[int, str]:
    done = run("demo", "--out", str(out), *SMALL, *extra, cwd=out.parent)
    return done.returncode, done.stderr


def _own_files(ws: Path) -> dict[Path, str]:
    """A user's files among the demo's: next to them, inside its folders and in a folder of
    their own."""
    files = {
        ws / "notes.txt": "my notes",
        ws / "data" / "my-survey.csv": "response_id\n1\n",
        ws / "results" / "board-pack.html": "<p>mine</p>",
        ws / "analysis" / "deep" / "model.py": "print('mine')",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return files


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("demo") / "ws"
    code, err = _demo(ws)  # a new folder needs no flag
    assert code == 0, err
    assert (ws / MARKER).read_text().count("data/truth.json") == 1  # says what --replace removes
    assert (ws / "results" / "pack.pdf").stat().st_size > 0  # the command writes the documents
    assert (ws / "results" / "site" / "index.html").exists()
    return ws


def test_a_second_demo_needs_replace_and_replace_keeps_the_users_files(
    first_demo: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "copy"  # the case: a copy of the demo workspace with the user's files
    shutil.copytree(first_demo, ws)
    own = _own_files(ws)
    code, err = _demo(ws)
    assert code == 2 and "--replace" in err
    assert all(path.read_text() == text for path, text in own.items())
    assert (ws / "data" / "truth.json").exists()  # nothing at all was removed
    code, err = _demo(ws, "--replace")
    assert code == 0, err
    assert all(path.read_text() == text for path, text in own.items())
    assert all((ws / name).exists() for name in DEMO_FILES if not name.endswith(".wal"))


def test_replace_removes_only_the_demos_files(first_demo: Path, tmp_path: Path) -> None:
    from earnright.services.demo import remove_demo_files

    ws = tmp_path / "copy"
    shutil.copytree(first_demo, ws)
    own = _own_files(ws)
    remove_demo_files(ws)
    left = {p for p in ws.rglob("*") if p.is_file()}
    assert left == set(own)
    shutil.rmtree(ws / "data")
    shutil.copytree(first_demo / "data", ws / "data")
    (ws / "notes.txt").unlink()
    (ws / "results" / "board-pack.html").unlink()
    shutil.rmtree(ws / "analysis")
    remove_demo_files(ws)
    assert not any(ws.iterdir())  # folders left empty by the demo's files go too


def test_a_folder_without_the_marker_is_refused_even_with_replace(tmp_path: Path) -> None:
    ws = tmp_path / "mine"
    own = _own_files(ws)
    (ws / "earnright.toml").write_text("# my own workspace\n")
    for extra in ((), ("--replace",)):
        code, err = _demo(ws, *extra)
        assert code == 2 and "not a demo workspace" in err and "nothing was deleted" in err
    assert all(path.read_text() == text for path, text in own.items())
    assert (ws / "earnright.toml").read_text() == "# my own workspace\n"


def test_replace_does_not_follow_a_linked_data_folder(first_demo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(first_demo / "data", elsewhere)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / MARKER).write_text("made by `earnright demo`\n")
    (ws / "data").symlink_to(elsewhere)
    code, err = _demo(ws, "--replace")
    assert code == 2 and "symbolic link" in err
    assert (elsewhere / "truth.json").exists() and (elsewhere / "units.csv").exists()


def test_a_demo_whose_output_is_piped_logs_plain_progress_lines(tmp_path: Path) -> None:
    """Output that is not a terminal (a log, a pipe) gets a plain line as each pass starts and
    ends, with its counts; a 10,000-store demo's log used to hold not one line of progress."""
    code, err = _demo(tmp_path / "ws")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[")]
    passes = [
        "stores",
        "ingest units.csv",
        "ingest metrics.parquet",
        "ingestion",
        "scorecard",
        "ranking and focus lists",
        "reliability",
        "detection",
        "asset ledger",
        "page",
        "results",
    ]
    for name in passes:
        assert any(f"] {name}: started" in line for line in lines), (name, err)
        assert any(f"] {name}: done" in line for line in lines), (name, err)
    assert any("detection: done (4 of 4, 100%) in " in line for line in lines), err
    assert sum("ingest units.csv: done" in line for line in lines) == 1  # told 5 times
    assert "\x1b[" not in err  # no terminal control codes in a log
