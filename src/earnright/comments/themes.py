"""Themes: which codeframe themes each comment is about, with a confidence.

A theme is known by its phrases: its one-line description and its examples, each embedded
(``earnright.comments.embed``), and by their words. A comment is split into sentences (and
clauses joined by "but"; a sentence joining clauses by a comma or "and the" also counts each
clause of three words or more); each sentence's *score* for a theme is

- the highest cosine between the sentence and any of the theme's phrases, plus
- ``LEXICAL`` × the inverse-theme-frequency weight of the word stems it shares with the theme's
  name, description and examples (a word in one theme's phrases weighs log(1 + themes), one in
  every theme's weighs log 2) — static embeddings blur topics that share a tone, words do not;

within a sentence, only the themes within ``MARGIN`` of the sentence's best one count, and a
comment's score for a theme is its best sentence's. So a comment that speaks of two things in two
sentences scores on both, and a closing "Thank you!" does not dilute the sentence that carries
the theme. A comment gets every theme whose score reaches ``THRESHOLD`` (zero, one or several),
most confident first; the confidence is ``0.5 + (score − THRESHOLD)`` clipped
to [0.5, 1]: 0.5 just over the line. ``LEXICAL``, ``THRESHOLD`` and ``MARGIN`` were tuned on half
of the demo company's comment bank and measured on the other half (bench/themes.py; the figures
are in docs/comments.md, "Themes").

The themes file of ``earnright comments --themes`` is TOML: ``[[themes]]`` tables with ``name``,
``description`` and optional ``examples`` (and ``moment``, ``question``), as in the config.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter, ValidationError

from earnright.config import Theme
from earnright.errors import ConfigError

__all__ = [
    "LEXICAL",
    "MARGIN",
    "THRESHOLD",
    "Codeframe",
    "ThemeMatch",
    "assign_themes",
    "fragments",
    "load_themes",
    "matches_of",
    "sentences",
    "stems",
    "taxonomy_version",
]

LEXICAL = 0.15  # weight of the shared word stems (tuned, module doc)
THRESHOLD = 0.85  # the score a theme needs (tuned, module doc)
MARGIN = 0.1  # how far below a sentence's best theme another may score and still count
_SUFFIXES = ("liness", "iness", "ness", "ings", "ing", "ers", "ed", "ly", "es", "s")
_STOP_TEXT = (
    "about after again all also and any are because been but can could did does for from had "
    "has have how into just more most not now off once only other our out over same she should "
    "some such than that the their them then there these they this those too under very was "
    "were what when where which while who why will with would you your"
)
_STOP = frozenset(_STOP_TEXT.split())
_WORDS = re.compile(r"[a-z]+")
_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:but|although|though|however)\s+", re.IGNORECASE)
_CLAUSE = re.compile(
    r",\s*(?:and\s+)?|\s+and\s+(?=(?:the|my|a|an|their|it|they|i)\b)", re.IGNORECASE
)
CLAUSE_WORDS = 3  # a clause needs this many words to be scored on its own


@dataclass(frozen=True)
class ThemeMatch:
    """One theme of one comment: its name, score (``similarity``) and confidence in [0.5, 1]."""

    name: str
    similarity: float
    confidence: float


def sentences(text: str | None) -> list[str]:
    """The sentences (and clauses joined by "but") of a comment; none for a blank one."""
    if not text or not isinstance(text, str):
        return []
    return [s.strip() for s in _SPLIT.split(text) if s and s.strip()]


def fragments(text: str | None) -> list[str]:
    """The sentences of a comment and, of a sentence joining clauses by a comma or "and the"
    (…), each clause of ``CLAUSE_WORDS`` words or more: what is scored against the themes."""
    out = []
    for sentence in sentences(text):
        out.append(sentence)
        parts = [p.strip() for p in _CLAUSE.split(sentence) if p and p.strip()]
        if len(parts) > 1:
            out += [p for p in parts if len(p.split()) >= CLAUSE_WORDS]
    return out


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> set[str]:
    """The content-word stems of a text (lower case, no stop words, 3+ letters)."""
    return {_stem(w) for w in _WORDS.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def load_themes(path: Path) -> list[Theme]:
    """The ``[[themes]]`` of a themes file; ConfigError naming the file and the bad key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such themes file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    raw = data.get("themes")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{path}: no [[themes]] tables; each needs a name and a description, e.g.\n"
            '[[themes]]\nname = "waiting"\ndescription = "long queues and waiting to pay"'
        )
    try:
        themes = TypeAdapter(list[Theme]).validate_python(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        index = err["loc"][0] if err["loc"] and isinstance(err["loc"][0], int) else None
        which = f"themes[{index}]" if index is not None else "themes"
        raise ConfigError(f"{path}: {which} ({where}): {err['msg']}") from exc
    names = [t.name for t in themes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: themes named twice: {dupes}")
    return themes


def taxonomy_version(themes: Sequence[Theme], model: str = "") -> str:
    """A short digest of the themes (and the model's name): labels made under another version
    are recomputed."""
    payload = json.dumps([t.model_dump() for t in themes] + [model], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _embed(texts: Sequence[str | None]) -> np.ndarray:
    from earnright.comments.embed import embed

    return np.asarray(embed(list(texts)), dtype=np.float32)


@dataclass(frozen=True)
class Codeframe:
    """The themes with their embedded phrases: ``phrases[i]`` belongs to ``owner[i]``."""

    themes: tuple[Theme, ...]
    phrases: np.ndarray  # (phrases, dimension), L2-normalised
    owner: np.ndarray  # (phrases,) index into themes
    words: tuple[dict[str, float], ...]  # per theme: its stems and their weights

    @classmethod
    def of(cls, themes: Sequence[Theme]) -> Codeframe:
        texts: list[str] = []
        owner: list[int] = []
        for k, theme in enumerate(themes):
            own = [theme.description, *theme.examples]
            texts += own
            owner += [k] * len(own)
        vectors = _embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        centres = []
        for k in range(len(themes)):
            centre = vectors[np.asarray(owner) == k].mean(axis=0)
            centres.append(centre / max(float(np.linalg.norm(centre)), 1e-12))
        if centres:
            vectors = np.vstack([vectors, np.asarray(centres, dtype=np.float32)])
            owner += list(range(len(themes)))
        return cls(tuple(themes), vectors, np.asarray(owner, dtype=np.int64), _weights(themes))

    def lexical(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), themes): the summed weights of the stems each text shares with each
        theme."""
        names = sorted({w for words in self.words for w in words})
        index = {w: i for i, w in enumerate(names)}
        weight = np.array([[words.get(w, 0.0) for words in self.words] for w in names])
        rows, cols = [], []
        for i, text in enumerate(texts):
            for stem in stems(text):
                j = index.get(stem)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        out = np.zeros((len(texts), len(self.words)), dtype=np.float32)
        if rows:
            np.add.at(out, np.asarray(rows), weight[np.asarray(cols)].astype(np.float32))
        return out

    def similarity(self, texts: Sequence[str | None], margin: float = MARGIN) -> np.ndarray:
        """(len(texts), themes): each comment's best sentence's score per theme (module doc;
        −1 where the comment has no sentence). Each distinct sentence is scored once."""
        parts = [fragments(t) for t in texts]
        counts = np.array([len(p) for p in parts], dtype=np.int64)
        out = np.full((len(texts), len(self.themes)), -1.0, dtype=np.float32)
        if not counts.sum() or not self.themes:
            return out
        distinct, where = np.unique(
            np.array([s for p in parts for s in p], dtype=object), return_inverse=True
        )
        per_theme = self._sentence_scores(list(distinct), margin)[where]
        present = counts > 0
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
        out[present] = np.maximum.reduceat(per_theme, starts, axis=0)
        return out

    def _sentence_scores(self, flat: list[str], margin: float) -> np.ndarray:
        """(sentences, themes): best phrase cosine plus the word overlap; −1 where a theme is
        more than ``margin`` below the sentence's best."""
        cos = _embed(flat) @ self.phrases.T  # (sentences, phrases)
        per_theme = np.full((len(cos), len(self.themes)), -1.0, dtype=np.float32)
        for k in range(len(self.themes)):
            per_theme[:, k] = cos[:, self.owner == k].max(axis=1)
        per_theme += LEXICAL * self.lexical(flat)
        best = per_theme.max(axis=1, keepdims=True)
        return np.where(per_theme >= best - margin, per_theme, -1.0).astype(np.float32)


def _weights(themes: Sequence[Theme]) -> tuple[dict[str, float], ...]:
    """Per theme, its stems weighted by log(1 + themes / themes using the stem)."""
    own = [
        set().union(stems(t.name), stems(t.description), *(stems(e) for e in t.examples))
        for t in themes
    ]
    used: dict[str, int] = {}
    for words in own:
        for w in words:
            used[w] = used.get(w, 0) + 1
    return tuple({w: float(np.log1p(len(themes) / used[w])) for w in words} for words in own)


def assign_themes(
    texts: Sequence[str | None],
    themes: Sequence[Theme] | Codeframe,
    threshold: float = THRESHOLD,
    margin: float = MARGIN,
) -> list[list[ThemeMatch]]:
    """Each comment's themes (zero, one or several), most confident first."""
    frame = themes if isinstance(themes, Codeframe) else Codeframe.of(themes)
    sim = frame.similarity(texts, margin)
    return matches_of(sim, [t.name for t in frame.themes], threshold)


def matches_of(sim: np.ndarray, names: Sequence[str], threshold: float) -> list[list[ThemeMatch]]:
    """The themes at or over ``threshold`` per row of ``sim``, best first."""
    order = np.argsort(-sim, axis=1, kind="stable")
    out: list[list[ThemeMatch]] = []
    for row, ranked in zip(sim, order, strict=True):
        found = []
        for k in ranked:
            s = float(row[k])
            if s < threshold:
                break
            confidence = min(max(0.5 + (s - threshold), 0.5), 1.0)
            found.append(ThemeMatch(names[k], round(s, 4), round(confidence, 4)))
        out.append(found)
    return out
