"""The customer journey in the config: stages, moments, their questions and indicators."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from earnright.config.values import (
    IDENTIFIER,
    RESERVED_FEEDBACK_COLUMNS,
    Duration,
    ScalePoint,
    _Model,
)

__all__ = ["DriverDefaults", "Indicator", "Journey", "Moment", "Question", "Stage"]


class Question(_Model):
    """A numeric survey question and its scale.

    ``kind`` says what the scorecard makes of it: ``nps`` (0–10 likelihood to recommend: promoters
    9–10, detractors 0–6), ``csat`` (top-2-box of the scale), or ``driver`` (its mean).
    """

    id: str
    """The feedback column holding the answers: lower-case letters, digits and _, not a fixed
    feedback column."""
    label: str = ""
    """The question as shown on reports."""
    kind: Literal["nps", "csat", "driver"] = "driver"
    """What the scorecard makes of it: nps (0–10; promoters 9–10, detractors 0–6), csat (the
    top-2-box share) or driver (the mean)."""
    min: ScalePoint = 1
    """The lowest answer on the scale."""
    max: ScalePoint = 5
    """The highest answer on the scale (above min)."""

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
    """Every feedback column starting with this prefix and not declared under [[questions]] is a
    driver question."""
    min: ScalePoint = 1
    """The lowest answer of the undeclared driver questions."""
    max: ScalePoint = 5
    """The highest answer of the undeclared driver questions (above min)."""

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
    """The indicator's id: lower-case letters, digits and _, unique across the journey."""
    name: str = ""
    """The indicator as shown in alerts and reports."""
    metric: str
    """The metric (the metric column of metrics files) it is computed from."""
    measure: Literal["events", "threshold"] = "events"
    """events: each metrics row counts good of total events; threshold: each row is one event, good
    when its value is at or good_when the threshold."""
    threshold: float | None = None
    """The threshold of a measure = "threshold" indicator (and only of one)."""
    good_when: Literal["below", "above"] = "below"
    """Whether a value below or above the threshold is good."""
    target: float = Field(default=0.99, gt=0.0, lt=1.0)
    """The objective: at least this share of events good over the window, in (0, 1)."""
    window: Duration = timedelta(days=28)
    """The rolling window of the objective, e.g. "28d"."""
    dimensions: list[str] = Field(default_factory=list)
    """The segments it is watched in: metric dimension columns (such as platform) and unit levels
    (region, store …)."""
    owner: str = ""
    """The team its alerts go to; default: the moment's owner."""

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
    """The moment's id, named in feedback rows' moment column."""
    name: str
    """The moment in customers' words, e.g. "Checkout"."""
    owner: str = ""
    """The team that owns the moment and gets its alerts."""
    questions: list[str] = Field(default_factory=list)
    """The driver questions that ask about this moment."""
    indicators: list[Indicator] = Field(default_factory=list)
    """The reliability indicators watched at this moment."""


class Stage(_Model):
    id: str
    """The stage's id."""
    name: str
    """The stage in customers' words, e.g. "I pay and go quickly"."""
    moments: list[Moment] = Field(default_factory=list)
    """The stage's priority moments."""


class Journey(_Model):
    stages: list[Stage] = Field(default_factory=list)
    """The journey's stages, in the order customers live them."""

    def moment_ids(self) -> list[str]:
        return [m.id for s in self.stages for m in s.moments]

    def indicators(self) -> list[tuple[Moment, Indicator]]:
        """Every indicator with its moment, in journey order."""
        return [(m, i) for s in self.stages for m in s.moments for i in m.indicators]
