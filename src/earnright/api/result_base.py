"""The base of every result of the public API (:mod:`earnright.api.results`): ``to_dict``,
``to_frame``, ``notes`` and a short ``repr``. Light to import (pydantic only), so that a
command that needs one result does not load every capability's types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from earnright.api.records import jsonable, records

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result", "TableResult"]


class Result(BaseModel):
    """Base of every result: ``to_dict``, ``to_frame``, ``notes`` and a short ``repr``."""

    model_config = ConfigDict(frozen=False)

    notes: list[str] = []

    def to_dict(self) -> Any:
        """JSON-ready data: what ``--format json`` prints."""
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """The result as a pandas DataFrame."""
        raise NotImplementedError

    def _summary(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._summary()}>".replace(" >", ">")

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        """A notebook shows the result as its table."""
        from html import escape

        html: str = self.to_frame().to_html(max_rows=20)
        return f"<p>{escape(repr(self))}</p>" + html


class TableResult(Result):
    """A result that is one table: ``columns`` and JSON-ready ``rows``."""

    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    _frame: Any = PrivateAttr(default=None)

    @classmethod
    def of(cls, frame: pd.DataFrame, **fields: Any) -> Any:
        """The result of ``frame`` (kept for ``to_frame``) with its other fields."""
        result = cls(columns=[str(c) for c in frame.columns], rows=records(frame), **fields)
        result._frame = frame
        return result

    def to_dict(self) -> Any:
        return jsonable(self.rows)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        if self._frame is not None:
            return self._frame.copy()
        return pd.DataFrame(self.rows, columns=self.columns)

    def __len__(self) -> int:
        return len(self.rows)

    def _summary(self) -> str:
        return f"{self._what()}: {len(self.rows)} rows"

    def _what(self) -> str:
        return ""
