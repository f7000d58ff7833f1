"""Survey hygiene results: one flag per unit and signal, and the report of a run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

__all__ = ["HYGIENE_COLUMNS", "NUMBERS", "HygieneFlag", "HygieneReport", "Signal"]

HYGIENE_COLUMNS = [
    "unit_id", "name", "level", "period", "signal", "statistic", "p_value", "q_value",
    "n", "observed", "reference", "flagged", "evidence",
]  # fmt: skip
# Comment tone: the sentiment model's label stored with the comment; without one, an offline
# proxy: positive when it holds more positive terms than negative ones ("no queue" is positive).
NUMBERS = ("statistic", "p_value", "q_value", "observed", "reference")


class Signal(StrEnum):
    """The three hygiene signals."""

    top_box = "top_box"
    quick_response = "quick_response"
    rate_jump = "rate_jump"


@dataclass(frozen=True)
class HygieneFlag:
    """One unit, one signal: the test, its evidence and whether it is flagged.

    ``statistic`` is a standard-normal score (positive: above what history and peers predict;
    for ``quick_response`` the normal score of the exact p-value). ``n`` is what the test rests
    on in the period: answers (top_box), responses with a preceding contact (quick_response),
    invitations (rate_jump). ``observed`` and ``reference`` are shares 0..1: the unit's and the
    one it is compared with (the expected share, the peers' share, the history's rate).
    """

    unit_id: str
    name: str
    level: str
    period: str
    signal: Signal
    statistic: float
    p_value: float
    q_value: float
    n: int
    observed: float
    reference: float
    flagged: bool
    evidence: str


@dataclass(frozen=True)
class HygieneReport:
    """Every unit tested for every signal in one period, with the settings used."""

    level: str
    grain: str
    period: str
    history: list[str]
    fdr: float
    quick_minutes: float
    min_ratio: float
    min_n: int
    rows: list[HygieneFlag]
    inflation: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> list[HygieneFlag]:
        return [r for r in self.rows if r.flagged]

    def to_frame(self, *, flagged_only: bool = True) -> pd.DataFrame:
        rows = self.flags if flagged_only else self.rows
        frame = pd.DataFrame([asdict(r) for r in rows], columns=HYGIENE_COLUMNS)
        frame["signal"] = frame["signal"].astype(str)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None."""
        data = asdict(self)
        data["rows"] = [{k: _json_value(v) for k, v in asdict(r).items()} for r in self.rows]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HygieneReport:
        """The report of ``to_dict`` (None back to NaN)."""
        rows = []
        for r in data["rows"]:
            numbers = {k: math.nan if r[k] is None else float(r[k]) for k in NUMBERS}
            rows.append(HygieneFlag(**(r | numbers | {"signal": Signal(r["signal"])})))
        return cls(**(data | {"rows": rows}))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value) if isinstance(value, Signal) else value
