"""The WordPiece tokenizer of BERT (uncased), in plain Python, for the shipped static embeddings.

The static model was distilled from all-MiniLM-L6-v2, whose vocabulary is BERT's uncased WordPiece
vocabulary; its token vectors only mean something with the same tokens. This module reproduces the
``tokenizers`` library's BertWordPiece pre-tokenization and greedy longest-match-first split, so
that nothing beyond numpy is needed at run time:

1. remove control characters, lower-case, strip accents (NFD, drop combining marks);
2. split on white space, around every punctuation character and every CJK ideograph;
3. split each word greedily into the longest vocabulary pieces (continuations spelt ``##…``);
   a word that cannot be split, or longer than 100 characters, is the unknown token, dropped.

Plain ASCII text takes a regular-expression fast path; words are cached, since comments repeat
them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["WordPiece"]

MAX_WORD_CHARS = 100
CACHE_WORDS = 200_000
ASCII_TOKEN = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")
ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_dropped(ch: str) -> bool:
    """A control character or an invalid one, removed as BERT's text cleaning does."""
    if ch in "\t\n\r":
        return False
    return ch == "\ufffd" or ord(ch) == 0 or unicodedata.category(ch) in ("Cc", "Cf", "Mn")


def _unicode_words(text: str) -> list[str]:
    """Pre-tokenize text with characters beyond ASCII, one character at a time."""
    text = unicodedata.normalize("NFD", text.lower())
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if _is_dropped(ch):
            continue
        if ch.isspace():
            split, keep = True, False
        else:
            split = keep = _is_punctuation(ch) or _is_cjk(ord(ch))
        if split:
            if current:
                words.append("".join(current))
                current = []
            if keep:
                words.append(ch)
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


class WordPiece:
    """Token ids of texts under a WordPiece vocabulary (one piece per line, id = line number)."""

    def __init__(self, vocab: Iterable[str], unknown: str = "[UNK]") -> None:
        self.ids = {piece: i for i, piece in enumerate(vocab)}
        self.unknown = self.ids.get(unknown, -1)
        self._cache: dict[str, tuple[int, ...]] = {}

    def words(self, text: str) -> list[str]:
        """The pre-tokenized words of ``text`` (lower-cased, accents stripped, split)."""
        if text.isascii():
            return ASCII_TOKEN.findall(ASCII_CONTROL.sub("", text.lower()))
        return _unicode_words(text)

    def pieces(self, word: str) -> tuple[int, ...]:
        """The ids of one word's pieces; () when it cannot be split (the unknown token)."""
        found = self._cache.get(word)
        if found is not None:
            return found
        out = self._split(word)
        if len(self._cache) >= CACHE_WORDS:
            self._cache.clear()
        self._cache[word] = out
        return out

    def _split(self, word: str) -> tuple[int, ...]:
        whole = self.ids.get(word)
        if whole is not None:
            return (whole,)
        if len(word) > MAX_WORD_CHARS:
            return ()
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    out.append(found)
                    break
                end -= 1
            else:
                return ()
            start = end
        return tuple(out)

    def encode(self, text: str, limit: int = 512) -> list[int]:
        """The ids of ``text``'s pieces (unknown words dropped), at most ``limit`` of them."""
        ids: list[int] = []
        for word in self.words(text):
            ids.extend(self.pieces(word))
            if len(ids) >= limit:
                return ids[:limit]
        return ids
