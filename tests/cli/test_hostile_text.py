"""Text from data never attacks the terminal or the spreadsheet, and -o never destroys a file.

A workspace whose unit names and comments are the payloads of issue 17: terminal markup, a
clickable file link, raw escape sequences, and spreadsheet formulas.
"""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from earnright.cli import app
from earnright.errors import EarnrightError
from earnright.ingest import ingest_file
from earnright.workspace import init_workspace

MARKUP = "[/]"
LINK = "[link=file:///etc/passwd]click[/link]"
ESCAPE = "red\x1b[31mALERT\x1b[0m\x1b]8;;http://x\x1b\\"
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3+cmd"]
NAMES = {"S1": LINK, "S2": ESCAPE, "S3": MARKUP, **{f"F{i}": f for i, f in enumerate(FORMULAS)}}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    units = [["unit_id", "name", "level", "parent_id"], ["C", "Acme", "company", ""]]
    units += [["R1", "North", "region", "C"], ["D1", MARKUP, "district", "R1"]]
    units += [[uid, name, "store", "D1"] for uid, name in NAMES.items()]
    units += [[MARKUP, MARKUP, "store", "D1"]]
    feedback = [["response_id", "unit_id", "responded_at", "ltr", "osat", "q_staff", "comment"]]
    for k, uid in enumerate([*NAMES, MARKUP]):
        for i in range(6):
            answers = [(k + i) % 11, 1 + i % 5, 1 + (k * i) % 5]
            feedback.append([f"r{k}-{i}", uid, f"2026-09-0{i + 1}", *answers, MARKUP])
    feedback.append(["bad", "S1", "2026-09-03", "70", "3", "3", f"{MARKUP} {ESCAPE}"])
    for name, rows in (("units.csv", units), ("feedback.csv", feedback)):
        with (root / name).open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    ws = init_workspace(root / "ws")
    with ws.warehouse() as wh:
        for kind in ("units", "feedback"):
            ingest_file(wh, ws.config, kind, root / f"{kind}.csv")
    return ws.root


def invoke(*args: str) -> tuple[int, str]:
    """Exit code and output as `earnright` gives them (main() turns a user error into exit 2)."""
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, EarnrightError):
        return 2, result.output + str(result.exception)
    return result.exit_code, result.output


def test_terminal_tables_show_data_as_literal_text(hostile: Path) -> None:
    code, out = invoke("scorecard", "-w", str(hostile))
    assert code == 0, out
    assert LINK in out and f"│ {MARKUP} " in out  # brackets kept, nothing read as markup
    assert "\x1b" not in out  # no escape sequence reaches the terminal
    assert "red\\x1b[31mALERT\\x1b[0m\\x1b]8;;http://x\\x1b\\" in out  # shown, made visible
    code, out = invoke("status", "-w", str(hostile))
    assert code == 0, out
    assert "\x1b" not in out
    code, out = invoke("rank", "-w", str(hostile))
    assert code == 0 and "\x1b" not in out, out


def _formula_free(cells: list[str]) -> None:
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(cell), cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_csv_from_the_extension_is_spreadsheet_safe_with_numbers_as_numbers(
    hostile: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sc.csv"
    code, text = invoke("scorecard", "-w", str(hostile), "-o", str(out))
    assert code == 0, text
    assert "┃" not in out.read_text()  # a CSV, not a box-drawn table
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    _formula_free([cell for row in rows for cell in row.values()])
    names = {row["unit_id"]: row["name"] for row in rows}
    assert names["F0"] == "'" + FORMULAS[0] and names["F3"] == "'-2+3+cmd"
    assert names["S1"] == LINK  # text that is no formula is left as it is
    frame = pd.read_csv(out)
    assert pd.api.types.is_numeric_dtype(frame["nps"]) and (frame["nps"] < 0).any()


def test_csv_on_standard_output_is_spreadsheet_safe(hostile: Path) -> None:
    code, out = invoke("scorecard", "-w", str(hostile), "-f", "csv")
    assert code == 0, out
    cells = [cell for row in csv.reader(out.splitlines()) for cell in row]
    _formula_free(cells)
    assert "'@SUM(1)" in cells


def test_xlsx_keeps_numbers_numeric_and_formulas_as_text(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "sc.xlsx"
    code, text = invoke("scorecard", "-w", str(hostile), "-o", str(out))
    assert code == 0, text
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    nps = header.index("nps")
    for row in rows[1:]:
        assert row[nps].data_type == "n" and isinstance(row[nps].value, int | float)
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                _formula_free([cell.value])
    names = {row[0].value: row[header.index("name")].value for row in rows[1:]}
    assert names["F2"] == "'@SUM(1)" and names["S2"].startswith("red\\x1b[31m")


def test_status_offers_only_the_formats_it_writes(hostile: Path, tmp_path: Path) -> None:
    code, out = invoke("status", "-w", str(hostile), "-f", "csv")
    assert code == 2 and "csv" in out
    code, out = invoke("status", "-w", str(hostile), "-o", str(tmp_path / "st.csv"))
    assert code == 2 and "not csv" in out, out
    code, out = invoke("status", "-w", str(hostile), "-o", str(tmp_path / "st.xlsx"))
    assert code == 0, out
    book = openpyxl.load_workbook(tmp_path / "st.xlsx")
    assert book.sheetnames == ["tables", "batches", "quarantine by reason", "quarantine recent"]
    code, out = invoke("status", "-w", str(hostile), "-o", str(tmp_path / "st.txt"))
    assert code == 0, out
    text = (tmp_path / "st.txt").read_text()
    assert "Rows per table" in text and "Batches" in text and "Quarantined rows" in text


def test_ingest_writes_the_format_it_offers(hostile: Path, tmp_path: Path) -> None:
    units = str(hostile.parent / "units.csv")
    result = CliRunner().invoke(app, ["ingest", "units", units, "-w", str(hostile), "--force",
                                      "-f", "csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(pd.io.common.StringIO(result.stdout))  # progress lines go to stderr
    assert "units.csv: done" in result.stderr  # a log sees progress, the CSV stays clean
    assert frame.loc[0, "kind"] == "units" and frame.loc[0, "duplicates"] == len(NAMES) + 4
    target = tmp_path / "ingest.parquet"
    code, out = invoke("ingest", "units", units, "-w", str(hostile), "--force", "-o", str(target))
    assert code == 0, out
    assert pd.read_parquet(target).loc[0, "rows_read"] == len(NAMES) + 4
    code, out = invoke("ingest", "units", units, "-w", str(hostile), "-f", "parquet")
    assert code == 2 and "give --output FILE" in out


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (["scorecard", "-f", "csv"], "earnright.duckdb"),
        (["status"], "earnright.toml"),
        (["scorecard", "-f", "json"], "earnright.duckdb.wal"),
    ],
)
def test_output_never_overwrites_the_workspace(
    hostile: Path, command: list[str], target: str
) -> None:
    path = hostile / target
    before = path.read_bytes() if path.exists() else None
    code, out = invoke(*command, "-w", str(hostile), "-o", str(path))
    assert code == 2, out
    assert "refusing to write over it" in out
    assert (path.read_bytes() if path.exists() else None) == before


def test_output_never_overwrites_an_input_file(tmp_path: Path) -> None:
    series = tmp_path / "series.csv"
    series.write_text("timestamp,value\n2026-01-01,1\n2026-01-02,2\n")
    before = series.read_bytes()
    code, out = invoke("detect", str(series), "-o", str(series))
    assert code == 2 and "a file this command reads" in out, out
    assert series.read_bytes() == before
    code, out = invoke("detect", str(series), "-o", str(tmp_path / "scores.json"))
    assert code == 0, out
    assert (tmp_path / "scores.json").read_text().lstrip().startswith("[")  # json by extension


def test_an_interrupted_export_leaves_the_old_file(
    hostile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sc.csv"
    out.write_text("the old export\n")

    def fail(self: pd.DataFrame, target: object = None, **kwargs: object) -> None:
        if isinstance(target, str | Path):
            Path(target).write_text("half a ne")
        elif target is not None:
            target.write(b"half a ne")  # type: ignore[attr-defined]
        raise KeyboardInterrupt  # the user pressed Ctrl-C halfway through

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    args = ["scorecard", "-w", str(hostile), "-f", "csv", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert out.read_text() == "the old export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sc.csv"]  # no temporary file left


@pytest.mark.parametrize(
    "command",
    [["credibility"], ["needed"], ["focus", "--all"], ["changes", "--all"], ["rank"]],
)
def test_tables_show_names_beside_ids(hostile: Path, command: list[str]) -> None:
    code, out = invoke(*command, "-w", str(hostile))
    assert code == 0, out
    header = next(line for line in out.splitlines() if "unit_id" in line)
    cells = [cell.strip() for cell in header.split("┃")]
    assert cells[cells.index("unit_id") + 1] == "name", header
    assert LINK in out
