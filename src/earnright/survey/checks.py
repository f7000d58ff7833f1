"""The quick check of plain survey answers: the rows file ingestion's checks would accept, typed
row by row in Python.

:func:`earnright.ingest.kinds.validate_chunk` checks a chunk of rows with pandas: its cost is
tens of milliseconds per call whatever the number of rows, which is what a survey server
answering one customer at a time would pay per answer. Almost every answer is *plain*: each
question's answer missing or a whole number written in digits within its scale, the comment
any text, the invitation's moment one of the journey's. ``validate_chunk`` accepts such a row
unchanged (only stripped and typed), so :func:`plain_rows` types it directly, in microseconds.
Anything else (a number out of scale, a fraction, a word, ``NA``, a field the form does not
ask, an unknown moment) is not plain and goes through ``validate_chunk``, which words the
reasons: the rules live in one place. ``tests/survey/test_checks.py`` holds both paths to the
same rows on random answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from earnright.comments.privacy import FREE_TEXT, Masker
from earnright.config import Config
from earnright.ingest.kinds import KINDS

__all__ = ["TEXT_COLUMNS", "plain_row", "plain_rows"]

FEEDBACK = KINDS["feedback"]
# the feedback fields a survey row carries, in the order validate_chunk gives them
TEXT_COLUMNS = tuple(FEEDBACK.fields)
_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)
_MASKED = FREE_TEXT["feedback"]


def _stripped(value: str | None) -> str | None:
    """Text as the checks read it: stripped, an empty one missing."""
    if value is None:
        return None
    text = value.strip()
    return text or None


def _answer(config: Config, question: str, value: str | None) -> float | bool | None:
    """The answer as a number, None when missing, False when it is not plain."""
    text = _stripped(value)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text):
        return False
    number = int(text)
    scale = config.question(question)
    if scale is None or not scale.min <= number <= scale.max:
        return False
    return float(number)


def plain_row(
    config: Config, row: Mapping[str, Any], questions: Sequence[str], at: datetime
) -> dict[str, Any] | None:
    """``row`` (a survey answer as :func:`~earnright.survey.submission` builds it: text fields,
    one per feedback field and per question of ``questions``) typed as ``validate_chunk``
    would accept it, or None when it is not plain (module doc). ``at`` is its time."""
    out: dict[str, Any] = {}
    for name in TEXT_COLUMNS:
        out[name] = _stripped(row.get(name))
    if out["response_id"] is None or out["unit_id"] is None:
        return None
    moments = config.journey.moment_ids()
    if out["moment"] is not None and moments and out["moment"] not in moments:
        return None
    out["responded_at"] = at.replace(tzinfo=None)
    out["channel"] = (out["channel"] or "survey").lower()
    for question in questions:
        value = _answer(config, question, row.get(question))
        if value is False:
            return None
        out[question] = value
    return out


def plain_rows(
    config: Config, rows: Mapping[int, Mapping[str, Any]], questions: Sequence[str], at: datetime
) -> dict[int, dict[str, Any]]:
    """The plain ones of ``rows`` (by key), typed and, when ``[privacy] mask_comments`` is on,
    with identifiers masked out of their comments as file ingestion masks them."""
    typed = {}
    for k, row in rows.items():
        if (found := plain_row(config, row, questions, at)) is not None:
            typed[k] = found
    if typed and config.privacy.mask_comments:
        masker = Masker(config.privacy.identifiers)
        for column in _MASKED:
            keys = list(typed)
            texts = pd.Series([typed[k][column] for k in keys], dtype="string")
            masked, changed = masker.mask(texts)
            if changed:
                for k, text in zip(keys, masked, strict=True):
                    typed[k][column] = None if pd.isna(text) else str(text)
    return typed
