"""Identifiers masked out of free text: e-mail addresses, phone numbers, card numbers, IBANs,
URLs with a path, IP addresses and US social security numbers, each replaced by a typed
placeholder (``[EMAIL]``, ``[PHONE]`` …).

Every detector is a regular expression and, where the identifier has one, its check: cards must
pass the Luhn check and start like a card, IBANs their country's length and the mod-97
checksum, SSNs the rules of issue, IP addresses octets up to 255. Phone numbers (which have no
checksum) must start with ``+`` and country code, or be digit groups with separators (9 to 13
digits, not a date), or a bare run of 9 to 12 digits right after a word such as "call" or
"phone"; digits after "order", "ref", "invoice", "#" … are left alone unless such a word is
there too. Order numbers, prices, dates and times stay as they are (tests/comments/
test_privacy.py measures both).

A whole column is masked with :func:`mask_series`: one vectorised pre-filter (Arrow's RE2
kernel) picks the few texts that could hold an identifier (an ``@``, ``://``, ``www.`` or seven
digits in a phone-like run); only those go through the detectors.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FREE_TEXT",
    "GUARDS",
    "IDENTIFIER_KINDS",
    "PLACEHOLDERS",
    "QUARANTINE_TEXT",
    "Found",
    "Masker",
    "find_identifiers",
    "iban_valid",
    "luhn_valid",
    "mask_columns",
    "mask_free_text",
    "mask_series",
    "mask_text",
]

# in the order they claim text: an e-mail's domain is no URL, an IBAN's digits no phone
IDENTIFIER_KINDS = ("email", "url", "iban", "card", "ssn", "ip", "phone")
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in IDENTIFIER_KINDS}

EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{1,4}){3,9}(?![A-Za-z0-9])")
CARD = re.compile(r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w]|[.,-]\d)")
SSN = re.compile(r"(?<![\w.,/-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w]|[.,/-]\d)")
OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP = re.compile(rf"(?<![\w.]){OCTET}(?:\.{OCTET}){{3}}(?![\w]|\.\d)")
IPV6 = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*[0-9A-Fa-f])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])"
)
PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,5}\)?){2,6}(?![\w]|[.\-]\d)")
PHONE_GROUPS = re.compile(
    r"(?<![\w.,/:+-])(?:\(\d{2,5}\)[ .\-]?\d{2,8}|\d{2,5}[ .\-]\d{2,8})(?:[ .\-]\d{2,8}){0,3}"
    r"(?![\w]|[.,/:\-]\d)"
)
PHONE_BARE = re.compile(r"(?<![\w.,/:+-])\d{9,12}(?![\w]|[.,/:\-]\d)")
PHONE_WORDS = re.compile(
    r"\b(?:call(?:ed|ing)?|phone|tel|telephone|mobile|cell|ring|text|sms|whats ?app|fax|"
    r"contact|reach)\b",
    re.IGNORECASE,
)
NOT_PHONE_WORDS = re.compile(
    r"(?:\b(?:order|ref|reference|invoice|ticket|case|receipt|tracking|booking|sku|item|"
    r"account|transaction|po|no)\b\.?|#)[\s:#.-]*$",
    re.IGNORECASE,
)
DATE = re.compile(
    r"\b(?:\d{4}([./-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])|"
    r"(?:0?[1-9]|[12]\d|3[01])([./-])(?:0?[1-9]|1[0-2])\2(?:\d{4}|\d{2}))\b"
)
# Could a text hold an identifier of each kind? One pattern per kind that both Arrow's RE2 (a
# whole column at once) and Python's re (one text) read the same way; the detectors decide.
GUARDS = {
    "email": r"@",
    "url": r"://|(?i:www\.)",
    "iban": r"[A-Z]{2}\d{2}",
    "card": r"\d(?:[ -]?\d){12}",
    "ssn": r"\d{3}-\d{2}-\d{4}",
    "ip": r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|(?:[0-9A-Fa-f]{0,4}:){3}|::[0-9A-Fa-f]",
    # 9 digits in groups, or 7 after a word such as "call" (PHONE_WORDS; CONTEXT characters)
    "phone": r"\+\s?\d|\d(?:[ ().\-]{0,2}\d){8}|(?i:call|phone|tel|mobile|cell|ring|text|sms|"
    r"whats ?app|fax|contact|reach)(?s:.){0,30}\d(?:[ ().\-]{0,2}\d){6}",
}
_GUARDS = {kind: re.compile(pattern) for kind, pattern in GUARDS.items()}
CONTEXT = 30  # characters before a number searched for words such as "call" or "order"

# IBAN lengths by country (ISO 13616 registry)
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


@dataclass(frozen=True)
class Found:
    """One identifier found in a text: its kind and its span [start, end)."""

    kind: str
    start: int
    end: int


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check (card numbers)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """Whether an IBAN without spaces has its country's length and passes mod-97."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _card(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    digits = _digits(m.group())
    starts = digits[0] in "456" or digits[:2] in {"34", "37", "30", "36", "38", "35", "22"}
    starts = starts or "2221" <= digits[:4] <= "2720" or (digits[0] == "1" and len(digits) == 15)
    if starts and len(set(digits)) > 1 and luhn_valid(digits):
        return m.span()
    return None


def _iban(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    """The IBAN at ``m``, cut to its country's length (the pattern may run into the next word)."""
    length = IBAN_LENGTHS.get(m.group()[:2])
    if length is None:
        return None
    kept, end = 0, m.start()
    for i, ch in enumerate(m.group()):
        if ch.isalnum():
            kept += 1
            if kept == length:
                end = m.start() + i + 1
                break
    if kept < length or (end < len(text) and text[end].isalnum()):
        return None
    compact = "".join(ch for ch in text[m.start() : end] if ch.isalnum())
    return (m.start(), end) if iban_valid(compact) else None


def _url(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    """A URL with a path, query, fragment or user name (a bare site name is no identifier)."""
    url = m.group().rstrip(".,;:!?)'\"")
    rest = re.sub(r"^(?:https?://)?", "", url, flags=re.IGNORECASE)
    host, sep, tail = rest.partition("/")
    personal = "@" in host or "?" in rest or "#" in rest or (sep and tail.strip("/"))
    return (m.start(), m.start() + len(url)) if personal else None


def _phone_words(text: str, start: int) -> tuple[bool, bool]:
    """Whether a phone word, and whether an order-number word, come just before ``start``."""
    before = text[max(0, start - CONTEXT) : start]
    return bool(PHONE_WORDS.search(before)), bool(NOT_PHONE_WORDS.search(before))


def _phone_groups(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    n = len(_digits(m.group()))
    if DATE.search(m.group()) or not 7 <= n <= 13:
        return None
    phone_word, order_word = _phone_words(text, m.start())
    if phone_word or (n >= 9 and not order_word):
        return m.span()
    return None


def _phone_intl(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    return m.span() if 8 <= len(_digits(m.group())) <= 15 else None


def _phone_bare(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    return m.span() if _phone_words(text, m.start())[0] else None


def _ipv6(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    """An IPv6 address (the standard library decides; ``::`` alone is none)."""
    try:
        address = ipaddress.IPv6Address(m.group())
    except ValueError:
        return None
    return m.span() if not address.is_unspecified else None


def _plain(text: str, m: re.Match[str]) -> tuple[int, int] | None:
    return m.span()


Check = Callable[[str, re.Match[str]], tuple[int, int] | None]
DETECTORS: dict[str, tuple[tuple[re.Pattern[str], Check], ...]] = {
    "email": ((EMAIL, _plain),),
    "url": ((URL, _url),),
    "iban": ((IBAN, _iban),),
    "card": ((CARD, _card),),
    "ssn": ((SSN, _plain),),
    "ip": ((IP, _plain), (IPV6, _ipv6)),
    "phone": ((PHONE_INTL, _phone_intl), (PHONE_GROUPS, _phone_groups), (PHONE_BARE, _phone_bare)),
}


def find_identifiers(text: str, kinds: Iterable[str] = IDENTIFIER_KINDS) -> list[Found]:
    """The identifiers in ``text`` of the given kinds, in order, none overlapping (a kind
    earlier in :data:`IDENTIFIER_KINDS` claims its text first)."""
    wanted = set(kinds)
    return _find(text, [k for k in IDENTIFIER_KINDS if k in wanted and _GUARDS[k].search(text)])


def _find(text: str, kinds: list[str]) -> list[Found]:
    """The identifiers of ``kinds`` (in claiming order; their guards passed)."""
    found: list[Found] = []
    for kind in kinds:
        for pattern, check in DETECTORS[kind]:
            if pattern is PHONE_INTL and "+" not in text:
                continue
            for m in pattern.finditer(text):
                span = check(text, m)
                if span is None or any(f.start < span[1] and span[0] < f.end for f in found):
                    continue
                found.append(Found(kind, *span))
    return sorted(found, key=lambda f: f.start)


def _replaced(text: str, found: list[Found]) -> str:
    out = text
    for f in reversed(found):
        out = out[: f.start] + PLACEHOLDERS[f.kind] + out[f.end :]
    return out


def mask_text(text: str, kinds: Iterable[str] = IDENTIFIER_KINDS) -> str:
    """``text`` with each identifier of ``kinds`` replaced by its placeholder (``[EMAIL]`` …)."""
    return _replaced(text, find_identifiers(text, kinds))


class Masker:
    """Masks the identifiers of ``kinds`` (all of :data:`IDENTIFIER_KINDS` by default)."""

    def __init__(self, kinds: Iterable[str] = IDENTIFIER_KINDS) -> None:
        self.kinds = tuple(k for k in IDENTIFIER_KINDS if k in set(kinds))
        unknown = set(kinds) - set(IDENTIFIER_KINDS)
        if unknown:
            raise ValueError(f"unknown identifier kinds {sorted(unknown)}")

    def flags(self, values: pd.Series) -> dict[str, np.ndarray]:
        """Per kind, which texts its guard lets through: one RE2 pass (Arrow) over the whole
        column with every guard at once, then each kind's guard over the texts that passed."""
        arr = pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
        union = "|".join(f"(?:{GUARDS[kind]})" for kind in self.kinds)
        hit = pc.fill_null(pc.match_substring_regex(arr, union), False)
        rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
        passed = arr.take(pa.array(rows))
        out = {}
        for kind in self.kinds:
            flag = np.zeros(len(values), dtype=bool)
            if len(rows):
                found = pc.fill_null(pc.match_substring_regex(passed, GUARDS[kind]), False)
                flag[rows] = found.to_numpy(zero_copy_only=False)
            out[kind] = flag
        return out

    def candidates(self, values: pd.Series) -> np.ndarray:
        """Positions of the texts some guard lets through (those that may hold one)."""
        if values.empty or not self.kinds:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.logical_or.reduce(list(self.flags(values).values())))

    def mask(self, values: pd.Series) -> tuple[pd.Series, int]:
        """The texts masked, and how many were changed; missing values stay missing."""
        if values.empty or not self.kinds:
            return values, 0
        flags = self.flags(values)
        matrix = np.column_stack([flags[k] for k in self.kinds])
        rows = np.flatnonzero(matrix.any(axis=1))
        if not len(rows):
            return values, 0
        out = values.astype("string").copy()
        picked = out.iloc[rows]
        masked = [
            _replaced(text, _find(text, [k for k, on in zip(self.kinds, row, strict=True) if on]))
            for text, row in zip(picked.astype(str), matrix[rows], strict=True)
        ]
        changed = int(sum(a != b for a, b in zip(picked, masked, strict=True)))
        out.iloc[rows] = pd.Series(masked, index=picked.index, dtype="string")
        return out, changed


def mask_series(values: pd.Series, kinds: Iterable[str] = IDENTIFIER_KINDS) -> pd.Series:
    """``values`` (texts) with their identifiers masked (see :class:`Masker`)."""
    return Masker(kinds).mask(values)[0]


# The free-text fields of each kind of data: masked on ingest when [privacy] mask_comments is on.
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "feedback": ("comment",),
    "loss_calls": ("outcome",),
    "issues": ("title", "evidence"),
}
QUARANTINE_TEXT = ("reason", "raw")  # a rejected row's value and the row as read


def mask_columns(frame: pd.DataFrame, columns: Iterable[str], masker: Masker) -> int:
    """Mask ``columns`` of ``frame`` in place (those it has); how many values changed."""
    changed = 0
    for col in columns:
        if col in frame.columns and len(frame):
            frame[col], n = masker.mask(frame[col])
            changed += n
    return changed


def mask_free_text(text: str, mask: bool, kinds: Iterable[str]) -> str:
    """One free text as it may be stored: masked when ``mask`` (``[privacy] mask_comments``)."""
    return mask_text(text, kinds) if mask else text
