"""Rendering results for the terminal or a file: table, csv, json, parquet, xlsx.

Every value from data is shown as literal text: never read as terminal markup, with control
characters (escape sequences, bidi overrides, newlines) written as visible escapes. Files are
written whole (a temporary file renamed into place) and never over the workspace's own files;
CSV and Excel cells that a spreadsheet would run as formulas are neutralised (see
:mod:`earnright.export`). This module imports pandas only when it renders, so that the command
line starts fast.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import math
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from earnright.api.records import records
from earnright.errors import QueryError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

__all__ = [
    "Format",
    "choose_format",
    "cli_words",
    "err_console",
    "option_of",
    "records",
    "user_message",
    "visible",
    "write_frame",
    "write_json",
    "write_tables",
]

err_console = Console(stderr=True, highlight=False, markup=False)
MAX_FILE_WIDTH = 1000


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"
    xlsx = "xlsx"


SUFFIXES = {
    ".csv": Format.csv,
    ".json": Format.json,
    ".parquet": Format.parquet,
    ".xlsx": Format.xlsx,
}
BINARY = (Format.parquet, Format.xlsx)


def choose_format(
    fmt: StrEnum | None,
    output: Path | None,
    offered: Iterable[str] | None = None,
    default: Format = Format.table,
) -> Format:
    """The format to write: ``--format`` when given, else the one ``--output``'s extension
    names (.csv, .json, .parquet, .xlsx), else ``default``. QueryError when the command does
    not offer it, or when a binary format has no file to go to."""
    if fmt is not None:
        chosen = Format(fmt.value)
    elif output is not None and output.suffix.lower() in SUFFIXES:
        chosen = SUFFIXES[output.suffix.lower()]
    else:
        chosen = default
    allowed = [str(f) for f in offered] if offered is not None else [str(f) for f in Format]
    if chosen.value not in allowed:
        raise QueryError(
            f"this command writes {', '.join(allowed)}, not {chosen.value} "
            f"(from {'--format' if fmt is not None else f'--output {output}'}); "
            "give --format"
        )
    if chosen in BINARY and output is None:
        raise QueryError(f"--format {chosen.value} writes a binary file; give --output FILE")
    return chosen


# API arguments whose option is not spelled ``--`` + the argument with hyphens.
OPTIONS = {"source": "--from", "show_all": "--all", "every": "--all"}
ARGUMENT = re.compile(r"`([a-z][a-z_]*)`")


def option_of(argument: str) -> str:
    """The command-line option of an API argument: ``period`` → ``--period``."""
    return OPTIONS.get(argument, "--" + argument.replace("_", "-"))


@functools.cache
def api_arguments() -> frozenset[str]:
    """Every argument name of the public API's functions and Workspace methods."""
    import earnright.api.workspace as api

    functions: list[Callable[..., Any]] = [api.open_workspace, api.create_workspace]
    functions += [api.create_demo]
    functions += [f for _, f in inspect.getmembers(api.Workspace, inspect.isfunction)]
    names = {name for f in functions for name in inspect.signature(f).parameters}
    return frozenset(names - {"self"} | {"workspace"})


def cli_words(text: str) -> str:
    """``text`` (an error, note or summary in the API's words) with each API argument it names
    in backticks written as its option: ```at``` → ``--at``, ```show_all``` → ``--all``."""
    known = api_arguments()

    def option(match: re.Match[str]) -> str:
        name = match[1]
        return option_of(name) if name in known else match[0]

    return ARGUMENT.sub(option, text)


def user_message(exc: Exception) -> str:
    """What the command line says of a user error: its domain message, led by the option it
    concerns when it names one (``--period: no feedback or invitations in 2026-05 …``), with
    the arguments it names as options (:func:`cli_words`)."""
    argument = getattr(exc, "argument", None)
    message = cli_words(str(exc))
    return f"{option_of(argument)}: {message}" if argument else message


def visible(text: str) -> str:
    """``text`` with control and format characters (ESC, newline, bidi overrides …) written as
    escapes such as ``\\x1b``, so that data cannot move the cursor, recolour or rewrite the
    terminal, or hide what it says."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def _write_text(text: str, output: Path | None) -> None:
    from earnright.export import write_atomic

    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, lambda handle: handle.write(text.encode("utf-8")))


def write_json(data: Any, output: Path | None) -> None:
    _write_text(json.dumps(data, indent=2, default=str) + "\n", output)


def write_frame(
    frame: pd.DataFrame,
    fmt: Format,
    output: Path | None,
    *,
    title: str = "",
    table_columns: list[str] | None = None,
) -> None:
    """Write a result frame in the chosen format to ``output`` or standard output."""
    from earnright import export

    if fmt is Format.json:
        write_json(records(frame), output)
    elif fmt is Format.csv:
        if output is None:
            text = export.spreadsheet_safe(frame).to_csv(index=False)
            if sys.stdout.isatty():  # a person reads it: no escape sequence reaches the terminal
                text = "\n".join(visible(line) for line in text.split("\n"))
            sys.stdout.write(text)
        else:
            export.write_csv(frame, output)
    elif fmt in BINARY:
        if output is None:
            raise QueryError(f"--format {fmt.value} writes a binary file; give --output FILE")
        if fmt is Format.parquet:
            export.write_atomic(output, lambda handle: frame.to_parquet(handle, index=False))
        else:
            export.write_xlsx(frame, output, sheet=title[:31])
    else:
        shown = frame[table_columns] if table_columns else frame
        write_tables([(shown, title)], output)


def write_tables(tables: list[tuple[pd.DataFrame, str]], output: Path | None) -> None:
    """Frames as titled terminal tables, one after another, to the terminal or one file.

    On a terminal the tables fit its width (long cells and headers wrap, none is cut short);
    in a file or a pipe each table is as wide as its widest row needs."""
    rendered = [rich_table(frame, title) for frame, title in tables]
    if output is None and sys.stdout.isatty():
        console = Console(highlight=False, emoji=False, markup=False)
        for table in rendered:
            console.print(table)
        return
    buffer = io.StringIO()  # a file or a pipe: no terminal to fit, every row on one line
    for table in rendered:
        measure = Console(file=io.StringIO(), width=MAX_FILE_WIDTH).measure(table)
        width = min(max(80, measure.maximum), MAX_FILE_WIDTH)
        Console(file=buffer, width=width, highlight=False, emoji=False, markup=False).print(table)
    _write_text(buffer.getvalue(), output)


def rich_table(frame: pd.DataFrame, title: str) -> Table:
    """A rich Table whose every title, header and cell is literal text."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=Text(visible(title)) if title else None, show_lines=False)
    formatters = []
    for pos, col in enumerate(frame.columns):
        series = frame.iloc[:, pos]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        table.add_column(
            Text(visible(str(col))), justify="right" if numeric else "left", overflow="fold"
        )
        formatters.append(_formatter(series))
    for row in frame.itertuples(index=False):
        table.add_row(*[Text(fmt(v)) for fmt, v in zip(formatters, row, strict=True)])
    return table


def _formatter(series: pd.Series) -> Callable[[Any], str]:
    """One format for a whole column: the same decimals on every row."""
    floats = [
        float(v)
        for v in series
        if isinstance(v, float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if not floats or all(v == int(v) for v in floats):
        decimals = 0
    else:
        decimals = 1 if max(abs(v) for v in floats) >= 10 else 2
    return lambda value: _cell(value, decimals)


def _cell(value: Any, decimals: int) -> str:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NaT or value is pd.NA:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "–"
        return f"{value:,.{decimals}f}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    return visible(str(value))
