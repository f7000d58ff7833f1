"""Terminal tables and file formats (cli/output.py, export.py), checked piece by piece."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from earnright.cli.output import Format, choose_format, rich_table, visible
from earnright.errors import QueryError
from earnright.export import neutralise, spreadsheet_safe

WARNINGS = [
    "id", "moment", "metric", "segment", "started_at", "status", "customers_affected",
    "revenue_at_risk", "revenue_at_risk_low", "revenue_at_risk_high", "owner",
]  # fmt: skip


def render(frame: pd.DataFrame, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, markup=False)
    console.print(rich_table(frame, "Early warnings"))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_a_wide_table_fits_the_terminal_and_keeps_every_header_whole() -> None:
    row = {c: "x" for c in WARNINGS} | {"revenue_at_risk": 12345.0}
    row |= {"revenue_at_risk_low": 2000.0, "revenue_at_risk_high": 30000.0}
    text = render(pd.DataFrame([row]), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing cut short: long headers wrap instead
    for col in ("revenue_at_risk_low", "revenue_at_risk_high", "customers_affected"):
        assert _wrapped(text, col), col


def _wrapped(text: str, word: str) -> bool:
    """Whether ``word`` appears in the header, read column by column across wrapped lines."""
    lines = [ln for ln in text.splitlines() if "┃" in ln]
    columns = zip(*[ln.split("┃")[1:-1] for ln in lines], strict=True)
    return any(word == "".join(part.strip() for part in col) for col in columns)


def test_headers_are_never_truncated_into_duplicates() -> None:
    frame = pd.DataFrame([[1.0, 2.0, 3.0]], columns=WARNINGS[7:10])
    text = render(frame, width=30)
    assert all(_wrapped(text, col) for col in WARNINGS[7:10]), text


def test_a_column_has_one_number_of_decimals() -> None:
    frame = pd.DataFrame({"estimate": [8.81, 57.43, -0.21], "csat": [0.5, 0.25, 0.125]})
    frame["n"] = [2.0, 30.0, None]
    text = render(frame, width=80)
    assert "8.8 " in text and "57.4" in text and "-0.2 " in text
    assert "0.50" in text and "0.25" in text and "0.12" in text
    assert " 2 " in text and " 30 " in text and "–" in text


def test_visible_shows_control_characters_and_keeps_brackets() -> None:
    assert visible("[/] [bold]x[/bold]") == "[/] [bold]x[/bold]"
    assert visible("a\x1b[2Jb\nc\u202ed") == "a\\x1b[2Jb\\nc\\u202ed"
    assert visible("Zürich – 東京") == "Zürich – 東京"


def test_the_format_follows_the_output_extension() -> None:
    assert choose_format(None, Path("sc.csv")) is Format.csv
    assert choose_format(None, Path("SC.XLSX")) is Format.xlsx
    assert choose_format(None, Path("sc.json")) is Format.json
    assert choose_format(None, Path("sc.parquet")) is Format.parquet
    assert choose_format(None, Path("sc.txt")) is Format.table
    assert choose_format(None, None) is Format.table
    assert choose_format(Format.json, Path("sc.csv")) is Format.json  # --format wins
    with pytest.raises(QueryError, match="give --output FILE"):
        choose_format(Format.xlsx, None)
    with pytest.raises(QueryError, match="not csv"):
        choose_format(None, Path("st.csv"), offered=["table", "json"])


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-2+3+cmd", "'-2+3+cmd"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-2.5", "-2.5"),  # a plain number is read as that number, not run
        ("+1e3", "+1e3"),
        ("Store 1", "Store 1"),
        ("", ""),
    ],
)
def test_neutralise_follows_owasp(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


def test_spreadsheet_safe_keeps_numbers_as_numbers() -> None:
    frame = pd.DataFrame({"name": ["=1+1", "ok", None], "change": [-2.5, 1.0, float("nan")]})
    frame["n"] = [1, 2, 3]
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist()[:2] == ["'=1+1", "ok"] and pd.isna(safe["name"].iloc[2])
    assert safe["change"].dtype == frame["change"].dtype and safe["change"].iloc[0] == -2.5
    assert safe["n"].dtype == frame["n"].dtype
    assert frame["name"].iloc[0] == "=1+1"  # the caller's frame is not changed


def test_csv_on_a_terminal_shows_control_characters(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from earnright.cli.output import write_frame

    frame = pd.DataFrame({"name": ["a\x1b[2Jb", "=1+1"], "n": [1, 2]})
    write_frame(frame, Format.csv, None)
    piped = capsys.readouterr().out
    assert "a\x1b[2Jb" in piped and "'=1+1" in piped  # a pipe gets the data as it is
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    write_frame(frame, Format.csv, None)
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "a\\x1b[2Jb" in shown and shown.endswith("2\n")
