"""Free-text comments from a bank of templates, one theme (driver) and one tone each.

A comment is a template sentence about its theme in its tone, sometimes followed by a short
closing remark in the same tone. Themes follow QUESTIONS order.

The planted truth of a comment's theme is the bank its sentence came from: ``planted_themes``
reads it back from the text. ``DEMO_THEMES`` is the demo config's codeframe: each theme with a
one-line description, a few example phrases (written apart from the bank, so that recovering
the planted themes is a test of matching meaning, not of copying sentences) and its moment.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CLOSERS",
    "DEMO_THEMES",
    "NEGATIVE",
    "POSITIVE",
    "THEMES",
    "compose_comments",
    "planted_themes",
]

THEMES: tuple[str, ...] = ("staff", "wait", "stock", "prescription", "cleanliness", "app")

# The codeframe of the demo config: theme, description, examples and the moment (THEME_MOMENT).
DEMO_THEMES: list[dict[str, object]] = [
    {
        "name": "staff",
        "question": "q_staff",
        "description": "how the staff and pharmacists treated me: friendly, helpful or rude",
        "examples": [
            "the cashier was rude to me",
            "a helpful pharmacist gave me advice",
            "friendly team, warm welcome",
            "the assistant ignored me",
            "employees were dismissive and unhelpful",
            "a colleague helped me find it",
        ],
        "moment": "checkout",
    },
    {
        "name": "wait",
        "question": "q_wait",
        "description": "queues and waiting time at the till to pay",
        "examples": [
            "a long queue at the till",
            "slow to pay at the checkout",
            "quick and fast service at the counter",
            "the line to pay barely moved",
            "waiting to be served",
        ],
        "moment": "checkout",
    },
    {
        "name": "stock",
        "question": "q_stock",
        "description": "whether the products I wanted were in stock on the shelves",
        "examples": [
            "the product was out of stock",
            "empty shelves, my brand was missing",
            "a good range, everything available",
            "they had run out of it",
        ],
        "moment": "find_product",
    },
    {
        "name": "prescription",
        "question": "q_rx",
        "description": "getting my prescription medicine filled and ready at the pharmacy",
        "examples": [
            "my prescription was not ready",
            "waiting at the pharmacy for my medication",
            "the repeat refill was dispensed on time",
            "medicine ready to collect",
        ],
        "moment": "pickup_prescription",
    },
    {
        "name": "cleanliness",
        "question": "q_clean",
        "description": "how clean, tidy and well kept the store was",
        "examples": [
            "a dirty floor and overflowing bins",
            "the shop was clean and tidy",
            "messy, cluttered aisles",
            "filthy toilets",
            "spotless and well kept",
        ],
        "moment": "find_product",
    },
    {
        "name": "app",
        "question": "q_app",
        "description": "ordering in the mobile app and click and collect",
        "examples": [
            "the app crashed when I ordered",
            "could not log in to the website",
            "an error when paying online",
            "click and collect order was easy",
            "the app is buggy and froze",
        ],
        "moment": "order_in_app",
    },
]

NEGATIVE: dict[str, tuple[str, ...]] = {
    "staff": (
        "The staff were rude and clearly did not want to help.",
        "Nobody on the floor could answer a simple question.",
        "The cashier ignored me and kept chatting to a colleague.",
        "I asked for help twice and was told to look for myself.",
        "The pharmacist was dismissive when I asked about side effects.",
        "Staff seemed stressed and unfriendly today.",
        "I felt like a nuisance for asking where things were.",
    ),
    "wait": (
        "The queue at the till was far too long.",
        "I waited over twenty minutes just to pay.",
        "Only one checkout open and a line to the back of the store.",
        "Far too slow at the counter, I nearly left my basket.",
        "The self-checkouts were broken so everyone queued for one till.",
        "Waiting to pay took longer than the rest of the visit.",
        "Long wait again, it happens every time I come in.",
    ),
    "stock": (
        "Half of what I came for was out of stock.",
        "The shelves were empty where my usual brand should be.",
        "They had run out of the baby formula again.",
        "I had to go to another shop because the item was missing.",
        "Gaps on the shelves everywhere, very disappointing.",
        "Could not find the vitamins I came for, none left.",
        "Out of the basics like paracetamol and plasters.",
    ),
    "prescription": (
        "My prescription was not ready when I was told it would be.",
        "I came back three times before my medication was filled.",
        "The prescription counter lost my repeat order.",
        "Waited an hour at the pharmacy for a simple refill.",
        "They were missing part of my prescription and could not say when it would arrive.",
        "Nobody told me my prescription was delayed.",
        "The pharmacy was closed early and I could not get my medicine.",
    ),
    "cleanliness": (
        "The store was dirty and the floor was sticky.",
        "Bins overflowing by the entrance, not nice at all.",
        "The toilets were filthy.",
        "Boxes left in the aisles, it felt messy and cluttered.",
        "Dust on the shelves and spilled products nobody cleaned up.",
        "The shop looked neglected and untidy.",
    ),
    "app": (
        "The app kept crashing when I tried to order.",
        "I could not log in to the app to place my order.",
        "My order in the app failed at payment three times.",
        "The app showed an error and my order disappeared.",
        "Ordering ahead in the app is so buggy it is not worth it.",
        "The app froze at checkout and I gave up.",
        "Click and collect order never came through in the app.",
    ),
}
POSITIVE: dict[str, tuple[str, ...]] = {
    "staff": (
        "The staff were friendly and really helpful.",
        "The pharmacist took the time to explain everything.",
        "Lovely team, they found exactly what I needed.",
        "The cashier was cheerful and made my day.",
        "Staff went out of their way to help my elderly mother.",
        "Great advice from the team at the counter.",
        "Always a warm welcome from the staff here.",
    ),
    "wait": (
        "In and out in five minutes, no queue at all.",
        "Checkout was quick and easy.",
        "They opened another till as soon as the line grew.",
        "No waiting around, very efficient.",
        "Fast service at the counter even at a busy time.",
        "Paying was quick, which is all I want.",
    ),
    "stock": (
        "Everything I needed was on the shelf.",
        "Well stocked as always, even the hard to find items.",
        "They had my usual brand in stock.",
        "Great range of products and nothing missing.",
        "Found everything on my list in one trip.",
        "Shelves were full and easy to browse.",
    ),
    "prescription": (
        "My prescription was ready exactly when promised.",
        "The repeat prescription service is quick and reliable.",
        "Picked up my medication without any wait.",
        "The text telling me my prescription was ready was spot on.",
        "Prescription sorted in minutes, thank you.",
        "The pharmacy team had everything ready for me.",
    ),
    "cleanliness": (
        "The store was spotless and well organised.",
        "Clean, bright and tidy shop.",
        "Everything neatly arranged and easy to find.",
        "Lovely clean store, a pleasure to shop in.",
        "Really tidy aisles and clean floors.",
        "The shop always looks well kept.",
    ),
    "app": (
        "Ordering in the app was quick and painless.",
        "The app worked perfectly and my order was ready on arrival.",
        "Love ordering ahead in the app, it saves so much time.",
        "Smooth app, easy to reorder my usual items.",
        "The app made click and collect really easy.",
        "Great app, never had a problem with it.",
    ),
}
CLOSERS: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "Not impressed.",
        "Please sort this out.",
        "Really disappointing.",
        "I expect better.",
        "Considering going elsewhere.",
        "Not the first time either.",
    ),
    ("Thank you!", "Keep it up.", "Will be back.", "Very happy.", "Great job.", "Recommended."),
)
_CLOSER_P = 0.35


def _bank() -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All sentences in one array, with the first index and count per (theme, tone)."""
    sentences: list[str] = []
    first = np.zeros((len(THEMES), 2), dtype=np.int64)
    count = np.zeros((len(THEMES), 2), dtype=np.int64)
    for t, theme in enumerate(THEMES):
        for tone, bank in enumerate((NEGATIVE, POSITIVE)):
            first[t, tone], count[t, tone] = len(sentences), len(bank[theme])
            sentences.extend(bank[theme])
    return pa.array(sentences, type=pa.string()), first, count


_SENTENCES, _FIRST, _COUNT = _bank()


def compose_comments(theme: np.ndarray, tone: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """One comment per element: ``theme`` indexes THEMES, ``tone`` is 0 negative, 1 positive."""
    n = len(theme)
    pick = _FIRST[theme, tone] + np.floor(rng.uniform(size=n) * _COUNT[theme, tone]).astype(
        np.int64
    )
    sentence = _SENTENCES.take(pa.array(pick))
    closers = pa.array([*CLOSERS[0], *CLOSERS[1]], type=pa.string())
    closer_pick = rng.integers(0, len(CLOSERS[0]), n) + tone * len(CLOSERS[0])
    with_closer = rng.uniform(size=n) < _CLOSER_P
    closer = closers.take(pa.array(closer_pick, mask=~with_closer))
    return pc.binary_join_element_wise(sentence, closer, " ", null_handling="skip")


def _sentence_themes() -> dict[str, str]:
    return {
        sentence: theme
        for bank in (NEGATIVE, POSITIVE)
        for theme, sentences in bank.items()
        for sentence in sentences
    }


def planted_themes(comments: list[str | None]) -> list[str | None]:
    """The theme each demo comment was composed about (None for no comment or another text)."""
    by_sentence = _sentence_themes()
    closers = [f" {c}" for tone in CLOSERS for c in tone]
    out: list[str | None] = []
    for text in comments:
        if text is None:
            out.append(None)
            continue
        for closer in closers:
            if text.endswith(closer):
                text = text[: -len(closer)]
                break
        out.append(by_sentence.get(text))
    return out
