"""Anomaly scores for a ``timestamp,value`` series file, point by point, as a stream would.

:func:`read_series` reads and checks the file (naming the line and field of a bad value);
:func:`score_file` scores every row from the rows before it (``earnright.reliability.anomaly``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from earnright.errors import IngestError
from earnright.export import protect
from earnright.reliability.anomaly import DetectorParams, score_series

__all__ = ["arrival_flags", "arrival_note", "read_series", "score_file"]


def read_series(path: Path) -> pd.DataFrame:
    """A ``timestamp,value`` CSV as a frame (other columns kept), checked row by row.

    The rows stay in file order and ``timestamp`` keeps the text exactly as given; the parsed
    times are in the ``attrs["times"]`` array. An empty value is a missing point (it scores 0).
    Late rows (a timestamp earlier than one before it) and duplicates (a timestamp seen before)
    are kept: real feeds have them; ``attrs["late"]`` and ``attrs["duplicate"]`` mark them.
    Raises IngestError naming the file, the line and the field when the file, a timestamp or a
    value cannot be read.
    """
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise IngestError(f"{path}: cannot read it as CSV: {exc}") from exc
    missing = [c for c in ("timestamp", "value") if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path}: no column {', '.join(missing)}; the header must name timestamp and value"
        )
    try:
        stamps = pd.to_datetime(frame["timestamp"], errors="coerce", format="mixed")
    except (ValueError, TypeError) as exc:  # e.g. time zones mixed with naive times
        raise IngestError(f"{path}, column timestamp: {exc}") from exc
    _check(path, "timestamp", stamps.isna().to_numpy(), frame["timestamp"], "not a date-time")
    text = frame["value"].str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = (values.isna() & (text != "")).to_numpy()
    _check(path, "value", bad, frame["value"], "not a number (leave it empty if missing)")
    good = values.notna().to_numpy()
    exact = np.full(len(frame), np.nan)
    exact[good] = np.asarray(text[good], dtype=float)  # numpy's parse round-trips the text
    frame["value"] = exact
    frame.attrs["times"] = stamps.to_numpy()
    frame.attrs["late"], frame.attrs["duplicate"] = arrival_flags(stamps.to_numpy())
    return frame


def arrival_flags(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, in arrival order: is it *late* (earlier than the newest row before it) or a
    *duplicate* (the same time as the newest row before it)? The two never overlap."""
    if len(times) == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    newest = np.maximum.accumulate(times)[:-1]
    return np.r_[False, times[1:] < newest], np.r_[False, times[1:] == newest]


def arrival_note(path: Path, late: np.ndarray, duplicate: np.ndarray) -> str | None:
    """The warning for late and duplicate rows (None when there are none)."""
    parts = []
    kinds = (
        (late, "late row(s), earlier than a row before them"),
        (duplicate, "row(s) repeating the time of the row before them"),
    )
    for flags, what in kinds:
        if flags.any():
            first = int(np.argmax(flags)) + 2  # the header is line 1
            parts.append(f"{int(flags.sum())} {what} (first at line {first})")
    if not parts:
        return None
    return f"{path}: " + "; ".join(parts) + "; every row is scored in file order, as it arrived"


def _check(path: Path, field: str, bad: np.ndarray, raw: pd.Series, why: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        raise IngestError(f"{path}, line {row + 2}, {field} {raw.iloc[row]!r}: {why}")


def score_file(path: Path) -> tuple[pd.DataFrame, str | None]:
    """The rows of ``path`` in file order with an ``anomaly_score`` column, and the warning
    for late and repeated rows (None when there are none)."""
    protect(path)
    frame = read_series(path)
    note = arrival_note(path, frame.attrs["late"], frame.attrs["duplicate"])
    scores = score_series(frame.attrs["times"], frame["value"], DetectorParams())
    frame.attrs = {}
    frame["anomaly_score"] = scores
    return frame, note
