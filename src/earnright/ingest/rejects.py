"""What a batch keeps of its rejected rows, and when it stops early.

Every rejected row is kept with its line, field(s) and reason, and counted by reason; the raw
text of a row (JSON of its fields, or the text of a row that could not be parsed) is kept only
for the first ``RAW_PER_REASON`` rows of each reason — two million rows that fail the same way
say nothing more than the first thousand. A file whose first ``EARLY_ROWS`` rows are nearly all
rejected (the wrong kind of file, or the units not ingested yet) stops with one message before
anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from earnright.errors import IngestError
from earnright.ingest.readers import Chunk

__all__ = ["EARLY_ROWS", "EARLY_SHARE", "RAW_PER_REASON", "Tally", "head_first"]

RAW_PER_REASON = 1_000
EARLY_ROWS = 5_000
EARLY_SHARE = 0.99


def reason_category(part: str) -> str:
    """'unit_id: unknown unit: 'S9' (…)' -> 'unit_id unknown unit': the reason without values."""
    return " ".join(part.split(": ")[:2])


class Tally:
    """Counts of a batch's rejected rows by reason; caps the raw text kept per reason."""

    def __init__(self) -> None:
        self.by_reason: dict[str, int] = {}
        self.early_checked = False

    def keep(self, bad: pd.DataFrame) -> pd.DataFrame:
        """Count ``bad`` (line, field, reason, raw) by reason; drop the raw text of rows whose
        every reason already has ``RAW_PER_REASON`` rows with raw text."""
        bad = bad.reset_index(drop=True)
        parts = bad["reason"].astype(str).str.split("; ").explode().map(reason_category)
        before = parts.map(self.by_reason).fillna(0).astype("int64")
        rank = before + parts.groupby(parts).cumcount()
        with_raw = (rank < RAW_PER_REASON).groupby(level=0).any()
        for category, rows in parts.value_counts().items():
            self.by_reason[str(category)] = self.by_reason.get(str(category), 0) + int(rows)
        return bad.assign(raw=bad["raw"].where(with_raw, None))

    def check_early(self, source: str, kind: str, read: int, rejected: int) -> None:
        """Once ``EARLY_ROWS`` rows are read: stop if nearly all of them were rejected."""
        if self.early_checked or read < EARLY_ROWS:
            return
        self.early_checked = True
        if rejected < EARLY_SHARE * read:
            return
        top = sorted(self.by_reason.items(), key=lambda kv: -kv[1])[:3]
        reasons = ", ".join(f"{category}: {rows:,}" for category, rows in top)
        if "unknown unit" in top[0][0]:
            hint = "Are the units loaded? Ingest them first: `earnright ingest units FILE`."
        else:
            hint = (
                f"Is this a {kind} file? docs/import-formats.md lists the columns and the rules "
                "of each kind."
            )
        raise IngestError(
            f"{source}: stopped after the first {read:,} rows: {rejected:,} of them were "
            f"rejected ({reasons}). Nothing was ingested. {hint}"
        )


def head_first(chunks: Iterator[Chunk], rows: int = EARLY_ROWS) -> Iterator[Chunk]:
    """The chunks with the first ``rows`` rows split off the first one, so a batch can stop
    after them instead of after a whole chunk."""
    first = next(chunks, None)
    if first is None:
        return
    frame = first.frame
    if len(frame) <= rows:
        yield first
    else:
        cut = int(frame["_line"].iloc[rows])
        head = [b for b in first.bad_lines if b[0] < cut]
        yield Chunk(frame.iloc[:rows], head)
        yield Chunk(frame.iloc[rows:], [b for b in first.bad_lines if b[0] >= cut])
    yield from chunks
