"""The workspace config, ``earnright.toml``, as pydantic models.

A workspace is a directory holding ``earnright.toml`` and, by default, the embedded warehouse
``earnright.duckdb``. The config declares the company, the levels of its unit hierarchy, the
customer journey (stages named in customers' words, their priority moments and owning teams), the
survey questions and their scales, per-source column mappings and the warehouse URL.

Errors name the key, the bad value and what was expected. The config is input like any data
file: every number must be finite (``inf`` and ``nan`` are refused everywhere, through the shared
base model) and within its range, and every duration between one second and ten years.
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from earnright.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "BurnAlert",
    "Config",
    "Delivery",
    "DriverDefaults",
    "Indicator",
    "Moment",
    "Owner",
    "Question",
    "Reliability",
    "Source",
    "Stage",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
    "validate_config",
]

CONFIG_FILE = "earnright.toml"
KINDS = ("units", "customers", "feedback", "invitations", "transactions", "metrics")
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

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# A scale's ends, a port: integers whose range is known.
ScalePoint = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


class Company(_Model):
    name: str = "My company"
    # Printed before every amount of money (alerts, the page, tables): a symbol such as "€" or
    # "R$", or an ISO 4217 code such as "EUR", which is followed by a space.
    currency: str = "$"

    @field_validator("currency")
    @classmethod
    def _currency_is_short_text(cls, value: str) -> str:
        if not CURRENCY.fullmatch(value):
            raise ValueError(
                f"currency {value!r} must be a symbol or code of 1 to 5 characters without "
                'digits, spaces or control characters, e.g. "€" or "EUR"'
            )
        return value


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
    min: ScalePoint = 1
    max: ScalePoint = 5

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
    min: ScalePoint = 1
    max: ScalePoint = 5

    @model_validator(mode="after")
    def _scale_is_ordered(self) -> DriverDefaults:
        if self.min >= self.max:
            raise ValueError(f"drivers: min {self.min} must be below max {self.max}")
        return self


class Indicator(_Model):
    """A customer-experienced reliability indicator (SLI) of a moment and its objective (SLO).

    ``measure = "events"`` counts the ``good`` of ``total`` events of each metrics row (e.g. app
    requests that succeeded); ``measure = "threshold"`` makes every row one event, good when its
    ``value`` is at or ``good_when`` ``threshold`` (e.g. a prescription filled within 30
    minutes). The objective: at least ``target`` of events good over a rolling ``window``.
    ``dimensions`` are the segments it is watched in: metric dimensions (columns of the metrics
    file, such as ``platform``) and unit levels (``region``, ``store`` …). ``owner`` defaults to
    the moment's owner.
    """

    id: str
    name: str = ""
    metric: str
    measure: Literal["events", "threshold"] = "events"
    threshold: float | None = None
    good_when: Literal["below", "above"] = "below"
    target: float = Field(default=0.99, gt=0.0, lt=1.0)
    window: Duration = timedelta(days=28)
    dimensions: list[str] = Field(default_factory=list)
    owner: str = ""

    @field_validator("id")
    @classmethod
    def _id_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(
                f"'{value}' is not a valid indicator id (lower-case letters, digits, _)"
            )
        return value

    @field_validator("dimensions")
    @classmethod
    def _dimensions_are_identifiers(cls, dims: list[str]) -> list[str]:
        bad = [d for d in dims if not IDENTIFIER.match(d)]
        if bad or len(set(dims)) != len(dims):
            raise ValueError(f"dimensions must be distinct identifiers, got {dims}")
        return dims

    @model_validator(mode="after")
    def _threshold_matches_measure(self) -> Indicator:
        if self.measure == "threshold" and self.threshold is None:
            raise ValueError(f"indicator '{self.id}': measure \"threshold\" needs a threshold")
        if self.measure == "events" and self.threshold is not None:
            raise ValueError(
                f"indicator '{self.id}': a threshold needs measure = \"threshold\" "
                "(events indicators count good/total)"
            )
        return self

    @property
    def error_budget(self) -> float:
        """The share of events allowed to be bad."""
        return 1.0 - self.target


class Moment(_Model):
    id: str
    name: str
    owner: str = ""
    questions: list[str] = Field(default_factory=list)
    indicators: list[Indicator] = Field(default_factory=list)


class Stage(_Model):
    id: str
    name: str
    moments: list[Moment] = Field(default_factory=list)


class Journey(_Model):
    stages: list[Stage] = Field(default_factory=list)

    def moment_ids(self) -> list[str]:
        return [m.id for s in self.stages for m in s.moments]

    def indicators(self) -> list[tuple[Moment, Indicator]]:
        """Every indicator with its moment, in journey order."""
        return [(m, i) for s in self.stages for m in s.moments for i in m.indicators]


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

    # below this many answers a score is suppressed
    min_n: int = Field(default=5, ge=1, le=1_000_000)


class BurnAlert(_Model):
    """A multi-window burn-rate alert: it fires when the error budget burns at ``factor`` times
    the sustainable rate over both the ``long`` and the ``short`` window (the short one makes it
    stop soon after the burning stops)."""

    name: str
    long: Duration
    short: Duration
    factor: float = Field(gt=0.0, le=1_000.0)
    severity: Literal["page", "ticket"] = "page"

    @model_validator(mode="after")
    def _short_within_long(self) -> BurnAlert:
        if self.short > self.long:
            raise ValueError(f"burn alert '{self.name}': short window is longer than long window")
        return self


def _workbook_alerts() -> list[BurnAlert]:
    """The Google SRE workbook's recommended multi-window, multi-burn-rate alerts."""
    rows = [
        ("fast", "1h", "5m", 14.4, "page"),
        ("medium", "6h", "30m", 6.0, "page"),
        ("slow", "1d", "2h", 3.0, "ticket"),
        ("slower", "3d", "6h", 1.0, "ticket"),
    ]
    keys = ("name", "long", "short", "factor", "severity")
    return [BurnAlert.model_validate(dict(zip(keys, row, strict=True))) for row in rows]


class Reliability(_Model):
    """How indicators are bucketed, alerted on and rated, and who is affected by a segment.

    ``step`` is the bucket of every indicator series (match it to how often metrics arrive).
    A segment alerts only with at least ``min_events`` events in the alert's long window.
    ``hours`` maps a metric dimension whose values are times of day (e.g. ``daypart``) to the
    hours ``[from, to)`` of each value, so the customers affected can be found in transactions.
    An incident is resolved after ``resolve_after`` without a new alert. Revenue at risk counts
    the extra churn within ``churn_window`` after exposure and values a customer by their spend
    over ``value_window`` before it. When a segment is a customer attribute (the app platform:
    the failure reaches customers wherever they are), customers who bought at the segment's
    units within ``active_window`` before the incident count as affected.
    """

    step: Duration = timedelta(hours=1)
    burn_alerts: list[BurnAlert] = Field(default_factory=_workbook_alerts)
    min_events: int = Field(default=20, ge=1, le=1_000_000_000)
    anomaly_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    resolve_after: Duration = timedelta(days=2)
    at_risk_budget: float = Field(default=0.25, ge=0.0, le=1.0)
    churn_window: Duration = timedelta(days=28)
    active_window: Duration = timedelta(days=90)
    value_window: Duration = timedelta(days=365)
    hours: dict[str, dict[str, tuple[int, int]]] = Field(default_factory=dict)

    @field_validator("hours")
    @classmethod
    def _hours_of_the_day(
        cls, hours: dict[str, dict[str, tuple[int, int]]]
    ) -> dict[str, dict[str, tuple[int, int]]]:
        for dim, spans in hours.items():
            for value, (start, end) in spans.items():
                if not (0 <= start <= 23 and 0 <= end <= 24 and start != end):
                    raise ValueError(
                        f"{dim}.{value} = [{start}, {end}]: hours are [from, to) with from in "
                        "0-23, to in 0-24 and from != to (to < from wraps past midnight)"
                    )
        return hours


class Owner(_Model):
    """Where a team's alerts go: webhook URLs (JSON, Slack-compatible) and email addresses."""

    webhooks: list[str] = Field(default_factory=list)
    email: list[str] = Field(default_factory=list)

    @field_validator("webhooks")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        bad = [u for u in urls if not re.match(r"^https?://[^/\s]+", u)]
        if bad:
            raise ValueError(f"webhooks must be http(s) URLs, got {bad}")
        return urls


class Delivery(_Model):
    """Alert delivery: retries with exponential backoff, SMTP, and the address policy.

    Webhook targets that resolve to private, loopback or link-local addresses are refused
    unless ``allow_private`` is true; redirects are never followed.
    """

    allow_private: bool = False
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_seconds: float = Field(default=30.0, gt=0.0, le=86_400.0)  # waits are capped at 1 day
    timeout_seconds: float = Field(default=10.0, gt=0.0, le=3_600.0)
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    email_from: str = "earnright@localhost"


class Warehouse(_Model):
    url: str = "duckdb:///earnright.duckdb"
    memory_limit: str = "4GB"  # DuckDB only; it spills to disk beyond it

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value)
        if not match:
            raise ValueError(f'\'{value}\' is not a size; expected e.g. "2GB" or "512MB"')
        if float(match.group(1)) * 1024 ** "KMGT".index(match.group(2)[0]) < 64 * 1024:
            raise ValueError(f"'{value}' is too small; give DuckDB at least 64MB")
        return value

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        from earnright.warehouse.dialect import DIALECTS  # the backends, in one place

        if not url.startswith(tuple(f"{s}://" for d in DIALECTS for s in d.schemes)):
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
    reliability: Reliability = Field(default_factory=Reliability)
    owners: dict[str, Owner] = Field(default_factory=dict)
    delivery: Delivery = Field(default_factory=Delivery)
    warehouse: Warehouse = Field(default_factory=Warehouse)

    @model_validator(mode="after")
    def _questions_distinct(self) -> Config:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"questions declared twice: {dupes}")
        return self

    @model_validator(mode="after")
    def _indicators_distinct(self) -> Config:
        ids = [i.id for _, i in self.journey.indicators()]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"indicators declared twice: {dupes}")
        return self

    def indicator(self, indicator_id: str) -> tuple[Moment, Indicator]:
        """The indicator with this id and its moment; ConfigError naming those declared."""
        for moment, ind in self.journey.indicators():
            if ind.id == indicator_id:
                return moment, ind
        declared = [i.id for _, i in self.journey.indicators()]
        raise ConfigError(f"no indicator '{indicator_id}' in {CONFIG_FILE}; declared: {declared}")

    def owner_of(self, moment: Moment, indicator: Indicator) -> str:
        return indicator.owner or moment.owner

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
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError as exc:  # tomllib recurses once per nested array or table
        raise ConfigError(f"{path}: arrays or tables nested too deeply to be a config") from exc
    return validate_config(data, str(path))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_config(data: dict[str, object], source: str = CONFIG_FILE) -> Config:
    """The config from parsed TOML; ConfigError (prefixed by ``source``) naming every bad key,
    the value and what was expected."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _location(err["loc"])
            value = err.get("input")
            shown = "" if isinstance(value, dict) else f" (got {_shown(value)})"
            problems.append(f"  {where}: {err['msg']}{shown}")
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(problems)) from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: values nested too deeply to be a config") from exc


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
            for ind in m.indicators:
                out += ["[[journey.stages.moments.indicators]]", *_toml_table(ind)]
        out.append("")
    rel = config.reliability
    out += [
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
    out += [
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
    out += [
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
    return "\n".join(out) + "\n"
