"""``earnright detect``: anomaly scores for a ``timestamp,value`` series, point by point."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from earnright.api.operations import detect_file
from earnright.cli.common import OutputOpt, render
from earnright.cli.output import Format, choose_format, cli_words, err_console, visible

__all__ = ["detect", "register"]


class SeriesFormat(StrEnum):
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)


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

    Writes the rows back, in file order and with the timestamps exactly as given, with an
    ``anomaly_score`` column in [0, 1): each row is scored from the rows before it in the file
    and its own value, never from later rows, as a stream would be. Late rows (earlier than a
    row before them) and repeated times are scored where they arrive; their count is printed
    on stderr. Scores at or above 0.5 are alerts; see docs/anomaly.md for the detector and its
    NAB benchmark.
    """
    chosen = choose_format(fmt, output, offered=list(SeriesFormat), default=Format.csv)
    result = detect_file(file)
    for note in result.notes:
        err_console.print(visible(cli_words(note)), soft_wrap=True)
    render(result, chosen, output)
