"""``earnright comments`` reads any CSV: one object per row, in order; bad files exit 2 with one
message naming the file (and the column)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.cli.output import user_message
from earnright.errors import EarnrightError

THEMES_TOML = """
[[themes]]
name = "waiting"
description = "queues and waiting time at the till to pay"
examples = ["a long queue at the till", "slow checkout"]

[[themes]]
name = "staff"
description = "how the staff treated me: friendly, helpful or rude"
examples = ["the cashier was rude", "helpful staff"]
"""


@pytest.fixture
def themes(tmp_path: Path) -> Path:
    path = tmp_path / "themes.toml"
    path.write_text(THEMES_TOML)
    return path


def run(*args: str) -> tuple[int, str, str]:
    done = CliRunner().invoke(app, list(args))
    if isinstance(done.exception, EarnrightError):
        return 2, done.stdout, user_message(done.exception)
    return done.exit_code, done.stdout, done.stderr


def test_any_csv_gives_one_object_per_row_in_order(tmp_path: Path, themes: Path) -> None:
    """A byte-order mark, a quoted newline and comma, an empty cell, semicolons."""
    text = (
        "id;note;stars\n"
        '1;"The queue at the till was far too long.\nThe staff were rude; very rude.";1\n'
        "2;;3\n"
        '3;"Lovely, helpful staff!";5\n'
        "4;Nothing to add;4\n"
    )
    path = tmp_path / "c.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code, out, _ = run("comments", "--from", str(path), "--text-column", "note",
                       "--themes", str(themes), "--format", "json")  # fmt: skip
    assert code == 0
    rows = json.loads(out)
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    assert set(rows[0]["themes"]) == {"waiting", "staff"}
    assert rows[1] == {"row": 2, "sentiment": "neutral", "sentiment_score": 0.0, "themes": [],
                       "theme_confidence": []}  # fmt: skip
    assert rows[2]["themes"] == ["staff"]
    for r in rows:
        assert r["sentiment"] in {"negative", "neutral", "positive"}
        assert -1 <= r["sentiment_score"] <= 1


def test_the_table_shows_each_comment_and_its_labels(tmp_path: Path, themes: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("text\nThe queue at the till was far too long.\n")
    code, out, _ = run("comments", "--from", str(path), "--text-column", "text",
                       "--themes", str(themes))  # fmt: skip
    assert code == 0 and "waiting" in out and "queue at the till" in out


@pytest.mark.parametrize(
    ("content", "column", "said"),
    [
        ("id,text\n1,hello\n", "comment", "no column 'comment'; the file's columns are ['id', "),
        ("", "text", "the file is empty"),
        (b"text\n\xff\xfe bad\n", "text", "not UTF-8"),
    ],
)
def test_a_bad_file_exits_2_naming_the_file_and_column(
    tmp_path: Path, content: str | bytes, column: str, said: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, _, message = run("comments", "--from", str(path), "--text-column", column)
    assert code == 2 and "bad.csv" in message and said in message, message


def test_a_bad_themes_file_exits_2_naming_it(tmp_path: Path) -> None:
    path, bad = tmp_path / "c.csv", tmp_path / "codeframe.toml"
    path.write_text("text\nhello\n")
    bad.write_text('[[themes]]\nname = "x"\n')
    code, _, message = run("comments", "--from", str(path), "--text-column", "text",
                           "--themes", str(bad))  # fmt: skip
    assert code == 2 and "codeframe.toml" in message and "description" in message
