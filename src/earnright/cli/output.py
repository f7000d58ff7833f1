"""Rendering results for the terminal or a file: table, csv, json, parquet."""

from __future__ import annotations

import json
import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from earnright.errors import QueryError

__all__ = ["Format", "err_console", "write_frame", "write_json"]

err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN becomes null, timestamps ISO 8601."""
    return [{str(k): _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def write_json(data: Any, output: Path | None) -> None:
    text = json.dumps(data, indent=2, default=str)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")


def write_frame(
    frame: pd.DataFrame,
    fmt: Format,
    output: Path | None,
    *,
    title: str = "",
    table_columns: list[str] | None = None,
) -> None:
    """Write a result frame in the chosen format to ``output`` or standard output."""
    if fmt is Format.json:
        write_json(records(frame), output)
    elif fmt is Format.csv:
        if output is None:
            frame.to_csv(sys.stdout, index=False)
        else:
            frame.to_csv(output, index=False)
    elif fmt is Format.parquet:
        if output is None:
            raise QueryError("--format parquet writes a binary file; give --output FILE")
        frame.to_parquet(output, index=False)
    else:
        shown = frame[table_columns] if table_columns else frame
        console = Console(file=output.open("w") if output else None, width=200)
        console.print(_rich_table(shown, title))


def _rich_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title or None, show_lines=False)
    for col in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    return table


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
