"""Comments with planted identifiers, and comments with numbers that are not identifiers.

:func:`planted_comments` writes customer comments in which a share carry one or two identifiers
(e-mail addresses, phone numbers in international and national formats, Luhn-valid card
numbers, IBANs with their checksums, URLs with a path, IP addresses, SSNs), each in one of
several real-world spellings, and the rest carry order numbers, prices, dates, times,
quantities and reference numbers that must stay as they are. The truth is the exact text of
each planted identifier and its kind: what masking is measured against (tests and
bench/privacy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlantedComment", "iban_of", "luhn_complete", "planted_comments"]

FIRST = ["anna", "jose", "li", "mohammed", "sarah", "tom", "ines", "kofi", "maria", "piet"]
LAST = ["smith", "garcia", "nguyen", "okafor", "muller", "rossi", "dubois", "jansen", "khan"]
DOMAINS = ["gmail.com", "yahoo.co.uk", "outlook.com", "mail.example.org", "web.de", "free.fr"]
SITES = ["facebook.com", "instagram.com", "linkedin.com/in", "twitter.com", "example-shop.com"]
WITH_ID = [
    "Please email me at {x} about the refund.",
    "You can reach me on {x} if anything changes",
    "my details: {x} - nobody called back!!",
    "Contact {x} for the complaint, thanks",
    "I wrote from {x} twice already. Still waiting.",
    "Staff asked me to send {x} so here it is: {x2}",
]
WITHOUT_ID = [
    "Order {order} arrived late and the box was damaged.",
    "Paid {price} for {qty} items, expected {price2}.",
    "Visited on {date} at {time}, queue was long.",
    "Receipt no. {receipt} shows the wrong amount of {price}.",
    "ref {ref}: still no refund after {qty} weeks",
    "Store {qty} closes at {time}; came back on {date}.",
    "Got {pct}% off, loyalty points now {points}.",
    "Ticket #{ticket} was closed on {date} without an answer",
]
# (country, BBAN maker): a BBAN of the country's length
IBAN_COUNTRIES = {
    "DE": lambda r: _digits(r, 18),
    "GB": lambda r: "WEST" + _digits(r, 14),
    "FR": lambda r: _digits(r, 23),
    "NL": lambda r: "ABNA" + _digits(r, 10),
    "ES": lambda r: _digits(r, 20),
    "IT": lambda r: "X" + _digits(r, 22),
    "BE": lambda r: _digits(r, 12),
}


@dataclass
class PlantedComment:
    """A comment and the identifiers planted in it: (kind, the identifier's exact text)."""

    text: str
    identifiers: list[tuple[str, str]] = field(default_factory=list)

    def masked(self) -> str:
        """The text as masking must leave it: each identifier replaced by ``[KIND]``."""
        out = self.text
        for kind, value in self.identifiers:
            out = out.replace(value, f"[{kind.upper()}]")
        return out


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def luhn_complete(partial: str) -> str:
    """``partial`` with the check digit that makes it pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def iban_of(country: str, bban: str) -> str:
    """The IBAN of ``country`` and ``bban`` with its two check digits (ISO 13616, mod 97)."""
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


def _grouped(text: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(text[i : i + size])
        i += size
    if i < len(text):
        parts.append(text[i:])
    return sep.join(p for p in parts if p)


def _email(rng: np.random.Generator) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = str(rng.choice([f"{first}.{last}", f"{first}_{last}{rng.integers(1, 99)}",
                            f"{first[0]}{last}+shop"]))  # fmt: skip
    return f"{local}@{rng.choice(DOMAINS)}"


def _phone(rng: np.random.Generator) -> str:
    d = lambda n: _digits(rng, n)  # noqa: E731
    spellings = [
        f"+44 20 {d(4)} {d(4)}",
        f"+1 ({rng.integers(201, 989)}) {rng.integers(200, 999)}-{d(4)}",
        f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"+49 30 {d(8)}",
        f"+61 412 {d(3)} {d(3)}",
        f"+91 98{d(3)} {d(5)}",
        f"({rng.integers(201, 989)}) {rng.integers(200, 999)}-{d(4)}",
        f"{rng.integers(201, 989)}-{rng.integers(200, 999)}-{d(4)}",
        f"{rng.integers(201, 989)}.{rng.integers(200, 999)}.{d(4)}",
        f"020 {d(4)} {d(4)}",
        f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
        f"0{rng.integers(1, 9)}{d(2)}-{d(7)}",
    ]
    return str(rng.choice(spellings))


def _card(rng: np.random.Generator) -> str:
    prefix, length, sizes = [("4", 16, [4, 4, 4, 4]), ("5" + str(rng.integers(1, 6)), 16,
                              [4, 4, 4, 4]), ("37", 15, [4, 6, 5])][rng.integers(0, 3)]  # fmt: skip
    number = luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    return _grouped(number, sizes, str(rng.choice([" ", "-", ""])))


def _iban(rng: np.random.Generator) -> str:
    country = str(rng.choice(list(IBAN_COUNTRIES)))
    iban = iban_of(country, IBAN_COUNTRIES[country](rng))
    return _grouped(iban, [4] * 9, " ") if rng.random() < 0.6 else iban


def _url(rng: np.random.Generator) -> str:
    who = f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.integers(1, 999)}"
    return str(rng.choice([f"https://www.{rng.choice(SITES)}/{who}",
                           f"http://example-shop.com/account/orders?id={_digits(rng, 6)}",
                           f"www.{rng.choice(SITES)}/{who}"]))  # fmt: skip


def _ssn(rng: np.random.Generator) -> str:
    return f"{rng.integers(1, 665):03d}-{rng.integers(1, 99):02d}-{rng.integers(1, 9999):04d}"


def _ip(rng: np.random.Generator) -> str:
    return ".".join(str(rng.integers(1, 255)) for _ in range(4))


MAKERS = {"email": _email, "phone": _phone, "card": _card, "iban": _iban, "url": _url,
          "ssn": _ssn, "ip": _ip}  # fmt: skip


def _numbers(rng: np.random.Generator) -> dict[str, str]:
    """Numbers that are not identifiers, in the spellings customers use."""
    day, month = int(rng.integers(1, 29)), int(rng.integers(1, 13))
    d = lambda n: _digits(rng, n)  # noqa: E731
    spellings = {
        "order": [f"{d(4)}-{d(4)}", f"#A-{d(5)}", f"number {d(10)}"],
        "price": [
            f"${rng.integers(1, 999)}.{d(2)}",
            f"€{rng.integers(1, 9)}.{d(3)},{d(2)}",
            f"£{rng.integers(1, 9)},{d(3)}.00",
        ],
        "date": [
            f"{day:02d}/{month:02d}/2026",
            f"2026-{month:02d}-{day:02d}",
            f"{day}.{month}.2026",
            f"2026-{month:02d}-{day:02d} 14",
        ],
        "time": [f"{rng.integers(0, 24)}:{d(2)}", "2:30pm", f"{rng.integers(10, 24)}:{d(2)}:00"],
    }
    chosen = {name: str(rng.choice(options)) for name, options in spellings.items()}
    return chosen | {
        "price2": f"{rng.integers(1, 99)}.{d(2)} EUR",
        "qty": str(rng.integers(1, 40)),
        "receipt": f"{d(4)}-{d(3)}-{d(4)}",
        "ref": f"2026{month:02d}{day:02d}-{d(3)}",
        "pct": str(rng.integers(5, 60)),
        "points": f"{rng.integers(1, 99)},{d(3)}",
        "ticket": d(9),
    }


def planted_comments(n: int, seed: int = 0, share: float = 0.5) -> list[PlantedComment]:
    """``n`` comments; about ``share`` of them carry identifiers (one or two), the others
    numbers that are not identifiers."""
    rng = np.random.default_rng(seed)
    kinds = list(MAKERS)
    out = []
    for _ in range(n):
        if rng.random() < share:
            template = str(rng.choice(WITH_ID))
            planted = [(k, MAKERS[k](rng)) for k in rng.choice(kinds, 2)]
            text = template.replace("{x2}", planted[1][1]).replace("{x}", planted[0][1])
            out.append(PlantedComment(text, planted if "{x2}" in template else planted[:1]))
        else:
            out.append(PlantedComment(str(rng.choice(WITHOUT_ID)).format(**_numbers(rng))))
    return out
