"""Sentiment and themes stored beside every comment in the warehouse, kept current.

``label_feedback`` runs after each ingest of feedback (and whenever the config's themes change):
every feedback row with a comment gets one ``comment_labels`` row (sentiment, score) and one
``comment_themes`` row per theme found (confidence, rank 1 = most confident), under the
*taxonomy version*, a digest of the config's themes, the threshold and the model. Labels are
tied to the feedback row's batch: a row a later batch replaced, or labels made under another
version, are deleted and made again; the rest are left alone, so an ingest labels only its new
comments. One transaction: readers never see half a relabelling.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from earnright.comments.labels import label_comments
from earnright.comments.themes import THRESHOLD, Codeframe, ThemeMatch, taxonomy_version
from earnright.config import Config
from earnright.periods import Grain, parse_period
from earnright.warehouse import Warehouse

__all__ = [
    "BATCH",
    "current_version",
    "label_feedback",
    "labels_current",
    "stale_labels",
    "unthemed_comments",
]

BATCH = 50_000  # comments labelled and written at once


@lru_cache(maxsize=1)
def _model_tag() -> str:
    """A digest of the shipped model's card and sentiment head: a new model or head relabels
    every comment."""
    from importlib import resources

    from earnright.comments import embed

    card = getattr(embed.load_model(), "card", {}) if hasattr(embed, "load_model") else {}
    text = json.dumps(card, sort_keys=True, default=str).encode("utf-8")
    head = (resources.files("earnright.comments") / "model" / "head.npz").read_bytes()
    return hashlib.sha256(text + head).hexdigest()[:12]


def current_version(config: Config) -> str:
    """The taxonomy version labels are made under now."""
    return taxonomy_version(config.themes, f"{_model_tag()}/{THRESHOLD}")


def stale_labels(wh: Warehouse, version: str) -> None:
    """Delete labels of another version or of a feedback row no longer there (same batch)."""
    v = version.replace("'", "''")
    wh.execute_sql(
        f"DELETE FROM comment_labels WHERE version <> '{v}' OR NOT EXISTS (SELECT 1 FROM "
        "feedback f WHERE f.response_id = comment_labels.response_id "
        "AND f.batch_id = comment_labels.batch_id AND f.comment IS NOT NULL)"
    )
    wh.execute_sql(
        f"DELETE FROM comment_themes WHERE version <> '{v}' OR NOT EXISTS (SELECT 1 FROM "
        "comment_labels l WHERE l.response_id = comment_themes.response_id)"
    )


def labels_current(wh: Warehouse, config: Config) -> bool:
    """Whether every comment is labelled under the current version (no write needed; False
    for a warehouse older than the labels, which opening it for writing migrates)."""
    if "comment_labels" not in wh.list_tables():
        return False
    labels = wh.table("comment_labels")
    if int(labels.filter(labels.version != current_version(config)).count().execute()):
        return False
    fb = wh.table("feedback")
    fb = fb.filter(fb.comment.notnull())
    return int(fb.anti_join(labels, "response_id").count().execute()) == 0


def label_feedback(
    wh: Warehouse, config: Config, progress: Callable[[int, int], None] | None = None
) -> int:
    """Label every comment not yet labelled under the current version; return how many.

    Each distinct text is labelled once (a text's labels depend on it alone, and comments
    repeat: short ones in real data, the templates of the demo), ``BATCH`` distinct texts at a
    time, and its labels go to every comment that says it."""
    if "comment_labels" not in wh.list_tables():
        return 0
    version = current_version(config)
    frame = Codeframe.of(config.themes) if config.themes else None
    with wh.transaction():
        stale_labels(wh, version)
        fb = wh.table("feedback")
        fb = fb.filter(fb.comment.notnull())
        todo = fb.anti_join(wh.table("comment_labels"), "response_id")
        rows = todo.select("response_id", "batch_id", "comment").to_pyarrow()
        total = rows.num_rows
        if not total:
            return 0
        said = _Distinct.of(rows.column("comment"), frame)
        for start in range(0, total, BATCH):
            _write(wh, rows.slice(start, BATCH), said.codes[start : start + BATCH], said, version)
            if progress is not None:
                progress(min(start + BATCH, total), total)
    return total


@dataclass(frozen=True)
class _Distinct:
    """The labels of each distinct comment text, and which one each comment says (``codes``).
    Themes are flat: distinct text ``d`` has ``count[d]`` of them from ``first[d]`` on, most
    confident first."""

    codes: np.ndarray  # (comments,) index into the distinct texts
    sentiment: pa.Array  # (distinct,) string
    score: pa.Array  # (distinct,) float64
    first: np.ndarray  # (distinct,) int64
    count: np.ndarray  # (distinct,) int64
    theme: pa.Array  # (themes found,) string
    confidence: pa.Array  # (themes found,) float64

    @classmethod
    def of(cls, comments: pa.ChunkedArray, frame: Codeframe | None) -> _Distinct:
        encoded = pc.dictionary_encode(comments.cast(pa.large_string()).combine_chunks())
        texts = encoded.dictionary.to_pylist()
        sentiment: list[str] = []
        score: list[float] = []
        matches: list[list[ThemeMatch]] = []
        for start in range(0, len(texts), BATCH):
            themes = frame if frame is not None else ()
            labels = label_comments(texts[start : start + BATCH], themes)
            sentiment += labels.sentiment
            score += labels.sentiment_score
            matches += labels.themes
        count = np.fromiter((len(m) for m in matches), dtype=np.int64, count=len(matches))
        first = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
        flat = [m for ms in matches for m in ms]
        return cls(
            codes=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            sentiment=pa.array(sentiment, pa.string()),
            score=pa.array(score, pa.float64()),
            first=first,
            count=count,
            theme=pa.array([m.name for m in flat], pa.string()),
            confidence=pa.array([m.confidence for m in flat], pa.float64()),
        )


def _write(wh: Warehouse, rows: pa.Table, codes: np.ndarray, said: _Distinct, version: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    n = rows.num_rows
    wh.append_arrow(
        "comment_labels",
        pa.table(
            {
                "response_id": rows.column("response_id"),
                "batch_id": rows.column("batch_id").cast(pa.int64()),
                "sentiment": said.sentiment.take(codes),
                "sentiment_score": said.score.take(codes),
                "version": pa.array([version] * n, pa.string()),
                "labelled_at": pa.array([now] * n, pa.timestamp("us")),
            }
        ),
    )
    # each comment's themes in rank order, the comments in order
    counts = said.count[codes]
    found = int(counts.sum())
    if found:
        owner = np.repeat(np.arange(n, dtype=np.int64), counts)
        offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank = np.arange(found, dtype=np.int64) - np.repeat(offsets, counts)
        flat = np.repeat(said.first[codes], counts) + rank
        wh.append_arrow(
            "comment_themes",
            pa.table(
                {
                    "response_id": rows.column("response_id").take(owner),
                    "theme": said.theme.take(flat),
                    "confidence": said.confidence.take(flat),
                    "rank": pa.array(rank + 1, pa.int64()),
                    "version": pa.array([version] * found, pa.string()),
                }
            ),
        )


def unthemed_comments(
    wh: Warehouse, grain: Grain, period: str | None, moment: str | None, limit: int
) -> tuple[list[str], int]:
    """The newest ``limit`` labelled comments with no theme (of ``period`` and ``moment`` if
    given), and how many comments were looked at."""
    fb = wh.table("feedback")
    keep = fb.comment.notnull()
    if period is not None:
        start, end = parse_period(period, grain)
        keep = keep & (fb.responded_at >= start) & (fb.responded_at < end)
    if moment is not None:
        keep = keep & (fb.moment == moment)
    fb = fb.filter(keep)
    labelled = fb.semi_join(wh.table("comment_labels"), "response_id")
    total = int(labelled.count().execute())
    bare = labelled.anti_join(wh.table("comment_themes"), "response_id")
    newest = bare.order_by([bare.responded_at.desc(), bare.response_id]).limit(limit)
    return [str(t) for t in newest.comment.to_pyarrow().to_pylist()], total
