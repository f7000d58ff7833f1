"""``earnright.toml`` as ``earnright init`` writes it: the config as commented TOML.

Keys, values and comments come from the models (:mod:`earnright.config.registry`): every table
and every key is written with its description as a comment (once per array of tables), so the
file, the validation and docs/config.md cannot disagree.
"""

from __future__ import annotations

import textwrap

from pydantic import BaseModel

from earnright.config.model import Config
from earnright.config.registry import describe, table_model
from earnright.config.toml import toml_key, toml_value

__all__ = ["render_config"]

WIDTH = 98

# Shown, commented out, when the table is empty.
EXAMPLES = {
    "journey": [
        "# [[journey.stages]]",
        '# id = "pay"',
        '# name = "I pay and go quickly"',
        "# [[journey.stages.moments]]",
        '# id = "checkout"',
        '# name = "Checkout"',
        '# owner = "store-operations"',
        '# questions = ["q_wait"]',
    ],
    "owners": [
        '# [owners."pharmacy-operations"]',
        '# webhooks = ["https://hooks.slack.com/services/T000/B000/XXXX"]',
        '# email = ["pharmacy-lead@example.com"]',
    ],
    "decisions": [
        "# [[decisions.rights]]",
        '# owner = "store-operations"',
        '# actions = ["staffing", "training"]',
        '# units = ["R1"]',
        "# up_to = 5000",
        '# escalate_to = "regional-vp"',
    ],
    "sources": [
        "# [sources.medallia]",
        '# kind = "feedback"',
        '# columns = { "Survey ID" = "response_id", "Store" = "unit_id", "Date" = "responded_at" }',
        '# ignore = ["Internal note"]',
    ],
}


def render_config(config: Config) -> str:
    """The config as commented TOML, as ``earnright init`` writes it."""
    out = ["# earnright workspace config. Every key is optional. Reference: docs/config.md"]
    said: set[str] = set()
    for name, info in Config.model_fields.items():
        value = getattr(config, name)
        out += ["", *_comment(describe(info))]
        out += _tables(name, value, said)
        empty = {"journey": not config.journey.stages, "decisions": not config.decisions.rights}
        if name in EXAMPLES and empty.get(name, not value):
            out += EXAMPLES[name]
    return "\n".join(out) + "\n"


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, WIDTH - 2, break_on_hyphens=False)]


def _tables(path: str, value: object, said: set[str]) -> list[str]:
    """A table, an array of tables or one table per name, with their nested tables."""
    if isinstance(value, BaseModel):
        return _table(f"[{path}]", path, value, said)
    if isinstance(value, list):
        return [line for v in value for line in _table(f"[[{path}]]", path, v, said)]
    assert isinstance(value, dict)
    return [
        line
        for key, v in value.items()
        for line in _table(f"[{path}.{toml_key(key)}]", f"{path}.{toml_key(key)}", v, said)
    ]


def _table(header: str, path: str, model: BaseModel, said: set[str]) -> list[str]:
    """``header``, then each key with its description (the first time that key is written)."""
    out, nested = [header], []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = f"{type(model).__name__}.{name}"
        if table_model(info.annotation) is not None:
            if value:
                nested += ["", *(_comment(describe(info)) if key not in said else [])]
                said.add(key)
                nested += _tables(f"{path}.{name}", value, said)
            continue
        if value is None:
            continue
        if key not in said:
            out += _comment(describe(info))
            said.add(key)
        out += _key_lines(name, value)
    return out + nested


def _key_lines(name: str, value: object) -> list[str]:
    """``name = value``; a table of tables (``hours``) as one dotted key per entry."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return [f"{name}.{toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
    return [f"{name} = {toml_value(value)}"]
