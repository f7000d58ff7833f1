"""The canonical import formats and the row checks of each kind of file.

Checks are vectorised over a chunk (pandas), never a Python loop per row. A row that fails any
check is rejected with every problem found, each naming the field, the value and what was
expected; the rest of the chunk goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from earnright.config import DATA_KINDS, IDENTIFIER, Config
from earnright.errors import IngestError

__all__ = ["KINDS", "KindSpec", "Rejected", "validate_chunk"]

FieldType = Literal["id", "text", "timestamp", "float", "int"]
OpenColumns = Literal["questions", "attributes", "dimensions"]


@dataclass(frozen=True)
class KindSpec:
    """One kind of file: its table, required and optional columns, and what extra columns mean."""

    kind: str
    table: str
    required: dict[str, FieldType]
    optional: dict[str, FieldType] = field(default_factory=dict)
    open_columns: OpenColumns | None = None
    unit_columns: tuple[str, ...] = ()
    key: tuple[str, ...] = ()

    @property
    def fields(self) -> dict[str, FieldType]:
        return {**self.required, **self.optional}


_SPECS: dict[str, KindSpec] = {
    s.kind: s
    for s in [
        KindSpec(
            "units",
            "units",
            {"unit_id": "id", "name": "text", "level": "id", "parent_id": "text"},
            {"valid_from": "timestamp"},
            key=("unit_id",),
        ),
        KindSpec(
            "customers",
            "customers",
            {"customer_id": "id", "home_unit_id": "id", "joined_at": "timestamp"},
            open_columns="attributes",
            unit_columns=("home_unit_id",),
            key=("customer_id",),
        ),
        KindSpec(
            "feedback",
            "feedback",
            {"response_id": "id", "unit_id": "id", "responded_at": "timestamp"},
            {"customer_id": "text", "channel": "text", "moment": "text", "comment": "text"},
            open_columns="questions",
            unit_columns=("unit_id",),
            key=("response_id",),
        ),
        KindSpec(
            "invitations",
            "invitations",
            {"invitation_id": "id", "unit_id": "id", "customer_id": "id", "sent_at": "timestamp"},
            {"moment": "text"},
            unit_columns=("unit_id",),
            key=("invitation_id",),
        ),
        KindSpec(
            "transactions",
            "transactions",
            {
                "transaction_id": "id",
                "customer_id": "id",
                "unit_id": "id",
                "occurred_at": "timestamp",
                "amount": "float",
            },
            unit_columns=("unit_id",),
            key=("transaction_id",),
        ),
        KindSpec(
            "metrics",
            "metrics",
            {"observed_at": "timestamp", "metric": "id", "unit_id": "id"},
            {"value": "float", "good": "int", "total": "int"},
            open_columns="dimensions",
            unit_columns=("unit_id",),
            key=("row_key",),
        ),
        KindSpec(
            "loss_calls",
            "loss_calls",
            {"customer_id": "id", "called_at": "timestamp", "caller": "id", "outcome": "text"},
            {"reason_code": "text", "won_back": "int"},
            key=("customer_id", "called_at"),
        ),
        KindSpec(
            "issues",
            "issues",
            {"issue_id": "id", "unit_id": "id", "title": "text", "owner": "text"},
            {
                "moment": "text",
                "metric": "text",
                "evidence": "text",
                "customers_at_stake": "float",
                "revenue_at_stake": "float",
                "raised_at": "timestamp",
            },
            unit_columns=("unit_id",),
            key=("issue_id",),
        ),
        KindSpec(
            "actions",
            "actions",
            {
                "action_id": "id",
                "unit_id": "id",
                "started_at": "timestamp",
                "metric": "id",
                "kind": "id",
                "owner": "text",
                "decided_by": "text",
            },
            {
                "moment": "text",
                "issue_id": "text",
                "expected_effect": "float",
                "ended_at": "timestamp",
            },
            unit_columns=("unit_id",),
            key=("action_id",),
        ),
    ]
}
# one spec per data kind, in the order of the one declaration (a kind without a spec fails here)
KINDS: dict[str, KindSpec] = {kind: _SPECS[kind] for kind in DATA_KINDS}

ARROW_TYPES: dict[FieldType, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "timestamp": pa.timestamp("us"),
    "float": pa.float64(),
    "int": pa.int64(),
}


PANDAS_TYPES: dict[FieldType, str] = {
    "id": "string",
    "text": "string",
    "timestamp": "datetime64[us]",
    "float": "float64",
    "int": "float64",
}


def open_columns_of(spec: KindSpec, columns: list[str], config: Config, source: str) -> list[str]:
    """The file's extra columns (questions, attributes, dimensions); IngestError if not allowed."""
    extra = [c for c in columns if c not in spec.fields and c != "_line"]
    if spec.open_columns is None and extra:
        raise IngestError(
            f"{source}: unexpected column(s) {extra} for {spec.kind}; expected only "
            f"{list(spec.fields)}. Drop them with `ignore` in a [sources.NAME] mapping"
        )
    bad_names = [c for c in extra if not IDENTIFIER.match(c)]
    if bad_names:
        raise IngestError(
            f"{source}: column name(s) {bad_names} must be lower-case letters, digits and _; "
            "rename them with `columns` in a [sources.NAME] mapping of earnright.toml"
        )
    if spec.open_columns == "questions":
        unknown = [c for c in extra if config.question(c) is None]
        if unknown:
            raise IngestError(
                f"{source}: column(s) {unknown} are neither feedback fields nor known questions; "
                f"declare them as [[questions]], name driver questions "
                f"'{config.drivers.prefix}…', or drop them with `ignore` in a [sources.NAME] "
                "mapping"
            )
    return extra


class Rejected:
    """Accumulates the problems of a chunk's rows: per row, the failing fields and reasons."""

    def __init__(self, index: pd.Index) -> None:
        self.fields = pd.Series("", index=index, dtype=object)
        self.reasons = pd.Series("", index=index, dtype=object)
        self._bad = np.zeros(len(index), dtype=bool)  # kept as it grows: no string compare

    def add(
        self,
        mask: pd.Series | np.ndarray,
        fieldname: str,
        message: str,
        values: pd.Series | None = None,
        suffix: str = "",
        quote: bool = True,
    ) -> None:
        """Reject the rows in ``mask``: ``message`` + the row's value (if given) + ``suffix``."""
        mask = pd.Series(mask, index=self.fields.index).fillna(False).astype(bool)
        if not mask.any():
            return
        text: pd.Series | str = message + suffix
        if values is not None:
            shown = values[mask].astype(str).str.slice(0, 80)
            text = message + (("'" + shown + "'") if quote else shown) + suffix
        self._bad |= mask.to_numpy()
        sep = np.where(self.fields[mask] == "", "", "; ")
        self.fields[mask] = self.fields[mask] + sep + fieldname
        self.reasons[mask] = self.reasons[mask] + sep + (fieldname + ": " + text)

    @property
    def mask(self) -> pd.Series:
        return pd.Series(self._bad, index=self.fields.index)


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, empty ones as missing."""
    if not pd.api.types.is_string_dtype(series) or series.dtype == object:
        series = series.astype("str").where(series.notna())
    out = series.str.strip()
    return out.mask(out == "")


# In a number column these spellings of "no value" (the ones pandas reads as missing) are
# missing, like an empty field; in text, id and date columns only an empty field is missing.
MISSING_NUMBERS = frozenset(
    {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)


def _number_text(series: pd.Series) -> pd.Series:
    text = _text(series)
    return text.mask(text.isin(MISSING_NUMBERS))


def _blank(series: pd.Series, ftype: FieldType = "text") -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series.isna()
    return (_number_text(series) if ftype in ("float", "int") else _text(series)).isna()


def _to_float(text: pd.Series) -> pd.Series:
    """Numbers from text: Arrow's cast when every value parses, else pandas, value by value."""
    try:
        return pd.Series(
            pa.array(text, from_pandas=True).cast(pa.float64()).to_numpy(zero_copy_only=False),
            index=text.index,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(text, errors="coerce").astype("float64")


def _to_times(text: pd.Series) -> pd.Series:
    """Times from ISO 8601 text, in UTC, to the microsecond. pandas parses a chunk at the
    finest precision any of its values has: one time to the nanosecond makes it nanoseconds,
    whose range ends in 2262, and a far date beside it (``9999-12-31``: "open-ended") came out
    missing, so a row's fate hung on its neighbours. The values that failed are read again on
    their own."""
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    failed = text.notna() & parsed.isna()
    if not failed.any() or parsed.dt.unit != "ns":
        return parsed
    parsed = parsed.astype("datetime64[us, UTC]")
    again = pd.to_datetime(text[failed], format="ISO8601", utc=True, errors="coerce")
    parsed[failed] = again.astype("datetime64[us, UTC]")
    return parsed


def _parse(series: pd.Series, ftype: FieldType, name: str, rej: Rejected) -> pd.Series:
    if ftype in ("id", "text"):
        return _text(series)
    if ftype == "timestamp":
        if pd.api.types.is_datetime64_any_dtype(series):
            out = (
                series if series.dt.tz is None else series.dt.tz_convert("UTC").dt.tz_localize(None)
            )
            return out.astype("datetime64[us]")
        text = _text(series)
        parsed = _to_times(text)
        rej.add(
            text.notna() & parsed.isna(),
            name,
            "not a date/time: ",
            text,
            " (expected ISO 8601, e.g. 2026-09-30T14:05:00)",
        )
        return parsed.dt.tz_localize(None).astype("datetime64[us]")
    if pd.api.types.is_numeric_dtype(series):
        numeric = series.astype("float64")
    else:
        numeric = _to_float(_number_text(series))
    given = ~_blank(series, ftype)
    rej.add(given & numeric.isna(), name, "not a number: ", series)
    rej.add(np.isinf(numeric), name, "not a finite number")
    if ftype == "int":
        fractional = numeric.notna() & (numeric != np.round(numeric))
        rej.add(fractional, name, "not a whole number: ", numeric, quote=False)
    return numeric


def validate_chunk(
    spec: KindSpec,
    frame: pd.DataFrame,
    config: Config,
    open_cols: list[str],
    known_units: set[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check one chunk. Returns (accepted rows, typed, with _line; rejected rows: line, field,
    reason, raw)."""
    rej = Rejected(frame.index)
    out = pd.DataFrame({"_line": frame["_line"].astype("int64")}, index=frame.index)
    for name, ftype in spec.fields.items():
        if name not in frame.columns:
            out[name] = pd.Series(None, index=frame.index, dtype=PANDAS_TYPES[ftype])
            continue
        if ftype == "id":  # stripped once: missing where empty
            out[name] = _text(frame[name])
            if name in spec.required:
                rej.add(out[name].isna(), name, "missing value")
            continue
        if name in spec.required and ftype != "text":
            rej.add(_blank(frame[name], ftype), name, "missing value")
        out[name] = _parse(frame[name], ftype, name, rej)
    for col in open_cols:
        if spec.open_columns == "questions":
            out[col] = _check_question(frame[col], col, config, rej)
        else:
            out[col] = _text(frame[col])
    _check_kind(spec, out, config, rej, known_units)
    bad = rej.mask
    rejected = pd.DataFrame(
        {
            "line": frame.loc[bad, "_line"].astype("int64"),
            "field": rej.fields[bad],
            "reason": rej.reasons[bad],
            "raw": raw_json(frame.loc[bad]),
            "row_key": row_keys(spec, out.loc[bad], open_cols),
        }
    )
    return out.loc[~bad], rejected


def row_keys(spec: KindSpec, rows: pd.DataFrame, open_cols: list[str]) -> pd.Series:
    """The key of each (checked) row as text, missing where it could not be read: what a later
    batch must bring again to supersede the row in quarantine."""
    if spec.kind == "metrics":
        if rows.empty:
            return pd.Series(pd.NA, index=rows.index, dtype="string")
        return metric_row_key(rows, open_cols)
    if len(spec.key) == 1:
        return rows[spec.key[0]].astype("string")
    parts = [rows[k].astype("string") for k in spec.key]  # e.g. customer_id|called_at
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def _check_question(series: pd.Series, col: str, config: Config, rej: Rejected) -> pd.Series:
    question = config.question(col)
    assert question is not None  # open_columns_of admitted only known questions
    values = _parse(series, "float", col, rej)
    outside = values.notna() & ((values < question.min) | (values > question.max))
    rej.add(
        outside,
        col,
        "out of scale: ",
        values,
        f" (expected {question.min} to {question.max})",
        quote=False,
    )
    fractional = values.notna() & (values != np.round(values))
    rej.add(fractional & ~outside, col, "not a whole-number answer: ", values, quote=False)
    return values


def _check_kind(
    spec: KindSpec,
    out: pd.DataFrame,
    config: Config,
    rej: Rejected,
    known_units: set[str] | None,
) -> None:
    if known_units is not None:
        for col in spec.unit_columns:
            unknown = out[col].notna() & ~out[col].isin(known_units)
            rej.add(unknown, col, "unknown unit: ", out[col], " (ingest units first)")
    if spec.kind in ("feedback", "invitations"):
        moments = config.journey.moment_ids()
        if moments:
            odd = out["moment"].notna() & ~out["moment"].isin(moments)
            rej.add(odd, "moment", "unknown journey moment: ", out["moment"])
    if spec.kind == "feedback":
        out["channel"] = out["channel"].str.lower().fillna("survey")
    if spec.kind == "metrics":
        _check_metric_values(out, rej)
    if spec.kind == "loss_calls":
        rej.add(_blank(out["outcome"]), "outcome", "missing value (what the customer said)")
        odd = out["won_back"].notna() & ~out["won_back"].isin([0, 1])
        rej.add(odd, "won_back", "not 0 or 1: ", out["won_back"], quote=False)
    if spec.kind in ("issues", "actions"):
        _check_accountability(spec, out, config, rej)
    if spec.kind == "units":
        levels = config.units.levels
        rej.add(
            out["level"].notna() & ~out["level"].isin(levels),
            "level",
            "unknown level: ",
            out["level"],
            f" (expected one of {levels})",
        )


def _check_metric_values(out: pd.DataFrame, rej: Rejected) -> None:
    has_value = out["value"].notna()
    has_counts = out["good"].notna() & out["total"].notna()
    rej.add(~has_value & ~has_counts, "value", "missing: give either value or good and total")
    rej.add(has_value & has_counts, "value", "give either value or good and total, not both")
    rej.add(out["total"] < 0, "total", "negative count")
    rej.add(out["good"] < 0, "good", "negative count")
    rej.add(out["good"] > out["total"], "good", "good exceeds total")


def _check_accountability(spec: KindSpec, out: pd.DataFrame, config: Config, rej: Rejected) -> None:
    """Issues and actions: owners named, moments known; an action's metric one that outcomes
    can measure, and its end not before its start."""
    for name in ("owner", "decided_by", "title"):
        if name in spec.required:
            rej.add(out[name].isna(), name, "missing value")
    moments = config.journey.moment_ids()
    if moments:
        odd = out["moment"].notna() & ~out["moment"].isin(moments)
        rej.add(odd, "moment", "unknown journey moment: ", out["moment"])
    if spec.kind == "issues":
        for col in ("customers_at_stake", "revenue_at_stake"):
            rej.add(out[col] < 0, col, "negative: ", out[col], quote=False)
        return
    known = {m for m in out["metric"].dropna().unique() if config.measurable(str(m))}
    unknown = out["metric"].notna() & ~out["metric"].isin(known)
    rej.add(unknown, "metric", "not a metric outcomes can measure: ", out["metric"],
            " (nps, csat, a question id, an indicator id, retention or spend)")  # fmt: skip
    early = out["ended_at"].notna() & (out["ended_at"] < out["started_at"])
    rej.add(early, "ended_at", "before started_at: ", out["ended_at"])


def metric_row_key(out: pd.DataFrame, dims: list[str]) -> pd.Series:
    """The identity of a measurement: time, metric, unit and its non-empty dimension values.

    Built with array kernels, not pandas' strftime (which formats one value at a time); the
    time is ISO 8601 to the microsecond, e.g. ``2026-09-30T14:05:00.000000``."""
    if out.empty:
        return pd.Series(pd.NA, index=out.index, dtype="string")
    stamp = pa.array(out["observed_at"].to_numpy(dtype="datetime64[us]"), from_pandas=True)
    text = pc.cast(stamp, pa.string())  # 2026-09-30 14:05:00.000000
    parts = [
        pc.replace_substring(text, " ", "T", max_replacements=1),
        _arrow_text(out["metric"]),
        _arrow_text(out["unit_id"]),
    ]
    key = pc.binary_join_element_wise(*parts, "|")  # null if any part is
    for dim in sorted(dims):
        value = _arrow_text(out[dim])
        tagged = pc.binary_join_element_wise(f"|{dim}=", value, "")
        key = pc.binary_join_element_wise(key, pc.fill_null(tagged, ""), "")
    return pd.Series(pd.arrays.ArrowStringArray(key), index=out.index)


def _arrow_text(series: pd.Series) -> pa.Array:
    return pa.array(series.astype("string"), type=pa.string(), from_pandas=True)


def raw_json(rows: pd.DataFrame) -> pd.Series:
    if rows.empty:  # the usual chunk: nothing rejected
        return pd.Series([], index=rows.index, dtype=object)
    records = rows.drop(columns="_line").astype(object).where(rows.notna(), None)
    return pd.Series(
        [json.dumps(r, default=str, ensure_ascii=False) for r in records.to_dict("records")],
        index=rows.index,
        dtype=object,
    )
