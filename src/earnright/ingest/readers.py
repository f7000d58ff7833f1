"""Readers: a file of any supported format as a stream of chunks with their line numbers.

Supported: CSV, Parquet and JSON Lines, each optionally gzipped (``.gz``). Chunks bound memory:
a 10M-row file never sits in memory at once. Every chunk is a pandas DataFrame plus the file line
(CSV, JSON Lines) or row number (Parquet) of every row, so quarantine can point at the row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from earnright.errors import IngestError

__all__ = ["Chunk", "file_format", "read_chunks"]

CHUNK_ROWS = 250_000
Progress = Callable[[int, int], None]


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

    def __init__(self, path: Path, progress: Progress | None) -> None:
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
    path: Path, progress: Progress | None = None, *, extra_header_rows: int = 0
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
    except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read as {fmt}{' (gzip)' if gz else ''}: {exc}") from exc


def _open(path: Path, gz: bool, progress: Progress | None) -> IO[bytes]:
    raw = _CountingFile(path, progress)
    return gzip.GzipFile(fileobj=raw) if gz else io.BufferedReader(raw)  # type: ignore[return-value]


def _csv_header(path: Path, gz: bool) -> list[str]:
    with _open(path, gz, None) as stream:
        first = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="").readline()
    header = next(csv.reader([first]), [])
    if not header:
        raise IngestError(f"{path}: empty file; expected a header line with column names")
    return header


def _csv_chunks(
    path: Path, gz: bool, progress: Progress | None, extra_header_rows: int = 0
) -> Iterator[Chunk]:
    header = _csv_header(path, gz)
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    with _open(path, gz, progress) as stream:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                block_size=8 << 20, skip_rows_after_names=extra_header_rows
            ),
            convert_options=convert,
        )
        line = 2 + extra_header_rows  # the header is line 1; one record per line
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= CHUNK_ROWS:
                yield _numbered(pa.Table.from_batches(pending).to_pandas(), line)
                line += rows
                pending, rows = [], 0
        if pending:
            yield _numbered(pa.Table.from_batches(pending).to_pandas(), line)


def _column_names(path: Path, fmt: str, gz: bool) -> list[str]:
    if fmt == "csv":
        return _csv_header(path, gz)
    if fmt == "parquet":
        return list(pq.ParquetFile(path).schema_arrow.names)
    return []


def _numbered(frame: pd.DataFrame, first_line: int) -> Chunk:
    frame.insert(0, "_line", np.arange(first_line, first_line + len(frame), dtype=np.int64))
    return Chunk(frame, [])


def _parquet_chunks(path: Path, gz: bool, progress: Progress | None) -> Iterator[Chunk]:
    pf = pq.ParquetFile(path)
    total = pf.metadata.num_rows
    row = 1
    for batch in pf.iter_batches(batch_size=CHUNK_ROWS):
        yield _numbered(batch.to_pandas(), row)
        row += batch.num_rows
        if progress:
            progress(row - 1, total)


def _jsonl_chunks(path: Path, gz: bool, progress: Progress | None) -> Iterator[Chunk]:
    with _open(path, gz, progress) as stream:
        records: list[dict[str, Any]] = []
        bad: list[tuple[int, str, str]] = []
        for lineno, text in enumerate(io.TextIOWrapper(stream, encoding="utf-8"), start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
                if not isinstance(record, dict):
                    raise ValueError("a line must hold one JSON object")
                records.append({"_line": lineno, **record})
            except ValueError as exc:
                bad.append((lineno, f"not a JSON object: {exc}", text.rstrip("\n")[:2000]))
            if len(records) >= CHUNK_ROWS:
                yield Chunk(_json_frame(records), bad)
                records, bad = [], []
        if records or bad:
            yield Chunk(_json_frame(records), bad)


def _json_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """JSON records as a frame of strings (numbers kept as their text), like a CSV chunk."""
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
