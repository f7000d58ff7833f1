"""Discovery proposes the theme the codeframe lacks, from the comments that fit no theme."""

from __future__ import annotations

import numpy as np

from earnright.comments.discovery import discover_themes, typical_words
from earnright.comments.themes import assign_themes
from earnright.config import Theme
from earnright.demo.comments import CLOSERS, DEMO_THEMES, NEGATIVE, POSITIVE, planted_themes


def _bank() -> list[str]:
    texts = []
    for tone, bank in enumerate((NEGATIVE, POSITIVE)):
        for group in bank.values():
            for s in group:
                texts += [s, *(f"{s} {c}" for c in CLOSERS[tone][:2])]
    return texts


def test_a_theme_left_out_of_the_codeframe_is_proposed_with_its_words() -> None:
    """Drop one planted theme from the codeframe: among the comments that then fit no theme,
    the proposals made mostly of that theme's comments hold most of them, and the largest is
    named by words of its comments (a person may merge several proposals into one theme)."""
    for missing in ("cleanliness", "app"):
        kept = [Theme.model_validate(t) for t in DEMO_THEMES if t["name"] != missing]
        texts = _bank()
        found = assign_themes(texts, kept)
        bare = [t for t, ms in zip(texts, found, strict=True) if not ms]
        truth = np.array(planted_themes(bare), dtype=object)
        proposals = discover_themes(bare, min_size=5)
        assert proposals, missing
        mostly = [p for p in proposals if (truth[p.members] == missing).mean() > 0.5]
        members = np.concatenate([p.members for p in mostly]) if mostly else np.array([], int)
        purity = (truth[members] == missing).mean()
        recall = (truth[members] == missing).sum() / (truth == missing).sum()
        assert purity >= 0.7 and recall >= 0.5, (missing, purity, recall)
        best = max(mostly, key=lambda p: p.size)
        own = " ".join(NEGATIVE[missing] + POSITIVE[missing]).lower()
        assert best.words and all(w in own for w in best.words[:2]), best.words
        assert best.examples and all(e in bare for e in best.examples)


def test_typical_words_are_those_over_represented_in_the_group() -> None:
    group = ["the floor was dirty", "dirty toilets", "a dirty shop floor", "the store was nice"]
    rest = ["the queue was long", "the store was busy", "long wait at the till", *group]
    assert typical_words(group, rest)[:2] == ["dirty", "floor"]


def test_too_few_comments_give_no_proposal() -> None:
    assert discover_themes(["dirty floor", "dirty shop", None, ""], min_size=5) == []
