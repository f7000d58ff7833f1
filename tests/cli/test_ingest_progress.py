"""`earnright ingest` whose output is a log or a pipe says how far each file is (issue 18)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_commands import FEEDBACK, run
from tests.conftest import UNITS_CSV


def test_an_ingest_whose_output_is_piped_logs_plain_progress_lines(tmp_path: Path) -> None:
    """Bars draw nothing in a log: a long ingest used to leave it silent until the file was
    done. Not a terminal: a plain line as each file starts and ends, with its counts."""
    (tmp_path / "units.csv").write_text(UNITS_CSV)
    (tmp_path / "feedback.csv").write_text(FEEDBACK)
    assert run("init", "ws", cwd=tmp_path).returncode == 0
    done = run("ingest", "units", "units.csv", "--workspace", "ws", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = run("ingest", "feedback", "feedback.csv", "--workspace", "ws", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert any("] feedback.csv: started" in line for line in lines), done.stderr
    assert any("] feedback.csv: done" in line for line in lines), done.stderr
    assert "\x1b[" not in done.stderr  # no terminal control codes in a log
    assert "accepted 5 as batch 2" in done.stdout  # the sentence per file is still said
