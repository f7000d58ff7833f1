"""The settings registry: every config key, its default, its range and what it means, read from
the config models themselves (a field's docstring is its description).

One source feeds three things: validation (the pydantic models), the commented ``earnright.toml``
that ``earnright init`` writes (:func:`earnright.config.render_config`) and the settings reference
of docs/config.md (:func:`config_reference`; ``scripts/config_docs.py`` rewrites that section,
and a test fails when a setting has no heading of its own there).

Paths name a key in its table: ``reliability.step``; ``[]`` marks an array of tables
(``questions[].kind``) and ``NAME`` a table per name (``owners.NAME.webhooks``).
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from earnright.config.model import Config
from earnright.config.toml import toml_value

__all__ = [
    "REFERENCE_END",
    "REFERENCE_START",
    "Setting",
    "config_reference",
    "describe",
    "settings",
    "table_model",
    "tables",
    "update_reference",
]

REFERENCE_START = "<!-- settings: written by scripts/config_docs.py from the config models -->"
REFERENCE_END = "<!-- end of settings -->"


@dataclass(frozen=True)
class Setting:
    """One config key: where it sits, what it means, its default and its allowed values."""

    path: str
    table: str
    key: str
    description: str
    default: str
    allowed: str


def describe(info: FieldInfo) -> str:
    """A field's description on one line ("" when it has none)."""
    return " ".join((info.description or "").split())


def table_model(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """(model, path suffix) when the field is a table: a model, a list of them or a dict of them."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is list and table_model(args[0]):
        return table_model(args[0])[0], "[]"  # type: ignore[index]
    if origin is dict and table_model(args[1]):
        return table_model(args[1])[0], ".NAME"  # type: ignore[index]
    return None


def tables(model: type[BaseModel] = Config, prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """Every table under ``model``: (its path, the field that holds it), top-down."""
    found: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        table = table_model(info.annotation)
        if table is not None:
            path = f"{prefix}{name}{table[1]}"
            found += [(path, info), *tables(table[0], path + ".")]
    return found


def settings(model: type[BaseModel] = Config, prefix: str = "") -> list[Setting]:
    """Every key (not table) under ``model``, in declaration order, depth first."""
    found: list[Setting] = []
    for name, info in model.model_fields.items():
        table = table_model(info.annotation)
        if table is not None:
            found += settings(table[0], f"{prefix}{name}{table[1]}.")
            continue
        found.append(
            Setting(
                path=prefix + name,
                table=prefix.rstrip("."),
                key=name,
                description=describe(info),
                default=_default(info),
                allowed=_allowed(info),
            )
        )
    return found


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return ""
    value = info.get_default(call_default_factory=True)
    return "" if value is None else toml_value(value)


_BOUNDS = {at.Gt: ("(", "gt"), at.Ge: ("[", "ge"), at.Lt: (")", "lt"), at.Le: ("]", "le")}


def _allowed(info: FieldInfo) -> str:
    """The allowed values in words: choices, a range, or the duration range."""
    annotation = info.annotation
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(annotation))
    if annotation is timedelta:
        return 'a duration from `"1s"` to `"3650d"`'
    low = high = None
    for item in info.metadata:
        for kind, (bracket, attr) in _BOUNDS.items():
            if isinstance(item, kind):
                bound = (bracket, getattr(item, attr))
                low, high = (bound, high) if bracket in "([" else (low, bound)
    if low and high:
        return f"in {low[0]}{low[1]:,}, {high[1]:,}{high[0]}"
    if low:
        return f"{'above' if low[0] == '(' else 'at least'} {low[1]:,}"
    if high:
        return f"{'below' if high[0] == ')' else 'at most'} {high[1]:,}"
    return ""


def config_reference() -> str:
    """The settings reference of docs/config.md: a heading per table and per key."""
    out = [REFERENCE_START, ""]
    owner = dict(tables())
    grouped: dict[str, list[Setting]] = {}
    for s in settings():
        grouped.setdefault(s.table, []).append(s)
    for table, keys in grouped.items():
        out += [f"### `{_header(table)}`", "", describe(owner[table]), ""]
        for s in keys:
            facts = [f"Default: `{s.default}`." if s.default else "Required."]
            if s.allowed:
                facts.append(f"Allowed: {s.allowed}.")
            out += [f"#### `{s.path}`", "", s.description, "", " ".join(facts), ""]
    return "\n".join([*out, REFERENCE_END])


def _header(table: str) -> str:
    """``journey.stages[].moments[]`` → ``[[journey.stages.moments]]``; ``owners.NAME`` →
    ``[owners.NAME]``."""
    name = table.replace("[]", "")
    return f"[[{name}]]" if table.endswith("[]") else f"[{name}]"


def update_reference(text: str) -> str:
    """``text`` (docs/config.md) with its settings section replaced by :func:`config_reference`."""
    pattern = re.compile(re.escape(REFERENCE_START) + ".*?" + re.escape(REFERENCE_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no settings section ({REFERENCE_START} … {REFERENCE_END}) in the text")
    return pattern.sub(lambda _: config_reference(), text)
