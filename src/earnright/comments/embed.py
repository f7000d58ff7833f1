"""Sentence embeddings from the static model shipped inside the package, with numpy only.

The model (``model/``: see its README for where it comes from) is one vector per WordPiece token,
distilled offline from all-MiniLM-L6-v2 with model2vec (``scripts/distil_model.py``) and reduced
by PCA. A text's embedding is the mean of its tokens' vectors, L2-normalised; a text with no known
token (blank, only unknown symbols, ``None``) embeds as the zero vector. The model is read once, on
first use, and kept: nothing is downloaded, and neither torch nor a tokenizer library is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from earnright.comments.wordpiece import WordPiece

__all__ = ["MAX_TOKENS", "StaticModel", "dimension", "embed", "load_model"]

MAX_TOKENS = 512  # tokens read from one text; the rest of a very long text is ignored


@dataclass(frozen=True)
class StaticModel:
    """A static embedding model: the tokenizer, one row per token id, and the model's card."""

    tokenizer: WordPiece
    vectors: np.ndarray  # (vocabulary, dimension) float32
    card: dict[str, object]

    def token_ids(self, texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """Every text's token ids, concatenated, and each text's token count."""
        ids: list[int] = []
        counts = np.zeros(len(texts), dtype=np.int64)
        encode = self.tokenizer.encode
        for i, text in enumerate(texts):
            if not text or not isinstance(text, str):
                continue
            found = encode(text, MAX_TOKENS)
            counts[i] = len(found)
            ids.extend(found)
        return np.asarray(ids, dtype=np.int64), counts

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        """(len(texts), dimension) float32, rows L2-normalised (zero for a text with no token)."""
        ids, counts = self.token_ids(texts)
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        present = counts > 0
        if ids.size:
            starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[present]
            out[present] = np.add.reduceat(self.vectors[ids], starts, axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


@lru_cache(maxsize=1)
def load_model() -> StaticModel:
    """The shipped static model, read from the package on first use and cached."""
    folder = resources.files("earnright.comments") / "model"
    card = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    vocab = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
    with (folder / "vectors.npz").open("rb") as handle, np.load(handle) as data:
        vectors = data["vectors"].astype(np.float32) * data["scale"].astype(np.float32)[:, None]
    if vocab and vocab[-1] == "":
        vocab.pop()
    return StaticModel(WordPiece(vocab), vectors, card)


def dimension() -> int:
    """The length of every embedding."""
    return int(load_model().vectors.shape[1])


def embed(texts: Sequence[str | None]) -> np.ndarray:
    """Embed ``texts``: a (len(texts), :func:`dimension`) float32 array of L2-normalised rows.

    A blank text, ``None`` or one made only of unknown symbols gives the zero row.
    """
    return load_model().embed(list(texts))
