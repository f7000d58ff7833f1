"""CSV records and their physical lines (earnright.ingest.csvfile), whatever the block size."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earnright.errors import IngestError
from earnright.ingest import csvarrow, csvfile, readers
from earnright.ingest.csvfile import CsvRecords
from earnright.ingest.readers import read_chunks

CORPUS = Path(__file__).parent / "corpus"
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _read(data: bytes, block: int, monkeypatch: pytest.MonkeyPatch, chunk_rows: int = 3):
    """(header, rows as lists, their first lines, bad rows) read with ``block``-byte blocks."""
    monkeypatch.setattr(csvfile, "BLOCK_BYTES", block)
    records = CsvRecords(io.BytesIO(data), "t.csv")
    width = len(records.header)
    rows, starts, bad = [], [], []
    for flat, first_lines, bad_rows in records.chunks(chunk_rows):
        rows += [flat[i : i + width] for i in range(0, len(flat), width)]
        starts += first_lines
        bad += bad_rows
    return records.header, rows, starts, bad


def _line_of(text: str, offset: int) -> int:
    """The line an editor shows for the character at ``offset``."""
    return len(LINE_BREAK.findall(text[:offset])) + 1


PIECES = [*'ab ,"\n\r\t', "é", "€", "😀", "NA"]
FIELD = st.lists(st.sampled_from(PIECES), max_size=6).map("".join)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(FIELD, min_size=3, max_size=3), max_size=8),
    blanks=st.lists(st.integers(0, 2), min_size=9, max_size=9),
    terminator=st.sampled_from(["\n", "\r\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    block=st.sampled_from([1, 2, 5, 64, 1 << 20]),
)
def test_any_rows_come_back_whole_with_the_line_an_editor_shows(
    rows: list[list[str]], blanks: list[int], terminator: str, quoting: int, block: int
) -> None:
    if terminator == "\n" and quoting == csv.QUOTE_MINIMAL:  # the writer would not quote \r
        rows = [[field.replace("\r", "") for field in row] for row in rows]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator, quoting=quoting)
    writer.writerow(["a", "b", "c"])
    offsets = []
    for row, blank in zip(rows, blanks, strict=False):
        out.write(terminator * blank)
        offsets.append(out.tell())
        writer.writerow(row)
    text = out.getvalue()
    with pytest.MonkeyPatch.context() as mp:
        header, got, starts, bad = _read(text.encode(), block, mp)
    assert header == ["a", "b", "c"]
    assert bad == []
    assert got == rows
    assert starts == [_line_of(text, at) for at in offsets]


@pytest.mark.parametrize("block", [1, 3, 7, 1 << 20])
@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.csv")))
def test_the_block_size_changes_nothing(
    name: str, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (CORPUS / name).read_bytes()
    try:
        reference = _read(data, 1 << 20, monkeypatch, chunk_rows=1000)
    except IngestError as exc:
        with pytest.raises(IngestError, match=re.escape(str(exc))):
            _read(data, block, monkeypatch)
        return
    assert _read(data, block, monkeypatch) == reference


def test_an_unclosed_quote_gives_back_the_lines_it_swallowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = 'a,b,c\n1,"x,2\n3,y,4\n5,"two\nlines",6\n7,z,8\n'
    _, rows, starts, bad = _read(text.encode(), 4, monkeypatch)
    assert rows == [["3", "y", "4"], ["5", "two\nlines", "6"], ["7", "z", "8"]]
    assert starts == [3, 4, 6]
    assert [(line, reason.split(":")[1].strip(), raw) for line, reason, raw in bad] == [
        (2, "unclosed quote", '1,"x,2')
    ]


def test_a_field_past_the_size_limit_is_one_bad_row(monkeypatch: pytest.MonkeyPatch) -> None:
    huge = "x" * (csv.field_size_limit() + 10)
    text = f'a,b\n1,"{huge}\n2,ok\n'
    _, rows, starts, bad = _read(text.encode(), 1 << 16, monkeypatch)
    assert (rows, starts) == ([["2", "ok"]], [3])
    assert [line for line, _, _ in bad] == [2]
    assert "field larger than field limit" in bad[0][1]
    assert len(bad[0][2]) == csvfile.RAW_CHARS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "empty file"),
        (b"\n\n", "empty file"),
        (b"a,b\xff,c\n1,2,3\n", "the header not UTF-8: byte 0xff at byte offset 3"),
    ],
)
def test_a_header_that_cannot_be_read_is_one_message(
    text: bytes, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(IngestError, match=re.escape(f"t.csv: {message}")):
        _read(text, 1 << 20, monkeypatch)


LINE = st.one_of(
    st.lists(st.sampled_from(["a", "b", "NA", "é", " ", ""]), min_size=3, max_size=3).map(",".join),
    st.sampled_from(["", "  ", "a,b", "a,b,c,d", '1,"q",2', '1,"multi\nline",2', "1,\xff,2", ",,"]),
)


def _via_readers(path: Path) -> tuple[list[list[str | None]], list[int], list[tuple[int, str]]]:
    rows, lines, bad = [], [], []
    for chunk in read_chunks(path):
        frame = chunk.frame.astype(object).where(chunk.frame.notna(), None)
        rows += frame.drop(columns="_line").values.tolist()
        lines += frame["_line"].tolist()
        bad += [(line, reason) for line, reason, _ in chunk.bad_lines]
    return rows, lines, bad


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(LINE, max_size=12),
    chunk_rows=st.sampled_from([1, 2, 5]),
    block=st.sampled_from([16, 64, 1 << 20]),
)
def test_the_fast_way_and_the_exact_way_give_the_same_rows(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], chunk_rows: int, block: int
) -> None:
    """Arrow reads a file while it is plain; from the first odd line the exact reader goes on.
    Either way the rows, their lines and the bad rows are those of the exact reader alone."""
    path = tmp_path_factory.mktemp("fast") / "t.csv"
    path.write_bytes("\n".join(["x,y,z", *lines, ""]).encode("utf-8", "surrogateescape"))
    path.write_bytes(path.read_bytes().replace("\xff".encode(), b"\xff"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "CHUNK_ROWS", chunk_rows)
        mp.setattr(csvarrow, "BLOCK_BYTES", block)
        got = _via_readers(path)
        mp.setattr(readers, "plain_csv_tables", _no_fast_way)
        exact = _via_readers(path)
    assert got == exact


def _no_fast_way(stream: object, header: list[str], rows: int) -> Iterator[object]:
    return 1  # the exact reader from the line after the header
    yield


def test_a_plain_file_is_read_by_arrow_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{i},NA\n" for i in range(10)) + "\r\n" + "10,z\n")
    calls: list[int] = []
    original = CsvRecords.chunks

    def chunks(self: CsvRecords, rows: int) -> Iterator[object]:
        calls.append(rows)
        return original(self, rows)

    monkeypatch.setattr(CsvRecords, "chunks", chunks)
    monkeypatch.setattr(readers, "CHUNK_ROWS", 4)
    rows, lines, _ = _via_readers(path)
    assert lines == [*range(2, 12), 13] and rows[-1] == ["10", "z"] and rows[0] == ["0", "NA"]
    assert calls == [4]  # the blank line on line 12 handed over to the exact reader
    path.write_text("x,y\n" + "".join(f"{i},NA\n" for i in range(10)))
    calls.clear()
    assert _via_readers(path)[1] == list(range(2, 12))
    assert calls == []
