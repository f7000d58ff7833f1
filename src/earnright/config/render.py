"""``earnright.toml`` as ``earnright init`` writes it: the config as commented TOML."""

from __future__ import annotations

import json
from datetime import timedelta

from pydantic import BaseModel

from earnright.config.model import Config
from earnright.config.values import format_duration

__all__ = ["render_config"]


def _toml_str(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (control characters too), plus DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, timedelta):
        return _toml_str(format_duration(value))
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_str(str(value))


def _toml_table(model: BaseModel, exclude: set[str] | None = None) -> list[str]:
    """``key = value`` lines of a flat model's fields, leaving out None values."""
    return [
        f"{name} = {_toml_value(value)}"
        for name, value in model
        if value is not None and name not in (exclude or set())
    ]


def render_config(config: Config) -> str:
    """The config as commented TOML, as ``earnright init`` writes it."""
    out = [
        *_basic_lines(config),
        *_question_lines(config),
        *_journey_lines(config),
        *_reliability_lines(config),
        *_delivery_lines(config),
        *_source_lines(config),
    ]
    return "\n".join(out) + "\n"


def _basic_lines(config: Config) -> list[str]:
    """Company, units, warehouse, listening and the driver defaults."""
    return [
        "# earnright workspace config. Reference: docs/config.md",
        "",
        "[company]",
        f"name = {_toml_str(config.company.name)}",
        '# Printed before amounts of money: a symbol ("€") or an ISO code ("EUR")',
        f"currency = {_toml_str(config.company.currency)}",
        "",
        "# Levels of the unit hierarchy, top first. units.csv rows name one of these levels.",
        "[units]",
        f"levels = {_toml_list(config.units.levels)}",
        "",
        "# The warehouse: duckdb:///FILE (relative to this directory) or postgresql://user@host/db",
        "[warehouse]",
        f"url = {_toml_str(config.warehouse.url)}",
        "# DuckDB's memory cap; beyond it DuckDB spills to disk",
        f"memory_limit = {_toml_str(config.warehouse.memory_limit)}",
        "",
        "# Below min_n answers a unit's score is suppressed (shown as missing), never zero.",
        "[listening]",
        f"min_n = {config.listening.min_n}",
        "",
        "# Every feedback column starting with this prefix is a driver question on this scale.",
        "[drivers]",
        f"prefix = {_toml_str(config.drivers.prefix)}",
        f"min = {config.drivers.min}",
        f"max = {config.drivers.max}",
        "",
    ]


def _question_lines(config: Config) -> list[str]:
    out = ["# Numeric questions: kind nps (0-10), csat (top-2-box) or driver (mean)."]
    for q in config.questions:
        out += [
            "[[questions]]",
            f"id = {_toml_str(q.id)}",
            f"label = {_toml_str(q.label)}",
            f"kind = {_toml_str(q.kind)}",
            f"min = {q.min}",
            f"max = {q.max}",
            "",
        ]
    return out


_JOURNEY_EXAMPLE = [
    "# [[journey.stages]]",
    '# id = "pay"',
    '# name = "I pay and go quickly"',
    "# [[journey.stages.moments]]",
    '# id = "checkout"',
    '# name = "Checkout"',
    '# owner = "store-operations"',
    '# questions = ["q_wait"]',
    "",
]


def _journey_lines(config: Config) -> list[str]:
    out = ["# The journey in customers' words: stages, their priority moments and owners."]
    if not config.journey.stages:
        out += _JOURNEY_EXAMPLE
    for stage in config.journey.stages:
        out += [
            "[[journey.stages]]",
            f"id = {_toml_str(stage.id)}",
            f"name = {_toml_str(stage.name)}",
        ]
        for m in stage.moments:
            out += [
                "[[journey.stages.moments]]",
                f"id = {_toml_str(m.id)}",
                f"name = {_toml_str(m.name)}",
                f"owner = {_toml_str(m.owner)}",
                f"questions = {_toml_list(m.questions)}",
            ]
            for ind in m.indicators:
                out += ["[[journey.stages.moments.indicators]]", *_toml_table(ind)]
        out.append("")
    return out


def _reliability_lines(config: Config) -> list[str]:
    rel = config.reliability
    out = [
        "# Reliability: indicator series are bucketed by `step`; a segment alerts only with",
        "# min_events events in the alert's long window. Reference: docs/reliability.md",
        "[reliability]",
        *_toml_table(rel, exclude={"burn_alerts", "hours"}),
    ]
    for dim, ranges in rel.hours.items():
        spans = ", ".join(f"{_toml_str(k)} = [{a}, {b}]" for k, (a, b) in ranges.items())
        out.append(f"hours.{dim} = {{ {spans} }}")
    out.append("")
    out.append("# Multi-window burn-rate alerts (defaults: the Google SRE workbook's).")
    for alert in rel.burn_alerts:
        out += ["[[reliability.burn_alerts]]", *_toml_table(alert), ""]
    return out


def _delivery_lines(config: Config) -> list[str]:
    out = [
        "# Alert delivery; webhooks to private or loopback addresses need allow_private = true.",
        "[delivery]",
        *_toml_table(config.delivery),
        "",
        "# Where each owning team's alerts go, e.g.",
        '# [owners."pharmacy-operations"]',
        '# webhooks = ["https://hooks.slack.com/services/T000/B000/XXXX"]',
        '# email = ["pharmacy-lead@example.com"]',
    ]
    for name, owner in config.owners.items():
        out += [f"[owners.{_toml_str(name)}]", *_toml_table(owner)]
    return out


def _source_lines(config: Config) -> list[str]:
    out = [
        "",
        "# Column mappings for files in other layouts, one table per source, e.g.",
        "# [sources.medallia]",
        '# kind = "feedback"',
        '# columns = { "Survey ID" = "response_id", "Store" = "unit_id", "Date" = "responded_at" }',
        '# ignore = ["Internal note"]',
    ]
    for name, src in config.sources.items():
        cols = ", ".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in src.columns.items())
        out += [
            f"[sources.{name}]",
            f"kind = {_toml_str(src.kind)}",
            f"layout = {_toml_str(src.layout)}",
            f"only_mapped = {'true' if src.only_mapped else 'false'}",
            f"columns = {{ {cols} }}",
            f"ignore = {_toml_list(src.ignore)}",
            "",
        ]
    return out
