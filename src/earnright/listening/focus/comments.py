"""Focus evidence: the customers' comments behind each thing to fix.

Up to ``comments`` comments per item from the unit's responses that scored the driver at or below
the scale's midpoint and are about it. A driver that a theme of the config's ``[[themes]]``
names as its ``question`` takes the comments whose most confident theme is that one (the labels
stored on ingest, ``earnright.comments.store``), most confident first. A driver no theme speaks
to falls back on keywords (so does every driver while the comments' labels are not current:
an older warehouse, themes edited since): comments that mention its words (from the question's
label and a small synonym list, ``driver_keywords``) more than any other driver's. One query
per path.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from earnright.comments.store import labels_current
from earnright.config import Config, Question
from earnright.units import attach_ancestors
from earnright.warehouse import Warehouse

__all__ = [
    "STOPWORDS",
    "SUFFIXES",
    "SYNONYMS",
    "driver_keywords",
    "driver_themes",
    "pick_comments",
]

# Themes customers use for common driver questions. A question's label selects every group one
# of whose words shares its stem with a label word; the group's words then join the label's.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("staff", "employee", "team", "colleague", "cashier", "assistant", "pharmacist", "friendly",
     "unfriendly", "rude", "helpful", "help", "dismissive", "ignored", "advice", "welcome"),
    ("wait", "queue", "line", "till", "checkout", "slow", "quick", "fast", "pay", "paying"),
    ("stock", "shelf", "shelves", "product", "brand", "range", "missing", "empty", "run out",
     "out of", "available"),
    ("prescription", "pharmacy", "medication", "medicine", "refill", "repeat", "dispensed"),
    ("clean", "dirty", "tidy", "untidy", "messy", "filthy", "spotless", "sticky", "toilet",
     "bins", "dust", "neglected", "cluttered"),
    ("app", "online", "website", "order", "crash", "login", "log in", "error", "buggy", "froze",
     "click and collect"),
    ("price", "expensive", "cheap", "cost", "value", "offer", "discount"),
    ("parking", "park", "car park", "access", "entrance"),
    ("delivery", "deliver", "courier", "parcel", "late", "arrived"),
)  # fmt: skip
STOPWORDS = frozenset((
    "a", "an", "and", "are", "at", "be", "by", "for", "from", "how", "i", "in", "is", "it", "me",
    "my", "of", "on", "or", "our", "the", "their", "this", "to", "was", "were", "what", "when",
    "with", "you", "your", "overall", "store", "shop", "time", "experience", "quality",
))  # fmt: skip
SUFFIXES = ("liness", "iness", "ness", "ings", "ing", "ers", "ed", "ly", "es", "s")


def _stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def driver_keywords(question: Question) -> list[str]:
    """Words and phrases that put a comment on the question's theme (lower case).

    The content words of the label (stemmed), plus every ``SYNONYMS`` group one of whose words
    shares a stem of 3+ letters with a label word. Matching is by word start (see ``_mentions``).
    """
    text = (question.label or question.id.removeprefix("q_")).lower()
    words = "".join(c if c.isalnum() else " " for c in text).split()
    stems = [_stem(w) for w in words if w not in STOPWORDS and len(w) >= 3]
    found = list(dict.fromkeys(stems))
    for group in SYNONYMS:
        if any(
            _stem(term).startswith(s) or s.startswith(_stem(term)) for term in group for s in stems
        ):
            found += [term for term in group if term not in found]
    return found


def _mentions(text: ir.StringValue, keywords: list[str]) -> ir.IntegerValue:
    """How many of ``keywords`` the text holds (lower case, words between single spaces).

    Words of four letters or more match as word starts (``wait`` matches ``waited``); shorter
    ones as whole words or plurals (``app`` matches ``apps``, not ``happy``).
    """
    hits: ir.IntegerValue = ibis.literal(0)
    for word in keywords:
        if len(word) >= 4 or " " in word:
            found = text.contains(f" {word}")
        else:
            found = text.contains(f" {word} ") | text.contains(f" {word}s ")
        hits = hits + found.cast("int32").cast("int64")  # PostgreSQL: bool -> int4 only
    return hits


def _keywords(config: Config, columns: list[str]) -> dict[str, list[str]]:
    questions = [config.question(c) for c in columns]
    return {q.id: driver_keywords(q) for q in questions if q is not None and q.kind == "driver"}


def _candidates(view: Warehouse, config: Config, wanted: pd.DataFrame, ancestors: Any) -> Any:
    """Survey responses with a comment that scored a wanted (unit, driver) at most midway."""
    nps, present = config.question_of_kind("nps"), view.open_columns("feedback")
    fb = view.table("feedback")
    fb = fb.filter((fb.channel == "survey") & fb.comment.notnull())
    fb = attach_ancestors(fb, ancestors, "responded_at")
    ltr = fb[nps.id].cast("float64") if nps and nps.id in present else ibis.null("float64")
    parts = []
    for q, units in wanted.groupby("driver").unit_id:
        question = config.question(str(q)) or Question(id=str(q))
        low = fb.ancestor_id.isin(list(units)) & (fb[q] <= (question.min + question.max) / 2)
        parts.append(
            fb.filter(low).select(
                unit_id=fb.ancestor_id, driver=ibis.literal(str(q)), response_id=fb.response_id,
                responded_at=fb.responded_at, answer=fb[q].cast("float64"), ltr=ltr,
                comment=fb.comment,
            )
        )  # fmt: skip
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


COLUMNS = ["unit_id", "driver", "response_id", "responded_at", "answer", "ltr", "comment"]


def driver_themes(config: Config) -> dict[str, list[str]]:
    """Driver question -> the names of the config's themes that speak to it."""
    found: dict[str, list[str]] = {}
    for theme in config.themes:
        if theme.question:
            found.setdefault(theme.question, []).append(theme.name)
    return found


def pick_comments(
    view: Warehouse, config: Config, wanted: pd.DataFrame, ancestors: pd.DataFrame, limit: int
) -> pd.DataFrame:
    """Up to ``limit`` comments per (unit, driver) in ``wanted`` (module doc): by theme where a
    theme speaks to the driver and comments are labelled, else by keywords."""
    if wanted.empty or limit <= 0:
        return pd.DataFrame(columns=COLUMNS)
    themes = driver_themes(config)
    if themes and labels_current(view, config):
        by_theme = wanted.driver.isin(list(themes))
        parts = [
            _by_theme(view, config, wanted[by_theme], ancestors, limit, themes),
            _by_keywords(view, config, wanted[~by_theme], ancestors, limit),
        ]
        found = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
        return found.sort_values(["unit_id", "driver"], kind="stable", ignore_index=True)
    return _by_keywords(view, config, wanted, ancestors, limit)


def _by_theme(
    view: Warehouse,
    config: Config,
    wanted: pd.DataFrame,
    ancestors: pd.DataFrame,
    limit: int,
    themes: dict[str, list[str]],
) -> pd.DataFrame:
    """Comments whose most confident theme speaks to the driver, most confident first, then
    lowest answer and ltr."""
    if wanted.empty:
        return pd.DataFrame(columns=COLUMNS)
    t = _candidates(view, config, wanted, ancestors)
    labels = view.table("comment_themes")
    top = labels.filter(labels["rank"] == 1).select("response_id", "theme", "confidence")
    t = t.inner_join(top, "response_id")
    pairs = [(q, name) for q in wanted.driver.unique() for name in themes.get(str(q), [])]
    about = [(t.driver == q) & (t.theme == name) for q, name in pairs]
    t = t.filter(ibis.or_(*about))
    order = [ibis.desc("confidence"), "answer", "ltr", ibis.desc("responded_at"), "response_id"]
    t = t.mutate(_rank=ibis.row_number().over(group_by=["unit_id", "driver"], order_by=order))
    picked = t.filter(t._rank < limit).order_by(["unit_id", "driver", "_rank"])
    return picked.select(*COLUMNS).to_pyarrow().to_pandas()


def _by_keywords(
    view: Warehouse, config: Config, wanted: pd.DataFrame, ancestors: pd.DataFrame, limit: int
) -> pd.DataFrame:
    """A comment qualifies when it mentions the driver's theme more often than any other
    driver's; the clearest (most mentions beyond the runner-up), then lowest answer and ltr."""
    columns = COLUMNS
    if wanted.empty:
        return pd.DataFrame(columns=columns)
    keywords = _keywords(config, view.open_columns("feedback"))
    t = _candidates(view, config, wanted, ancestors)
    t = t.mutate(_text=" " + t.comment.lower().re_replace("[[:punct:][:space:]]+", " ") + " ")
    t = t.mutate(**{f"_hit_{q}": _mentions(t._text, k) for q, k in keywords.items()})
    own, rival = [], []
    for q in wanted.driver.unique():
        others = [t[f"_hit_{r}"] for r in keywords if r != q] or [ibis.literal(0)]
        own.append((t.driver == q, t[f"_hit_{q}"]))
        rival.append((t.driver == q, ibis.greatest(*others) if len(others) > 1 else others[0]))
    t = t.mutate(_own=ibis.cases(*own, else_=0), _rival=ibis.cases(*rival, else_=0))
    t = t.filter((t._own >= 1) & (t._own > t._rival)).mutate(score=t._own - t._rival)
    order = [ibis.desc("score"), "answer", "ltr", ibis.desc("responded_at"), "response_id"]
    t = t.mutate(_rank=ibis.row_number().over(group_by=["unit_id", "driver"], order_by=order))
    picked = t.filter(t._rank < limit).order_by(["unit_id", "driver", "_rank"])
    return picked.select(*columns).to_pyarrow().to_pandas()
