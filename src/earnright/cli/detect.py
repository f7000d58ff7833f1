"""``earnright detect``: anomaly scores for a ``timestamp,value`` series, point by point."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from earnright.cli.common import OutputOpt
from earnright.cli.output import Format, choose_format, write_frame
from earnright.errors import IngestError
from earnright.export import protect
from earnright.reliability.anomaly import DetectorParams, score_series

__all__ = ["detect", "read_series", "register"]


class SeriesFormat(StrEnum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)


def read_series(path: Path) -> pd.DataFrame:
    """A ``timestamp,value`` CSV as a frame (other columns kept), checked row by row.

    An empty value is a missing point (it scores 0). Raises IngestError naming the file, the
    line and the field when the file, a timestamp or a value cannot be read, or when the
    timestamps go backwards (a stream arrives in time order).
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
    backwards = np.r_[False, np.diff(stamps.to_numpy()) < np.timedelta64(0, "ns")]
    _check(path, "timestamp", backwards, frame["timestamp"], "earlier than the row before")
    frame["timestamp"] = stamps
    frame["value"] = values.astype(float)
    return frame


def _check(path: Path, field: str, bad: np.ndarray, raw: pd.Series, why: str) -> None:
    if bad.any():
        row = int(np.argmax(bad))
        raise IngestError(f"{path}, line {row + 2}, {field} {raw.iloc[row]!r}: {why}")


def detect(
    file: Annotated[Path, typer.Argument(help="CSV with columns timestamp and value.")],
    fmt: Annotated[
        SeriesFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format: csv, json or xlsx (default: the extension of --output, else csv).",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
) -> None:
    """Score every row of a series for anomalies, using only the rows before it.

    Writes the rows back with an ``anomaly_score`` column in [0, 1): each row is scored from
    the earlier rows and its own value, never from later rows, as a stream would be. Scores at
    or above 0.5 are alerts; see docs/anomaly.md for the detector and its NAB benchmark.
    """
    chosen = choose_format(fmt, output, offered=list(SeriesFormat), default=Format.csv)
    protect(file)
    frame = read_series(file)
    frame["anomaly_score"] = score_series(frame["timestamp"], frame["value"], DetectorParams())
    write_frame(frame, chosen, output)
