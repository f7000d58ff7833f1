"""The fast way through a plain CSV file: Arrow's reader, as long as the file holds no quote.

Without a quote character every row is one physical line, so Arrow's multi-threaded reader gives
the rows and lines that ``csvfile``'s exact reader would, several times faster. The first sign of
anything else — a quote, a blank line, a row with the wrong number of fields, bytes that are not
UTF-8 — ends the fast way after the rows already given; the exact reader takes over from there.
"""

from __future__ import annotations

import io
from collections.abc import Generator
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["plain_csv_tables"]

BLOCK_BYTES = 4 << 20


class _QuoteWatch(io.RawIOBase):
    """A byte stream that notes whether a quote character went through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.quoted = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.stream.readinto(buffer) or 0  # type: ignore[attr-defined]
        if n and not self.quoted:
            self.quoted = b'"' in memoryview(buffer)[:n].tobytes()
        return n


def _has_blank_row(batch: pa.RecordBatch) -> bool:
    """A row of empty strings only: a blank line (or a line of commas; the exact reader tells)."""
    blank = None
    for column in batch.columns:
        empty = pc.equal(column, "")
        blank = empty if blank is None else pc.and_(blank, empty)
    return bool(pc.any(blank).as_py()) if blank is not None else False


def plain_csv_tables(
    stream: IO[bytes], header: list[str], rows: int
) -> Generator[tuple[pa.Table, int], None, int | None]:
    """Yield (up to ``rows`` rows as text, the line of the first) after the header line; return
    None at the end of the file, or the last line given if the exact reader must go on."""
    watch = _QuoteWatch(stream)
    last = 1  # the header
    try:
        reader = pacsv.open_csv(
            watch,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in reader:
            if watch.quoted or _has_blank_row(batch):
                return last
            pending.append(batch)
            count += batch.num_rows
            if count >= rows:
                yield pa.Table.from_batches(pending), last + 1
                last += count
                pending, count = [], 0
    except pa.ArrowInvalid:
        return last
    if watch.quoted:
        return last
    if pending:
        yield pa.Table.from_batches(pending), last + 1
    return None
