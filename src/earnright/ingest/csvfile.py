"""CSV records with the physical lines they came from, and the rows that are not records.

Python's ``csv`` module splits the text into records (a quoted field may hold newlines, commas
and doubled quotes); this module feeds it the file's physical lines, block by block, and keeps
count of them, so every row carries the line an editor shows for it. A row that cannot be a
record of the file is reported with its line, the reason and its raw text, and the rest goes on:

- a row with too many or too few fields;
- an unclosed quote: a quoted field still open at the end of the file, or closed by what must be
  the opening quote of a later field (text follows it), or a row that runs on over several lines
  and still has too few fields; only the row's first line is reported, and the lines it swallowed
  are read again as rows of their own;
- text after a closing quote (``"abc"def``), a field longer than ``csv.field_size_limit()``;
- bytes that are not UTF-8.

Blank lines are skipped (and counted). Memory stays bounded: the rows of one chunk and the
blocks of text since the start of the row being read.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import deque
from collections.abc import Iterator
from typing import IO

from earnright.errors import IngestError

__all__ = ["BadRow", "CsvRecords"]

BLOCK_BYTES = 1 << 20
RAW_CHARS = 2000  # raw text kept per bad row
BadRow = tuple[int, str, str]  # physical line, reason, raw text
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
_BOM = b"\xef\xbb\xbf"


class _Lines:
    """The physical lines of a byte stream, decoded as UTF-8, for ``csv.reader``.

    ``iter`` is what the reader consumes. ``read_again`` puts lines back in front of it (their
    count is kept in ``refed`` so that line numbers stay physical). Lines holding bytes that are
    not UTF-8 are listed in ``bad_bytes`` (line -> reason) before the reader reaches them.
    ``done`` is the last line of the last record dealt with: the blocks holding the lines after
    it are kept, for the raw text of a bad row and for reading lines again.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.refed = 0
        self.bad_bytes: dict[int, str] = {}
        self.done = 0
        self._recent: deque[tuple[int, list[str]]] = deque()
        self._next_line = 1  # the physical line number of the next block's first line
        self._offset = 0  # the byte offset of the next block
        self._current: Iterator[str] = iter(())
        self._pending: list[str] = []
        self._pending_first = 0
        self.iter: Iterator[str] = itertools.chain.from_iterable(self._blocks())

    def _blocks(self) -> Iterator[Iterator[str]]:
        rest, final = b"", False
        while True:
            if self._pending:
                self._current = iter(self._pending)
                self._pending = []
                yield self._current
                continue
            if final:
                return
            block = self.stream.read(BLOCK_BYTES)
            data = rest + block
            if block:
                cut = _last_line_end(data)
                if not cut:
                    rest = data
                    continue
                data, rest = data[:cut], data[cut:]
            else:
                final = True
                if not data:
                    continue
            lines = self._decode(data)
            while self._recent and self._recent[0][0] + len(self._recent[0][1]) <= self.done + 1:
                self._recent.popleft()  # every line of that block is dealt with
            self._recent.append((self._next_line, lines))
            self._next_line += len(lines)
            self._current = iter(lines)
            yield self._current

    def _decode(self, data: bytes) -> list[str]:
        if self._offset == 0 and data.startswith(_BOM):
            data = data[len(_BOM) :]
            self._offset = len(_BOM)
        try:
            text = data.decode("utf-8")
            lines = io.StringIO(text, newline="").readlines()
        except UnicodeDecodeError:
            text = data.decode("utf-8", "surrogateescape")
            lines = io.StringIO(text, newline="").readlines()
            self._find_bad_bytes(lines)
        self._offset += len(data)
        return lines

    def _find_bad_bytes(self, lines: list[str]) -> None:
        offset = self._offset
        for number, line in enumerate(lines, start=self._next_line):
            found = _NOT_UTF8.search(line)
            if found:
                byte = ord(found.group()) - 0xDC00
                at = offset + len(line[: found.start()].encode("utf-8", "surrogateescape"))
                self.bad_bytes[number] = (
                    f"row: not UTF-8: byte 0x{byte:02x} at byte offset {at:,} (line {number}, "
                    f"character {found.start() + 1}), save the file as UTF-8"
                )
            offset += len(line.encode("utf-8", "surrogateescape"))

    def lines(self, first: int, last: int) -> list[str] | None:
        """Physical lines first..last (after ``done``) from the blocks kept; None if gone."""
        out: list[str] = []
        for start, lines in self._recent:
            lo, hi = max(first, start), min(last, start + len(lines) - 1)
            if lo <= hi:
                out += lines[lo - start : hi - start + 1]
        return out if len(out) == last - first + 1 else None

    def read_again(self, lines: list[str], first: int) -> None:
        """Put ``lines`` (physical lines ``first``...) in front of what is not read yet."""
        self._pending = lines + list(self._current)
        self._pending_first = first
        self.refed += len(lines)

    def restart(self) -> bool:
        """At the end: a fresh ``iter`` for a new reader if lines were put back, else False.

        (A chain that has ended stays ended, so lines put back after the last one was read need
        a new chain; the new reader counts from 1 again.)
        """
        if not self._pending:
            return False
        self.refed = 1 - self._pending_first
        self.iter = itertools.chain.from_iterable(self._blocks())
        return True

    def bad_byte_in(self, first: int, last: int) -> str | None:
        """The reason of the first line in first..last with bytes that are not UTF-8."""
        found = None
        for number in sorted(n for n in self.bad_bytes if n <= last):
            reason = self.bad_bytes.pop(number)  # lines before ``first`` are gone: drop them
            if number >= first and found is None:
                found = reason
        return found


def _last_line_end(data: bytes) -> int:
    """Where the block can be cut: after its last \\n (or its last inner \\r if it has no \\n)."""
    cut = data.rfind(b"\n") + 1
    if not cut:
        cut = data.rfind(b"\r", 0, len(data) - 1) + 1
    return cut


def _text(lines: list[str]) -> str:
    """Lines as valid text for the quarantine: line ends kept, bytes not UTF-8 shown as �."""
    raw = "".join(lines).rstrip("\r\n")[:RAW_CHARS]
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class CsvRecords:
    """The header and then the records of a CSV stream, in chunks, with physical line numbers."""

    def __init__(self, stream: IO[bytes], name: str, extra_header_rows: int = 0) -> None:
        self.name = name
        self._lines = _Lines(stream)
        self._reader = csv.reader(self._lines.iter, strict=True)
        self.header = self._read_header()
        self.header_line = self._lines.done
        for _ in range(extra_header_rows):  # more header rows (a Qualtrics export has two)
            self._next_record()
        self._lines.bad_byte_in(1, self._lines.done)

    def _next_record(self) -> list[str] | None:
        """The next non-blank record (None at the end)."""
        for row in self._reader:
            self._lines.done = self._reader.line_num - self._lines.refed
            if row and (len(row) > 1 or row[0].strip()):
                return row
        return None

    def _read_header(self) -> list[str]:
        try:
            header = self._next_record()
        except csv.Error as exc:
            raise IngestError(f"{self.name}: line 1 (the header) cannot be read: {exc}") from exc
        if header is None:
            raise IngestError(f"{self.name}: empty file; expected a header line with column names")
        reason = self._lines.bad_byte_in(1, self._lines.done)
        if reason:
            raise IngestError(f"{self.name}: the header {reason.removeprefix('row: ')}")
        return header

    def chunks(self, rows: int) -> Iterator[tuple[list[str], list[int], list[BadRow]]]:
        """Yield (fields of the good rows, flat, row after row; their first lines; bad rows)."""
        width = len(self.header)
        flat: list[str] = []
        starts: list[int] = []
        bad: list[BadRow] = []
        lines, reader = self._lines, self._reader
        while True:
            try:
                for row in reader:
                    end = reader.line_num - lines.refed
                    if len(row) == width and not lines.bad_bytes:
                        flat += row
                        starts.append(lines.done + 1)
                        lines.done = end
                    elif not row or (len(row) == 1 and not row[0].strip()):
                        lines.done = end  # a blank line
                    else:
                        lines.done = self._odd(row, lines.done + 1, end, flat, starts, bad)
                    if len(starts) >= rows:
                        yield flat, starts, bad
                        flat, starts, bad = [], [], []
            except csv.Error as exc:
                end = reader.line_num - lines.refed
                lines.done = self._broken(lines.done + 1, end, str(exc), bad)
                continue
            if not lines.restart():
                break
            reader = self._reader = csv.reader(lines.iter, strict=True)
        yield flat, starts, bad

    def _odd(
        self,
        row: list[str],
        start: int,
        end: int,
        flat: list[str],
        starts: list[int],
        bad: list[BadRow],
    ) -> int:
        """A row that is not simply good: returns the last line it took."""
        width = len(self.header)
        if len(row) < width and (end > start or row[-1].endswith(("\n", "\r"))):
            return self._unclosed(start, end, "row: unclosed quote", bad)
        reason = self._lines.bad_byte_in(start, end)
        if reason is None and len(row) == width:
            flat += row
            starts.append(start)
            return end
        if reason is None:
            reason = f"row: wrong number of fields: {len(row)}, expected {width}"
            if end > start:
                reason += f" (the row spans lines {start}-{end})"
        text = self._lines.lines(start, end)
        assert text is not None  # the blocks since the row's start are kept
        bad.append((start, reason, _text(text)))
        return end

    def _broken(self, start: int, end: int, message: str, bad: list[BadRow]) -> int:
        """A row the reader gave up on (it reads strictly: a quoted field ends with a quote
        followed by a comma or the end of the line, and closes before the end of the file)."""
        if "unexpected end of data" in message:
            return self._unclosed(start, end, "row: unclosed quote", bad, at_end=True)
        if "expected after" in message and end > start:  # closed by the next field's quote
            return self._unclosed(start, end, "row: unclosed quote", bad)
        if "expected after" in message:
            reason = 'row: text after a closing quote (a quote inside quotes is written "")'
        else:
            reason = f"row: cannot be read: {message}"
        return self._unclosed(start, end, reason, bad)

    def _unclosed(
        self, start: int, end: int, reason: str, bad: list[BadRow], at_end: bool = False
    ) -> int:
        """A quote opened on line ``start`` runs on to ``end`` (or to the end of the file):
        report ``start`` alone and read the lines after it again as rows of their own."""
        text = self._lines.lines(start, end)
        assert text is not None  # the blocks since the row's start are kept
        if at_end or (end == start and reason.endswith("unclosed quote")):
            reason += ": the quoted field opened on this line is never closed"
        elif end > start:
            reason += f": the quoted field opened on this line runs on to line {end}"
        if end > start:
            reason += f" (lines {start + 1}-{end} are read again as rows of their own)"
            self._lines.read_again(text[1:], start + 1)
        not_utf8 = self._lines.bad_byte_in(start, start)
        reason += f"; {not_utf8}" if not_utf8 else ""
        bad.append((start, reason, _text(text[:1])))
        return start
