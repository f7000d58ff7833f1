"""The base of every result of the public API (:mod:`earnright.api.results`): ``to_dict``,
``to_frame``, ``notes`` and a short ``repr``. Light to import (pydantic only), so that a
command that needs one result does not load every capability's types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_serializer

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
    """A result that is one table: ``columns`` and JSON-ready ``rows``.

    A result computed in this process keeps its frame and makes the JSON-ready rows only when
    they are asked for (``rows``, ``to_dict``, ``model_dump_json``): a scorecard of 100,000
    stores over two years is 2.4 million rows, ~5 KB each as Python dicts, but ~50 MB as a
    frame. A result read back from JSON holds its rows."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    columns: list[str] = []
    kept_rows: list[dict[str, Any]] | None = Field(default=None, alias="rows")
    _frame: Any = PrivateAttr(default=None)

    @classmethod
    def of(cls, frame: pd.DataFrame, **fields: Any) -> Any:
        """The result of ``frame`` (kept for ``to_frame``; its rows made when asked for) with
        its other fields."""
        result = cls(columns=[str(c) for c in frame.columns], **fields)
        result._frame = frame
        return result

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready dicts (NaN and NaT null, timestamps ISO 8601)."""
        if self.kept_rows is None:
            self.kept_rows = records(self._frame) if self._frame is not None else []
        return self.kept_rows

    @field_serializer("kept_rows")
    def _rows_out(self, _kept: Any) -> list[dict[str, Any]]:
        return self.rows

    def to_dict(self) -> Any:
        return jsonable(self.rows)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        if self._frame is not None:
            return self._frame.copy()
        return pd.DataFrame(self.rows, columns=self.columns)

    def __len__(self) -> int:
        return len(self._frame) if self._frame is not None else len(self.rows)

    def _summary(self) -> str:
        return f"{self._what()}: {len(self)} rows"

    def _what(self) -> str:
        return ""
