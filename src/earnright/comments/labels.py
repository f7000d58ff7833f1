"""Sentiment and themes of any comments: a column of a CSV file, or a list of texts.

``read_comments`` reads one column of a CSV file the way people's files come: a byte-order mark,
quoted newlines, commas inside quotes, semicolon- or tab-separated, empty cells (a blank comment,
neutral with no theme; in a file of one column, a blank line is one too). A missing column, an
empty or undecodable file stop with one message naming the file (and the column).
``label_comments`` gives every text its sentiment (negative / neutral / positive with a score in
[-1, 1]) and its themes, most confident first.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from earnright.comments.themes import THRESHOLD, Codeframe, ThemeMatch, assign_themes
from earnright.config import Theme
from earnright.errors import IngestError

__all__ = ["CommentLabels", "label_comments", "read_comments"]

_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class CommentLabels:
    """Per text, in order: sentiment label and score, and the themes found."""

    sentiment: list[str]
    sentiment_score: list[float]
    themes: list[list[ThemeMatch]]

    def __len__(self) -> int:
        return len(self.sentiment)

    def records(self, texts: Sequence[str | None] | None = None) -> list[dict[str, Any]]:
        """One object per text: sentiment, sentiment_score, themes (names), theme_confidence."""
        out = []
        for i in range(len(self)):
            row: dict[str, Any] = {}
            if texts is not None:
                row["comment"] = texts[i]
            row |= {
                "sentiment": self.sentiment[i],
                "sentiment_score": round(self.sentiment_score[i], 4),
                "themes": [m.name for m in self.themes[i]],
                "theme_confidence": [m.confidence for m in self.themes[i]],
            }
            out.append(row)
        return out


def _delimiter(path: Path, head: str) -> str:
    first = head.splitlines()[0] if head else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def read_comments(path: Path, column: str) -> list[str | None]:
    """The texts of ``column`` in the CSV file, one per data row, in order (None when empty)."""
    if not path.is_file():
        raise IngestError(f"{path}: no such file", argument="source")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            head = handle.read(65536)
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not head.strip():
        raise IngestError(f"{path}: the file is empty; expected a header row naming {column!r}")
    sep = _delimiter(path, head)
    single = sep not in head.splitlines()[0]  # one column: a blank line is an empty comment
    try:
        frame = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
            skip_blank_lines=not single, engine="c",
        )  # fmt: skip
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except pd.errors.ParserError as exc:
        raise IngestError(f"{path}: not a readable CSV file: {exc}") from exc
    columns = [str(c).strip() for c in frame.columns]
    if column not in columns:
        raise IngestError(
            f"{path}: no column {column!r}; the file's columns are {columns}",
            argument="text_column",
        )
    values = frame.iloc[:, columns.index(column)]
    return [v if isinstance(v, str) and v.strip() else None for v in values]


def label_comments(
    texts: Sequence[str | None],
    themes: Sequence[Theme] | Codeframe = (),
    threshold: float = THRESHOLD,
) -> CommentLabels:
    """Sentiment and themes of every text (:mod:`earnright.comments.sentiment`, ``themes``)."""
    from earnright.comments.sentiment import score

    texts = list(texts)
    found = score(texts)
    has_themes = isinstance(themes, Codeframe) or len(themes) > 0
    matched = assign_themes(texts, themes, threshold) if has_themes else [[] for _ in texts]
    return CommentLabels(
        sentiment=[str(label) for label in found.labels],
        sentiment_score=np.asarray(found.scores, dtype=float).tolist(),
        themes=matched,
    )
