"""The building blocks of the config models: durations, identifiers, the data kinds, the base model.

Every config table derives from ``_Model``: unknown keys, ``inf`` and ``nan`` are refused.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

__all__ = [
    "CONFIG_FILE",
    "CURRENCY",
    "DATA_KINDS",
    "IDENTIFIER",
    "MAX_DURATION",
    "MIN_DURATION",
    "RESERVED_FEEDBACK_COLUMNS",
    "DataKind",
    "Duration",
    "ScalePoint",
    "format_duration",
    "parse_duration",
]

CONFIG_FILE = "earnright.toml"
# The kinds of data a workspace holds, one warehouse table each: the one declaration of them.
DataKind = Literal[
    "units",
    "customers",
    "feedback",
    "invitations",
    "transactions",
    "metrics",
    "loss_calls",
    "issues",
    "actions",
]
DATA_KINDS: tuple[DataKind, ...] = get_args(DataKind)
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

# Column names of the feedback table that a question id may not take.
RESERVED_FEEDBACK_COLUMNS = frozenset(
    {"response_id", "unit_id", "responded_at", "customer_id", "channel", "moment", "comment"}
    | {"batch_id"}
)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIN_DURATION, MAX_DURATION = timedelta(seconds=1), timedelta(days=3650)


def parse_duration(value: object) -> timedelta:
    """``"5m"``, ``"1h"``, ``"28d"``, ``"2w"`` (or a timedelta) as a timedelta, from one
    second to ten years (``MIN_DURATION``, ``MAX_DURATION``)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(
                f'\'{value}\' is not a duration; expected e.g. "30s", "5m", "1h", "28d"'
            )
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    if not MIN_DURATION.total_seconds() <= seconds <= MAX_DURATION.total_seconds():
        raise ValueError(f"'{value}' is out of range: a duration is from 1s to 3650d (ten years)")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration (``timedelta(days=28)`` -> ``"28d"``)."""
    seconds = value.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds % _SECONDS[unit] == 0:
            return f"{int(seconds // _SECONDS[unit])}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


CURRENCY = re.compile(r"[^\d\s\x00-\x1f\x7f-\x9f]{1,5}")


class _Model(BaseModel):
    """The base of every config table: unknown keys, ``inf`` and ``nan`` are refused."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True
    )


# A scale's ends, a port: integers whose range is known.
ScalePoint = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
