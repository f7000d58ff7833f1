"""Labelled comments for measuring sentiment: the public review sets the project measures on.

- UCI "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015; CC BY 4.0): ``sentence<TAB>0|1``
  per line, 0 negative, 1 positive; one file per source (amazon, yelp, imdb).
- "Women's E-Commerce Clothing Reviews" (a CSV with ``Review Text`` and ``Rating`` 1–5): ratings 1–2
  are negative, 3 neutral, 4–5 positive.
- Our own service comments (``tests/comments/data/service_comments.csv``, ``text,label``): short
  comments on service (queues, deliveries, calls, bookings, staff) written and labelled by this
  project, not public data. Rows alternate between a *tuning* half (even rows, 0-based), which
  training may use, and a *held-out* half (odd rows), which only measures.

Each reader returns a frame with ``text``, ``label`` (negative / neutral / positive), ``stars``
(the rating, or 1 / 5 for the two UCI labels) and ``source``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from earnright.errors import IngestError

__all__ = ["UCI_SOURCES", "read_clothing", "read_service", "read_uci", "stars_label"]

UCI_SOURCES = ("amazon", "yelp", "imdb")
UCI_FILES = {"amazon": "amazon_cells_labelled.txt", "yelp": "yelp_labelled.txt",
             "imdb": "imdb_labelled.txt"}  # fmt: skip


def stars_label(stars: int) -> str:
    """The sentiment class of a 1–5 star rating: 1–2 negative, 3 neutral, 4–5 positive."""
    return "negative" if stars <= 2 else "neutral" if stars == 3 else "positive"


def read_uci(folder: Path, source: str) -> pd.DataFrame:
    """One UCI source (``amazon``, ``yelp`` or ``imdb``) from the data set's folder."""
    path = Path(folder) / UCI_FILES[source]
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            text, sep, label = line.rstrip("\n").rpartition("\t")
            if not sep or label.strip() not in ("0", "1"):
                raise IngestError(f"{path}:{line_no}: expected 'sentence<TAB>0|1'")
            positive = label.strip() == "1"
            rows.append(
                (text.strip(), "positive" if positive else "negative", 5 if positive else 1)
            )
    frame = pd.DataFrame(rows, columns=["text", "label", "stars"])
    return frame.assign(source=source)


def read_clothing(path: Path) -> pd.DataFrame:
    """The clothing reviews with a text (title and review joined) and a 1–5 rating."""
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    for column in ("Review Text", "Rating"):
        if column not in frame.columns:
            raise IngestError(f"{path}: no column {column!r}")
    stars = pd.to_numeric(frame["Rating"], errors="coerce")
    bad = stars.isna() | ~stars.between(1, 5)
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise IngestError(f"{path}:{line}: field 'Rating' must be a whole number from 1 to 5")
    title = frame["Title"] if "Title" in frame.columns else ""
    text = (title + ". " + frame["Review Text"]).str.strip(". ").str.strip()
    out = pd.DataFrame({"text": text, "stars": stars.astype(int)})
    out = out[out.text != ""].reset_index(drop=True)
    return out.assign(label=out.stars.map(stars_label), source="clothing")[
        ["text", "label", "stars", "source"]
    ]


def read_service(path: Path) -> pd.DataFrame:
    """Our service comments, with ``held_out`` (odd rows) beside text, label, stars, source."""
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = ~frame.label.isin(["negative", "neutral", "positive"])
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise IngestError(f"{path}:{line}: field 'label' must be negative, neutral or positive")
    stars = frame.label.map({"negative": 1, "neutral": 3, "positive": 5})
    return pd.DataFrame({"text": frame.text, "label": frame.label, "stars": stars,
                         "source": "service", "held_out": frame.index % 2 == 1})  # fmt: skip
