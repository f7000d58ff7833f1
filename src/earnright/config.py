"""The workspace config, ``earnright.toml``, as pydantic models.

A workspace is a directory holding ``earnright.toml`` and, by default, the embedded warehouse
``earnright.duckdb``. The config declares the company, the levels of its unit hierarchy, the
customer journey (stages named in customers' words, their priority moments and owning teams), the
survey questions and their scales, per-source column mappings and the warehouse URL.

Errors name the key, the bad value and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from earnright.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "Config",
    "DriverDefaults",
    "Moment",
    "Question",
    "Source",
    "Stage",
    "load_config",
    "render_config",
]

CONFIG_FILE = "earnright.toml"
KINDS = ("units", "customers", "feedback", "invitations", "transactions", "metrics")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

# Column names of the feedback table that a question id may not take.
RESERVED_FEEDBACK_COLUMNS = frozenset(
    {"response_id", "unit_id", "responded_at", "customer_id", "channel", "moment", "comment"}
    | {"batch_id"}
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Model):
    name: str = "My company"


class Units(_Model):
    levels: list[str] = Field(default_factory=lambda: ["company", "region", "district", "store"])

    @field_validator("levels")
    @classmethod
    def _levels_distinct(cls, levels: list[str]) -> list[str]:
        if not levels:
            raise ValueError("declare at least one level, e.g. ['company', 'store']")
        if len(set(levels)) != len(levels):
            raise ValueError(f"levels must be distinct, got {levels}")
        return levels


class Question(_Model):
    """A numeric survey question and its scale.

    ``kind`` says what the scorecard makes of it: ``nps`` (0–10 likelihood to recommend: promoters
    9–10, detractors 0–6), ``csat`` (top-2-box of the scale), or ``driver`` (its mean).
    """

    id: str
    label: str = ""
    kind: Literal["nps", "csat", "driver"] = "driver"
    min: int = 1
    max: int = 5

    @field_validator("id")
    @classmethod
    def _id_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(
                f"'{value}' is not a valid question id (lower-case letters, digits, _)"
            )
        if value in RESERVED_FEEDBACK_COLUMNS:
            raise ValueError(f"'{value}' is a reserved feedback column, not a question id")
        return value

    @model_validator(mode="after")
    def _scale_is_ordered(self) -> Question:
        if self.min >= self.max:
            raise ValueError(f"question '{self.id}': min {self.min} must be below max {self.max}")
        if self.kind == "nps" and (self.min, self.max) != (0, 10):
            raise ValueError(f"question '{self.id}': an nps question is on the 0–10 scale")
        return self


class DriverDefaults(_Model):
    """Every feedback column starting with ``prefix`` is a driver question on this scale."""

    prefix: str = "q_"
    min: int = 1
    max: int = 5


class Moment(_Model):
    id: str
    name: str
    owner: str = ""
    questions: list[str] = Field(default_factory=list)


class Stage(_Model):
    id: str
    name: str
    moments: list[Moment] = Field(default_factory=list)


class Journey(_Model):
    stages: list[Stage] = Field(default_factory=list)

    def moment_ids(self) -> list[str]:
        return [m.id for s in self.stages for m in s.moments]


QUALTRICS_COLUMNS = {"ResponseId": "response_id", "RecordedDate": "responded_at"}


class Source(_Model):
    """How one kind of file maps onto the canonical import format.

    ``columns`` maps a column name in the file to the canonical name; ``ignore`` lists file
    columns to drop; ``only_mapped`` drops every column not named in ``columns``. ``layout =
    "qualtrics"`` reads a Qualtrics CSV export: its two extra header rows are skipped, ResponseId
    and RecordedDate map to response_id and responded_at, and only mapped columns are kept
    (exports carry dozens of metadata columns).
    """

    kind: Literal["units", "customers", "feedback", "invitations", "transactions", "metrics"]
    layout: Literal["canonical", "qualtrics"] = "canonical"
    columns: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    only_mapped: bool = False

    @property
    def extra_header_rows(self) -> int:
        return 2 if self.layout == "qualtrics" else 0

    def mapping(self) -> dict[str, str]:
        """File column -> canonical column, with the layout's defaults under the user's."""
        defaults = QUALTRICS_COLUMNS if self.layout == "qualtrics" else {}
        return {**defaults, **self.columns}

    @property
    def keeps_only_mapped(self) -> bool:
        return self.only_mapped or self.layout == "qualtrics"


class Listening(_Model):
    """Credibility rules of the listening results."""

    min_n: int = Field(default=5, ge=1)  # below this many answers a score is suppressed


class Warehouse(_Model):
    url: str = "duckdb:///earnright.duckdb"
    memory_limit: str = "4GB"  # DuckDB only; it spills to disk beyond it

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value):
            raise ValueError(f'\'{value}\' is not a size; expected e.g. "2GB" or "512MB"')
        return value

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("duckdb://", "postgresql://", "postgres://")):
            raise ValueError(f"'{url}' is not a supported URL; use duckdb:///FILE or postgresql://")
        return url


class Config(_Model):
    company: Company = Field(default_factory=Company)
    units: Units = Field(default_factory=Units)
    questions: list[Question] = Field(
        default_factory=lambda: [
            Question(id="ltr", label="Likelihood to recommend", kind="nps", min=0, max=10),
            Question(id="osat", label="Overall satisfaction", kind="csat", min=1, max=5),
        ]
    )
    drivers: DriverDefaults = Field(default_factory=DriverDefaults)
    journey: Journey = Field(default_factory=Journey)
    sources: dict[str, Source] = Field(default_factory=dict)
    listening: Listening = Field(default_factory=Listening)
    warehouse: Warehouse = Field(default_factory=Warehouse)

    @model_validator(mode="after")
    def _questions_distinct(self) -> Config:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"questions declared twice: {dupes}")
        return self

    def question(self, column: str) -> Question | None:
        """The question a feedback column answers, or None if the column is not a question."""
        for q in self.questions:
            if q.id == column:
                return q
        if column.startswith(self.drivers.prefix) and IDENTIFIER.match(column):
            return Question(
                id=column, label=column, kind="driver", min=self.drivers.min, max=self.drivers.max
            )
        return None

    def question_of_kind(self, kind: str) -> Question | None:
        return next((q for q in self.questions if q.kind == kind), None)

    def source_for(self, kind: str, name: str | None = None) -> Source | None:
        """The source mapping by name, else the only source declared for the kind."""
        if name is not None:
            if name not in self.sources:
                raise ConfigError(
                    f"no [sources.{name}] in {CONFIG_FILE}; declared: {sorted(self.sources)}"
                )
            return self.sources[name]
        matches = [s for s in self.sources.values() if s.kind == kind]
        return matches[0] if len(matches) == 1 else None


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_config(path: Path) -> Config:
    """Read and validate a config file; raise ConfigError naming the key and the problem."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no config file; run `earnright init` to create one") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _location(err["loc"])
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            problems.append(f"  {where}: {err['msg']}{shown}")
        raise ConfigError(f"{path}: invalid config\n" + "\n".join(problems)) from exc


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def render_config(config: Config) -> str:
    """The config as commented TOML, as ``earnright init`` writes it."""
    out = [
        "# earnright workspace config. Reference: docs/config.md",
        "",
        "[company]",
        f"name = {_toml_str(config.company.name)}",
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
        "# Numeric questions: kind nps (0-10), csat (top-2-box) or driver (mean).",
    ]
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
    out.append("# The journey in customers' words: stages, their priority moments and owners.")
    if not config.journey.stages:
        out += [
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
        out.append("")
    out += [
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
    return "\n".join(out) + "\n"
