"""Readers: a file of any supported format as a stream of chunks with their line numbers.

Supported: CSV, Parquet and JSON Lines, each optionally gzipped (``.gz``). Chunks bound memory:
a 10M-row file never sits in memory at once. Every chunk is a pandas DataFrame plus the file line
(CSV, JSON Lines: the physical line, as an editor shows it) or row number (Parquet) of every row,
so quarantine can point at the row, and the rows that could not be read as rows (bad_lines).
A CSV file is read by Arrow while it holds no quote (``csvarrow``), and from there by the exact
reader (``csvfile``), which handles quoted line breaks and quarantines a broken row on its own.
"""

from __future__ import annotations

import bisect
import gzip
import io
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from earnright.errors import IngestError
from earnright.ingest.csvarrow import plain_csv_tables
from earnright.ingest.csvfile import CsvRecords
from earnright.progress import StepProgress

__all__ = ["RESERVED_COLUMNS", "Chunk", "check_column_names", "file_format", "read_chunks"]

CHUNK_ROWS = 250_000
# _line is the row's line in the file; batch_id and row_key are columns of the tables
RESERVED_COLUMNS = frozenset({"_line", "batch_id", "row_key"})


@dataclass
class Chunk:
    frame: pd.DataFrame  # the rows, with their file line (row for Parquet) in column _line
    bad_lines: list[tuple[int, str, str]]  # rows that could not even be parsed: line, reason, raw


def file_format(path: Path) -> tuple[str, bool]:
    """('csv' | 'parquet' | 'jsonl', gzipped) from the file name."""
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    ext = suffixes[-2] if gz and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    formats = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
    formats[".ndjson"] = "jsonl"
    if ext not in formats:
        raise IngestError(
            f"{path}: unknown file type '{''.join(path.suffixes)}'; expected .csv, .parquet, "
            ".jsonl or .ndjson, optionally followed by .gz"
        )
    if gz and formats[ext] == "parquet":
        raise IngestError(f"{path}: Parquet is compressed inside the file; do not gzip it")
    return formats[ext], gz


class _CountingFile(io.RawIOBase):
    """A binary file that reports how many bytes were read, for progress bars."""

    def __init__(self, path: Path, progress: StepProgress | None) -> None:
        self._f = path.open("rb")
        self._total = path.stat().st_size
        self._done = 0
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._f.readinto(buffer)
        self._done += n or 0
        if self._progress:
            self._progress(self._done, self._total)
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()


def read_chunks(
    path: Path, progress: StepProgress | None = None, *, extra_header_rows: int = 0
) -> Iterator[Chunk]:
    """Yield the file's rows in chunks; raise IngestError if the file cannot be read at all.

    ``extra_header_rows`` CSV lines after the column names are skipped (a Qualtrics export has
    two: the question texts and the import ids); line numbers still count them.
    """
    fmt, gz = file_format(path)
    readers = {"csv": _csv_chunks, "parquet": _parquet_chunks, "jsonl": _jsonl_chunks}
    try:
        empty = True
        chunks = (
            _csv_chunks(path, gz, progress, extra_header_rows)
            if fmt == "csv"
            else readers[fmt](path, gz, progress)
        )
        for chunk in chunks:
            empty = False
            yield chunk
        if empty:  # a file with no rows is an empty batch; its columns are still checked
            yield _numbered(pd.DataFrame(columns=_column_names(path, fmt, gz)), 1)
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise IngestError(f"{path}: cannot read as {fmt}{' (gzip)' if gz else ''}: {exc}") from exc


def _open(path: Path, gz: bool, progress: StepProgress | None) -> IO[bytes]:
    raw = _CountingFile(path, progress)
    return gzip.GzipFile(fileobj=raw) if gz else io.BufferedReader(raw)  # type: ignore[return-value]


def _csv_records(stream: IO[bytes], path: Path, extra_header_rows: int = 0) -> CsvRecords:
    records = CsvRecords(stream, str(path), extra_header_rows)
    check_column_names(records.header, f"{path}: the header (line {records.header_line})")
    return records


def _csv_chunks(
    path: Path, gz: bool, progress: StepProgress | None, extra_header_rows: int = 0
) -> Iterator[Chunk]:
    """Arrow's reader while the file is plain (no quotes, see csvarrow), then the exact one."""
    with _open(path, gz, progress) as stream:
        records = _csv_records(stream, path, extra_header_rows)
        header = records.header
        width = len(header)
        done = 0  # the last line given by the fast way
        if extra_header_rows == 0 and records.header_line == 1 and width > 1:
            with _open(path, gz, progress) as again:
                last = yield from _plain_chunks(again, header)
            if last is None:
                return
            done = last
        for flat, starts, bad in records.chunks(CHUNK_ROWS):
            if done and starts and starts[0] <= done:  # rows the fast way gave already
                given = bisect.bisect_right(starts, done)
                flat, starts = flat[given * width :], starts[given:]
            bad = [b for b in bad if b[0] > done]
            columns = [_nulled(pa.array(flat[i::width], pa.string())) for i in range(width)]
            frame = pa.table(columns, names=header).to_pandas()
            frame.insert(0, "_line", np.array(starts, dtype=np.int64))
            yield Chunk(frame, bad)


def _plain_chunks(stream: IO[bytes], header: list[str]) -> Generator[Chunk, None, int | None]:
    tables = plain_csv_tables(stream, header, CHUNK_ROWS)
    while True:
        try:
            table, first = next(tables)
        except StopIteration as end:
            return end.value
        frame = pa.table([_nulled(c) for c in table.columns], names=header).to_pandas()
        frame.insert(0, "_line", np.arange(first, first + len(frame), dtype=np.int64))
        yield Chunk(frame, [])


def _nulled(text: Any) -> Any:
    """Arrow text with an empty field as missing (no other spelling is in text; see kinds)."""
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def check_column_names(names: list[str], where: str, *, mapped: bool = False) -> None:
    """Refuse a repeated column name, and names earnright keeps for itself.

    The file's own names (``mapped=False``) may not be ``_line``; names after a
    [sources.NAME] mapping may not be any of ``RESERVED_COLUMNS``.
    """
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name in seen:
            fix = (
                "map only one column to it in the [sources.NAME] mapping"
                if mapped
                else "rename or remove one of them"
            )
            raise IngestError(
                f"{where}: column '{name}' appears twice (columns {seen[name]} and {i}); {fix}"
            )
        seen[name] = i
    reserved = [n for n in names if n in (RESERVED_COLUMNS if mapped else {"_line"})]
    if reserved:
        raise IngestError(
            f"{where}: column name(s) {reserved} are kept by earnright for its own use; rename "
            "them with `columns` or drop them with `ignore` in a [sources.NAME] mapping"
            if mapped
            else f"{where}: column name '_line' is kept by earnright for the line number; "
            "rename that column in the file"
        )


def _column_names(path: Path, fmt: str, gz: bool) -> list[str]:
    if fmt == "csv":
        with _open(path, gz, None) as stream:
            return _csv_records(stream, path).header
    if fmt == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    return []


def _numbered(frame: pd.DataFrame, first_line: int) -> Chunk:
    frame.insert(0, "_line", np.arange(first_line, first_line + len(frame), dtype=np.int64))
    return Chunk(frame, [])


def _parquet_chunks(path: Path, gz: bool, progress: StepProgress | None) -> Iterator[Chunk]:
    pf = pq.ParquetFile(path)
    check_column_names(list(pf.schema_arrow.names), str(path))
    total = pf.metadata.num_rows
    row = 1
    for batch in pf.iter_batches(batch_size=CHUNK_ROWS):
        yield _numbered(batch.to_pandas(), row)
        row += batch.num_rows
        if progress:
            progress(row - 1, total)


def _jsonl_chunks(path: Path, gz: bool, progress: StepProgress | None) -> Iterator[Chunk]:
    with _open(path, gz, progress) as stream:
        records: list[dict[str, Any]] = []
        bad: list[tuple[int, str, str]] = []
        offset = 0
        for lineno, line in enumerate(stream, start=1):
            offset += len(line)
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                bad.append((lineno, _not_utf8(exc, offset - len(line), lineno), _raw(line)))
                continue
            try:
                record = json.loads(text)
                if not isinstance(record, dict):
                    raise ValueError("a line must hold one JSON object")
            except ValueError as exc:
                bad.append((lineno, f"not a JSON object: {exc}", _raw(line)))
                continue
            if "_line" in record:
                check_column_names(["_line"], f"{path}: line {lineno}")
            records.append({"_line": lineno, **record})
            if len(records) >= CHUNK_ROWS:
                yield Chunk(_json_frame(records), bad)
                records, bad = [], []
        if records or bad:
            yield Chunk(_json_frame(records), bad)


def _not_utf8(exc: UnicodeDecodeError, line_offset: int, lineno: int) -> str:
    """The reason of a line with bytes that are not UTF-8 (as the CSV reader words it)."""
    byte = exc.object[exc.start]
    character = len(exc.object[: exc.start].decode("utf-8", "replace")) + 1
    return (
        f"row: not UTF-8: byte 0x{byte:02x} at byte offset {line_offset + exc.start:,} "
        f"(line {lineno}, character {character}), save the file as UTF-8"
    )


def _raw(line: bytes) -> str:
    return line.rstrip(b"\r\n")[:2000].decode("utf-8", "replace")


def _json_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """JSON records as a frame of strings (numbers kept as their text), like a CSV chunk."""
    if not records:  # a chunk of lines that are all bad still has the line column
        return pd.DataFrame({"_line": pd.Series(dtype="int64")})
    frame = pd.DataFrame.from_records(records)
    for col in frame.columns:
        if col != "_line":
            frame[col] = frame[col].map(_json_text, na_action="ignore").astype("string")
    return frame


def _json_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
