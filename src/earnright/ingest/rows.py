"""The checks of :func:`earnright.ingest.kinds.validate_chunk`, for a few rows at a time.

``validate_chunk`` checks a chunk of a file with pandas: fast per row on a large chunk, but
tens of milliseconds per call whatever the number of rows. A caller that brings rows one or
a handful at a time (the survey server, one customer's answer) would pay that per row.
:class:`RowRules` applies the same checks to rows given as mappings of text, without pandas:
compiled once for a kind, a config, the open columns and the known units, it checks a row in
microseconds and gives the same result ``validate_chunk`` gives that row: the same accepted
values, and for a rejected row the same line, fields, reasons (in the same order, with the
same quoted values), raw text and row key. ``tests/ingest/test_rows.py`` holds the two to the
same output over hostile rows (words, fractions, out-of-scale numbers, infinities, missing
spellings, unknown moments and units, bad dates).

Covered kinds: those whose checks are per field (units, customers, feedback, invitations,
transactions); the others (metrics, loss calls, issues, actions) compare fields with each
other and are checked by ``validate_chunk`` only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from earnright.config import Config
from earnright.ingest.kinds import MISSING_NUMBERS, FieldType, KindSpec

__all__ = ["ROW_KINDS", "RowCheck", "RowRules", "row_raw"]

ROW_KINDS = frozenset({"units", "customers", "feedback", "invitations", "transactions"})
Value = str | float | datetime | None


@dataclass
class RowCheck:
    """Rows after the checks: ``accepted`` typed (``_line`` and every field, missing as None),
    ``rejected`` as ``validate_chunk`` gives them (``line``, ``field``, ``reason``, ``raw``,
    ``row_key``), and their ``problems`` (field, reason) one by one, by line."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    problems: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


class _Problems:
    """One row's problems, in the order found: fields and reasons as ``Rejected`` words them."""

    def __init__(self) -> None:
        self.fields: list[str] = []
        self.reasons: list[str] = []

    def add(self, name: str, message: str, shown: str | None = None, suffix: str = "",
            quote: bool = True) -> None:  # fmt: skip
        text = message + suffix
        if shown is not None:
            value = shown[:80]
            text = message + (f"'{value}'" if quote else value) + suffix
        self.fields.append(name)
        self.reasons.append(f"{name}: {text}")


def _as_text(value: Any) -> str | None:
    """A cell as text, as the chunk reads it: missing stays missing."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, str) else str(value)


def _text(value: Any) -> str | None:
    """Stripped text, an empty one missing (``kinds._text``)."""
    text = _as_text(value)
    if text is None:
        return None
    return text.strip() or None


def _number_text(value: Any) -> str | None:
    text = _text(value)
    return None if text in MISSING_NUMBERS else text


def _to_float(text: str) -> float:
    """A number from text as ``kinds._to_float`` reads a one-row chunk: Arrow's cast, else
    pandas' (NaN when neither reads it)."""
    try:
        return float(pc.cast(pa.scalar(text), pa.float64()).as_py())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return float(pd.to_numeric(pd.Series([text], dtype=object), errors="coerce")[0])


def _shown(number: float) -> str:
    return str(pd.Series([number], dtype="float64").astype(str)[0])


def _number(raw: Any, name: str, ftype: FieldType, problems: _Problems) -> float | None:
    text = _number_text(raw)
    if text is None:
        return None
    number = _to_float(text)
    if number != number:
        problems.add(name, "not a number: ", str(_as_text(raw)))
        return None
    if number in (float("inf"), float("-inf")):
        problems.add(name, "not a finite number")
    elif ftype == "int" and number != round(number):
        problems.add(name, "not a whole number: ", _shown(number), quote=False)
    return number


def _timestamp(raw: Any, name: str, problems: _Problems) -> datetime | None:
    if isinstance(raw, datetime):
        stamp = pd.Timestamp(raw)
        return (stamp.tz_convert("UTC").tz_localize(None) if stamp.tz else stamp).to_pydatetime()
    text = _text(raw)
    if text is None:
        return None
    stamp = pd.to_datetime(pd.Series([text]), format="ISO8601", utc=True, errors="coerce")[0]
    if stamp is pd.NaT:
        problems.add(name, "not a date/time: ", text,
                     " (expected ISO 8601, e.g. 2026-09-30T14:05:00)")  # fmt: skip
        return None
    return pd.Timestamp(stamp.tz_localize(None)).floor("us").to_pydatetime()


Check = Callable[[Any, _Problems], Value]


class RowRules:
    """``validate_chunk``'s checks of ``spec``'s rows, compiled once (module doc)."""

    def __init__(
        self, spec: KindSpec, config: Config, open_cols: list[str], known_units: set[str] | None
    ) -> None:
        if spec.kind not in ROW_KINDS:
            raise ValueError(f"{spec.kind} rows are checked by validate_chunk only")
        self.spec, self.open_cols, self.known_units = spec, list(open_cols), known_units
        self.checks: dict[str, Check] = {n: self._field(n, t) for n, t in spec.fields.items()}
        for col in self.open_cols:
            self.checks[col] = self._question(col, config) if spec.open_columns == "questions" \
                else (lambda raw, _: _text(raw))  # fmt: skip
        self.moments = set(config.journey.moment_ids())
        self.levels = list(config.units.levels)

    def _field(self, name: str, ftype: FieldType) -> Check:
        required = name in self.spec.required
        if ftype in ("id", "text"):

            def text(raw: Any, problems: _Problems) -> Value:
                value = _text(raw)
                if value is None and required and ftype == "id":
                    problems.add(name, "missing value")
                return value

            return text

        def typed(raw: Any, problems: _Problems) -> Value:
            blank = _number_text(raw) if ftype in ("float", "int") else _text(raw)
            if required and blank is None and not isinstance(raw, datetime):
                problems.add(name, "missing value")
            if ftype == "timestamp":
                return _timestamp(raw, name, problems)
            return _number(raw, name, ftype, problems)

        return typed

    @staticmethod
    def _question(col: str, config: Config) -> Check:
        question = config.question(col)
        if question is None:
            raise ValueError(f"{col} is not a question of the config")
        low, high = question.min, question.max

        def answer(raw: Any, problems: _Problems) -> Value:
            value = _number(raw, col, "float", problems)
            if value is None:
                return None
            if value < low or value > high:
                problems.add(col, "out of scale: ", _shown(value),
                             f" (expected {low} to {high})", quote=False)  # fmt: skip
            elif value != round(value) and value not in (float("inf"), float("-inf")):
                problems.add(col, "not a whole-number answer: ", _shown(value), quote=False)
            return value

        return answer

    def check(self, rows: Iterable[Mapping[str, Any]]) -> RowCheck:
        """Check ``rows`` (each with its ``_line``; absent fields missing)."""
        out = RowCheck()
        for row in rows:
            problems = _Problems()
            typed: dict[str, Any] = {"_line": int(row["_line"])}
            for name, check in self.checks.items():
                typed[name] = check(row[name], problems) if name in row else None
            self._check_kind(typed, problems)
            if not problems.reasons:
                out.accepted.append(typed)
                continue
            out.rejected.append({
                "line": typed["_line"], "field": "; ".join(problems.fields),
                "reason": "; ".join(problems.reasons), "raw": row_raw(row),
                "row_key": self._key(typed),
            })  # fmt: skip
            out.problems[typed["_line"]] = list(zip(problems.fields, problems.reasons, strict=True))
        return out

    def _check_kind(self, typed: dict[str, Any], problems: _Problems) -> None:
        if self.known_units is not None:
            for col in self.spec.unit_columns:
                unit = typed[col]
                if unit is not None and unit not in self.known_units:
                    problems.add(col, "unknown unit: ", unit, " (ingest units first)")
        kind = self.spec.kind
        moment = typed.get("moment")
        known = not self.moments or moment is None or moment in self.moments
        if kind in ("feedback", "invitations") and not known:
            problems.add("moment", "unknown journey moment: ", moment)
        if kind == "feedback" and typed["channel"] is None:
            typed["channel"] = "survey"
        elif kind == "feedback":
            typed["channel"] = pc.utf8_lower(pa.scalar(typed["channel"])).as_py()
        if kind == "units" and typed["level"] is not None and typed["level"] not in self.levels:
            problems.add("level", "unknown level: ", typed["level"], f" (expected one of "
                         f"{self.levels})")  # fmt: skip

    def _key(self, typed: dict[str, Any]) -> str | None:
        parts = [typed[k] for k in self.spec.key]
        if any(p is None for p in parts):
            return None
        return "|".join(str(p) for p in parts)


def row_raw(row: Mapping[str, Any]) -> str:
    """The row as read, as ``kinds.raw_json`` words it."""
    record = {k: _as_text(v) for k, v in row.items() if k != "_line"}
    return json.dumps(record, default=str, ensure_ascii=False)
