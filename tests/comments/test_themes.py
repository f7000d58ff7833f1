"""Theme assignment recovers the demo company's planted themes; the themes file is checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from earnright.comments.themes import (
    Codeframe,
    assign_themes,
    fragments,
    load_themes,
    sentences,
    taxonomy_version,
)
from earnright.config import Theme
from earnright.demo.comments import CLOSERS, DEMO_THEMES, NEGATIVE, POSITIVE, planted_themes
from earnright.errors import ConfigError

THEMES = [Theme.model_validate(t) for t in DEMO_THEMES]


def _bank() -> list[str]:
    """Every demo comment there can be: each template sentence alone and with each closer."""
    texts = []
    for tone, bank in enumerate((NEGATIVE, POSITIVE)):
        for group in bank.values():
            for s in group:
                texts += [s, *(f"{s} {c}" for c in CLOSERS[tone])]
    return texts


@pytest.fixture(scope="module")
def frame() -> Codeframe:
    return Codeframe.of(THEMES)


def test_the_planted_truth_reads_back_every_template() -> None:
    texts = _bank()
    truth = planted_themes([*texts, None, "something else"])
    assert truth[-2:] == [None, None] and None not in truth[:-2]
    assert truth[0] == "staff" and {t for t in truth if t} == {t["name"] for t in DEMO_THEMES}


def test_the_planted_themes_are_recovered_per_theme(frame: Codeframe) -> None:
    """Precision and recall per theme against the planted truth over the whole bank (the
    constants were tuned on half of it: bench/themes.py reports the other half)."""
    texts = _bank()
    truth = np.array(planted_themes(texts), dtype=object)
    found = assign_themes(texts, frame)
    for theme in DEMO_THEMES:
        name = theme["name"]
        mine = np.array([name in [m.name for m in ms] for ms in found])
        real = truth == name
        precision = (mine & real).sum() / max(mine.sum(), 1)
        recall = (mine & real).sum() / real.sum()
        assert precision >= 0.75 and recall >= 0.6, (name, precision, recall)
    made = sum(len(ms) for ms in found)
    right = sum(t in [m.name for m in ms] for ms, t in zip(found, truth, strict=True))
    assert right / made >= 0.9 and right / len(texts) >= 0.8


def test_a_comment_gets_zero_one_or_several_themes_most_confident_first(
    frame: Codeframe,
) -> None:
    two = "The queue at the till was far too long. The staff were rude and ignored me."
    clauses = "The queue at the till was far too long, and the cashier was rude."
    one = "Half of what I came for was out of stock."
    none = ["Thank you!", "", None, "   "]
    found = assign_themes([two, clauses, one, *none], frame)
    assert {m.name for m in found[0]} == {"wait", "staff"}
    assert {m.name for m in found[1]} == {"wait", "staff"}
    assert [m.name for m in found[2]] == ["stock"]
    assert found[3:] == [[], [], [], []]
    for ms in found:
        assert [m.confidence for m in ms] == sorted((m.confidence for m in ms), reverse=True)
        assert all(0.5 <= m.confidence <= 1.0 for m in ms)


def test_the_result_of_a_comment_does_not_depend_on_the_others(frame: Codeframe) -> None:
    texts = _bank()[:40]
    alone = [assign_themes([t], frame)[0] for t in texts[:5]]
    assert assign_themes(texts, frame)[:5] == alone


def test_sentences_split_on_stops_and_but() -> None:
    assert sentences("Quick checkout but the floor was dirty. Thanks!\nBye") == [
        "Quick checkout", "the floor was dirty.", "Thanks!", "Bye",
    ]  # fmt: skip
    assert sentences(None) == [] and sentences("  ") == []
    assert fragments("Long queue, and the cashier was rude.") == [
        "Long queue, and the cashier was rude.", "the cashier was rude.",
    ]  # fmt: skip


def test_the_version_changes_with_the_themes() -> None:
    changed = [*THEMES[:-1], THEMES[-1].model_copy(update={"examples": ["an app"]})]
    assert taxonomy_version(THEMES) == taxonomy_version(list(THEMES))
    assert taxonomy_version(THEMES) != taxonomy_version(changed)
    assert taxonomy_version(THEMES) != taxonomy_version(THEMES, "another model")


def test_a_themes_file_reads_and_bad_ones_name_the_file_and_the_theme(tmp_path: Path) -> None:
    good = tmp_path / "themes.toml"
    good.write_text(
        '[[themes]]\nname = "waiting"\ndescription = "queues at the till"\n'
        'examples = ["long line"]\n\n[[themes]]\nname = "staff"\ndescription = "rude staff"\n'
    )
    assert [t.name for t in load_themes(good)] == ["waiting", "staff"]
    cases = {
        "": "no [[themes]] tables",
        '[[themes]]\nname = "a"\n': "themes[0]",
        '[[themes]]\nname = "a"\ndescription = "x"\n[[themes]]\nname = "b"\n': "themes[1]",
        '[[themes]]\nname = "a"\ndescription = "x"\nsize = 3\n': "themes[0]",
        '[[themes]]\nname = "a"\ndescription = "x"\n[[themes]]\nname = "a"\ndescription = "y"\n':
            "named twice",
        "[[themes]\n": "not valid TOML",
    }  # fmt: skip
    for text, said in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=r"bad\.toml") as caught:
            load_themes(bad)
        assert said in str(caught.value), (text, str(caught.value))
    with pytest.raises(ConfigError, match="no such themes file"):
        load_themes(tmp_path / "missing.toml")
