"""Lexicon features follow VADER's rules: valences, negation, boosters and "but"."""

from __future__ import annotations

from earnright.comments.lexicon import lexicon_features


def test_negation_flips_and_boosters_raise_the_valence() -> None:
    good, not_good, very_good, blank = lexicon_features(["good", "not good", "very good", ""])
    assert good[0] > 0 > not_good[0]  # compound
    assert very_good[0] > good[0]
    assert not blank.any()


def test_what_follows_but_weighs_more() -> None:
    first, second = lexicon_features(["The food was good but the service was awful",
                                      "The service was awful but the food was good"])  # fmt: skip
    assert first[0] < 0 < second[0]


def test_odd_input_gives_zero_features() -> None:
    for row in lexicon_features([None, "   ", "1234 !!", "🙂"]):
        assert not row[:4].any()
