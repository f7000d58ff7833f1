"""TOML spelling of config values: strings, keys, lists, inline tables and durations."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from earnright.config.values import format_duration

__all__ = ["toml_key", "toml_str", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (control characters too), plus DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    """A key as written: bare when it can be, else quoted."""
    return key if _BARE_KEY.match(key) else toml_str(key)


def toml_value(value: object) -> str:
    """A value as TOML: booleans, numbers, durations ("28d"), lists, inline tables, strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return toml_str(format_duration(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_str(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return toml_str(str(value))
