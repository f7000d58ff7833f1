"""Writing result tables to files a person opens: safe cells, safe paths, whole files.

- **Formula injection.** A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@``
  (and some also after a tab or carriage return) as a formula. Text from data (a unit's name, a
  comment) is therefore written with a leading ``'`` when it begins with one of those characters
  (OWASP's rule for CSV injection); numbers stay numbers, and text that is a plain number such
  as ``-2.5`` is left as it is, since a spreadsheet reads it as that number.
- **The workspace's own files.** An export never overwrites the warehouse, the config or a file
  the command reads: :func:`check_output` refuses them with a message naming the path.
- **Whole files.** Every export is written to a temporary file beside the target and renamed
  into place, so an interrupted write leaves the old file, never half a new one.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from earnright.errors import QueryError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "check_output",
    "neutralise",
    "protect",
    "spreadsheet_safe",
    "write_atomic",
    "write_csv",
    "write_xlsx",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONFIG_NAME = "earnright.toml"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_PROTECTED: set[Path] = set()


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if _PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are neutralised; numeric columns are untouched."""
    import pandas as pd

    safe = frame.copy()
    safe.columns = [neutralise(str(c)) for c in frame.columns]
    for pos in range(frame.shape[1]):
        column = frame.iloc[:, pos]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
            continue
        safe.iloc[:, pos] = column.map(neutralise).astype(object)
    return safe


def protect(*paths: Path | str) -> None:
    """Mark files this command reads (its inputs, the workspace's config and warehouse) so that
    :func:`check_output` refuses to write over them."""
    for path in paths:
        _PROTECTED.add(Path(path).expanduser().resolve())


def _is_database(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head[8:12] == _DUCKDB_MAGIC


def check_output(path: Path, argument: str = "output") -> Path:
    """``path`` resolved, or a QueryError when writing there would destroy a file of the user's:
    a directory, a workspace config, a warehouse (a DuckDB file or its write-ahead log), or a
    file this command reads."""
    target = path.expanduser().resolve()
    why = ""
    if target.is_dir():
        why = "is a directory"
    elif target in _PROTECTED:
        why = "is a file this command reads"
    elif target.name == CONFIG_NAME:
        why = "is a workspace config"
    elif target.suffix == ".wal" or (target.is_file() and _is_database(target)):
        why = "is a warehouse database"
    if why:
        raise QueryError(
            f"{path} {why}; refusing to write over it. Choose another file.", argument=argument
        )
    return target


def write_atomic(path: Path, write: Callable[[BinaryIO], object], argument: str = "output") -> None:
    """Check ``path`` (:func:`check_output`), call ``write`` with a binary file beside it, and
    rename that file into place: the target is either the old file or the whole new one."""
    target = check_output(path, argument)
    if not target.parent.is_dir():
        raise QueryError(f"{path}: the folder {target.parent} does not exist", argument=argument)
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(temp, target.stat().st_mode & 0o777)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(frame: pd.DataFrame, path: Path, argument: str = "output") -> None:
    """``frame`` as a spreadsheet-safe UTF-8 CSV at ``path``, written whole."""
    safe = spreadsheet_safe(frame)
    write_atomic(path, lambda handle: safe.to_csv(handle, index=False, encoding="utf-8"), argument)


def write_xlsx(frame: pd.DataFrame, path: Path, argument: str = "output", sheet: str = "") -> None:
    """``frame`` as an Excel workbook at ``path``: numbers as numbers, text as text cells."""
    write_sheets({sheet or "result": frame}, path, argument)


def write_sheets(frames: dict[str, pd.DataFrame], path: Path, argument: str = "output") -> None:
    """Several frames as the sheets of one Excel workbook at ``path``, written whole."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, frame in frames.items():
        _fill_sheet(book.create_sheet(_sheet_title(name)), frame)
    write_atomic(path, book.save, argument)


def _sheet_title(name: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", name).strip("' ") or "sheet"
    return cleaned[:31]


def _fill_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    sheet.append([_excel_value(neutralise(str(c))) for c in frame.columns])
    for row in spreadsheet_safe(frame).itertuples(index=False):
        sheet.append([_excel_value(v) for v in row])
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula


def _excel_value(value: Any) -> Any:
    import numpy as np
    import pandas as pd
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, list | tuple | dict | set | np.ndarray):
        value = str(value)
    if isinstance(value, str):  # a workbook cannot hold control characters: show them escaped
        return ILLEGAL_CHARACTERS_RE.sub(
            lambda m: m.group().encode("unicode_escape").decode("ascii"), value
        )
    if value is None or pd.isna(value):
        return None
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        value = value.replace(tzinfo=None)
    return value
