"""Root-cause localisation of a table, for the public API and ``earnright localize``: which
segments explain a deviation of the observed values from the forecast. It reads no warehouse and
imports only what localisation needs (a command that localises one file starts quickly)."""

from __future__ import annotations

import warnings as python_warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.api.records import jsonable
from earnright.api.result_base import Result
from earnright.api.tables import as_table
from earnright.reliability.localize import (
    ALPHA,
    CAUSE_COLUMNS,
    MAX_CAUSES,
    NegativeLeavesWarning,
    RootCause,
    localize,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LocalizeResult", "localize_table"]


class LocalizeResult(Result):
    """The segments behind a deviation from the forecast, strongest first."""

    causes: list[RootCause]
    details: bool = False

    def to_dict(self) -> Any:
        data: dict[str, Any] = {"root_causes": [c.cause for c in self.causes]}
        if self.details:
            data["details"] = [c.to_dict() for c in self.causes]
        return jsonable(data)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = [c.model_dump(include=set(CAUSE_COLUMNS)) for c in self.causes]
        return pd.DataFrame(rows, columns=CAUSE_COLUMNS)

    def _summary(self) -> str:
        return "root causes: " + (", ".join(c.cause for c in self.causes) or "none")


def localize_table(
    file: str | Path | Any,
    dims: Sequence[str] | str | None = None,
    real: str = "real",
    predict: str = "predict",
    max_layer: int | None = None,
    alpha: float | None = None,
    max_causes: int | None = None,
    details: bool = False,
) -> LocalizeResult:
    """The segments (combinations of up to ``max_layer`` dimension values) behind a
    deviation of ``real`` from ``predict`` in a table (a path, DataFrame or Ibis table),
    strongest first. It reads no warehouse."""
    table = as_table(file)
    if isinstance(dims, str):
        dims = [part.strip() for part in dims.split(",") if part.strip()]
    names = list(dims) if dims else [c for c in table.columns if c not in (real, predict)]
    with python_warnings.catch_warnings(record=True) as caught:
        python_warnings.simplefilter("always", NegativeLeavesWarning)
        causes = localize(
            table, names, real=real, predict=predict, max_layer=max_layer,
            alpha=ALPHA if alpha is None else alpha,
            max_causes=MAX_CAUSES if max_causes is None else max_causes,
        )  # fmt: skip
    where = f"{Path(file).name}: " if isinstance(file, str | Path) else ""
    notes = []
    for warning in caught:
        if issubclass(warning.category, NegativeLeavesWarning):
            notes.append(f"{where}{warning.message}")
        else:
            python_warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return LocalizeResult(causes=causes, details=details, notes=notes)
