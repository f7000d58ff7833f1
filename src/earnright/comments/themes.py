"""Themes: which codeframe themes each comment is about, with a confidence.

A theme is known by its phrases: its one-line description and its examples, each embedded
(``earnright.comments.embed``). A comment is split into sentences; its *similarity* to a theme
is the highest cosine between any of its sentences and any of the theme's phrases (or their
mean, the theme's centre). So a comment that speaks of two things matches both, and a closing
"Thank you!" does not dilute the sentence that carries the theme.

A comment gets every theme whose similarity reaches ``threshold`` (zero, one or several), most
confident first. The confidence is the similarity mapped onto [0, 1] by
``(similarity - threshold) / (1 - threshold)`` scaled to ``[0.5, 1]`` for assigned themes, so 0.5
is "just over the line" and 1 a sentence identical to a phrase. The threshold was tuned on
half of the demo company's planted comments and checked on the other half
(docs/comments.md, "Themes"; tests/comments/test_themes.py).

The themes file of ``earnright comments --themes`` is TOML: ``[[themes]]`` tables with ``name``,
``description`` and optional ``examples`` (and ``moment``), as in the config.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter, ValidationError

from earnright.config import Theme
from earnright.errors import ConfigError

__all__ = [
    "THRESHOLD",
    "Codeframe",
    "ThemeMatch",
    "assign_themes",
    "load_themes",
    "sentences",
    "taxonomy_version",
]

THRESHOLD = 0.55  # cosine similarity a sentence needs to a theme's phrase (tuned, module doc)
_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:but|although|though|however)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class ThemeMatch:
    """One theme of one comment: its name, similarity and confidence in [0.5, 1]."""

    name: str
    similarity: float
    confidence: float


def sentences(text: str | None) -> list[str]:
    """The sentences (and clauses joined by "but") of a comment; none for a blank one."""
    if not text or not isinstance(text, str):
        return []
    return [s.strip() for s in _SPLIT.split(text) if s and s.strip()]


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
        return cls(tuple(themes), vectors, np.asarray(owner, dtype=np.int64))

    def similarity(self, texts: Sequence[str | None]) -> np.ndarray:
        """(len(texts), themes): each comment's highest sentence-to-phrase cosine per theme
        (−1 where the comment has no sentence)."""
        parts = [sentences(t) for t in texts]
        counts = np.array([len(p) for p in parts], dtype=np.int64)
        out = np.full((len(texts), len(self.themes)), -1.0, dtype=np.float32)
        if not counts.sum() or not self.themes:
            return out
        vectors = _embed([s for p in parts for s in p])
        cos = vectors @ self.phrases.T  # (sentences, phrases)
        per_theme = np.full((len(cos), len(self.themes)), -1.0, dtype=np.float32)
        for k in range(len(self.themes)):
            per_theme[:, k] = cos[:, self.owner == k].max(axis=1)
        present = counts > 0
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
        out[present] = np.maximum.reduceat(per_theme, starts, axis=0)
        return out


def assign_themes(
    texts: Sequence[str | None],
    themes: Sequence[Theme] | Codeframe,
    threshold: float = THRESHOLD,
) -> list[list[ThemeMatch]]:
    """Each comment's themes (zero, one or several), most confident first."""
    frame = themes if isinstance(themes, Codeframe) else Codeframe.of(themes)
    sim = frame.similarity(texts)
    return matches_of(sim, [t.name for t in frame.themes], threshold)


def matches_of(sim: np.ndarray, names: Sequence[str], threshold: float) -> list[list[ThemeMatch]]:
    """The themes at or over ``threshold`` per row of ``sim``, most similar first."""
    order = np.argsort(-sim, axis=1, kind="stable")
    out: list[list[ThemeMatch]] = []
    for row, ranked in zip(sim, order, strict=True):
        found = []
        for k in ranked:
            s = float(row[k])
            if s < threshold:
                break
            confidence = 0.5 + 0.5 * (s - threshold) / max(1.0 - threshold, 1e-9)
            found.append(ThemeMatch(names[k], round(s, 4), round(min(confidence, 1.0), 4)))
        out.append(found)
    return out
