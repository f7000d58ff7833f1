"""The whole workspace config, and reading it: ``load_config`` and ``validate_config``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from earnright.config.journey import DriverDefaults, Indicator, Journey, Moment, Question
from earnright.config.privacy import Privacy
from earnright.config.sections import (
    Assets,
    Company,
    Decisions,
    Delivery,
    Listening,
    Outcomes,
    Owner,
    Pack,
    Reliability,
    Source,
    Survey,
    Theme,
    Units,
    Warehouse,
)
from earnright.config.values import CONFIG_FILE, IDENTIFIER, _Model
from earnright.errors import ConfigError

__all__ = ["Config", "load_config", "validate_config"]


class Config(_Model):
    company: Company = Field(default_factory=Company)
    """The company."""
    units: Units = Field(default_factory=Units)
    """The unit hierarchy."""
    questions: list[Question] = Field(
        default_factory=lambda: [
            Question(id="ltr", label="Likelihood to recommend", kind="nps", min=0, max=10),
            Question(id="osat", label="Overall satisfaction", kind="csat", min=1, max=5),
        ]
    )
    """The numeric survey questions and their scales."""
    drivers: DriverDefaults = Field(default_factory=DriverDefaults)
    """The scale of driver questions not declared under questions."""
    journey: Journey = Field(default_factory=Journey)
    """The customer journey: stages, their priority moments and owners."""
    sources: dict[str, Source] = Field(default_factory=dict)
    """Column mappings for files in other layouts, one table per source."""
    listening: Listening = Field(default_factory=Listening)
    """Credibility rules of the listening results."""
    themes: list[Theme] = Field(default_factory=list)
    """The comment codeframe: the themes comments are tagged with, per journey moment."""
    reliability: Reliability = Field(default_factory=Reliability)
    """How indicators are bucketed, alerted on and rated, and who a segment affects."""
    assets: Assets = Field(default_factory=Assets)
    """The customer asset ledger: when a customer counts as lost."""
    owners: dict[str, Owner] = Field(default_factory=dict)
    """Where each owning team's alerts go."""
    delivery: Delivery = Field(default_factory=Delivery)
    """Alert delivery: retries, SMTP and the webhook address policy."""
    decisions: Decisions = Field(default_factory=Decisions)
    """Decision rights: who may decide what alone, and who decides above that."""
    outcomes: Outcomes = Field(default_factory=Outcomes)
    """How the outcome of each action is measured."""
    survey: Survey = Field(default_factory=Survey)
    """The survey customers answer from personal links: links, language, reminders, cases."""
    pack: Pack = Field(default_factory=Pack)
    """The monthly leadership pack: who gets it by email."""
    privacy: Privacy = Field(default_factory=Privacy)
    """Identifiers masked out of free text on ingest; what forgetting a customer keeps."""
    warehouse: Warehouse = Field(default_factory=Warehouse)
    """The warehouse."""

    @model_validator(mode="after")
    def _questions_distinct(self) -> Config:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"questions declared twice: {dupes}")
        return self

    @model_validator(mode="after")
    def _themes_distinct_and_placed(self) -> Config:
        names = [t.name for t in self.themes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"themes declared twice: {dupes}")
        moments = set(self.journey.moment_ids())
        unknown = sorted({t.moment for t in self.themes if t.moment and t.moment not in moments})
        if unknown:
            raise ValueError(f"themes name moments the journey does not declare: {unknown}")
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

    def action_metrics(self) -> set[str]:
        """Every metric an action may name by its declared id: nps, csat, spend, retention, a
        question's id or a reliability indicator's id."""
        indicators = {ind.id for _, ind in self.journey.indicators()}
        return {"nps", "csat", "spend", "retention"} | {q.id for q in self.questions} | indicators

    def measurable(self, metric: str) -> bool:
        """Whether an action may name ``metric``: a declared one, or a driver question named by
        the driver prefix (``q_wait``)."""
        return metric in self.action_metrics() or self.question(metric) is not None

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
