"""Choosing detector parameters in-sample and leave-one-group-out, on a hand-made corpus."""

from __future__ import annotations

import numpy as np
import pytest
from bench.nabscore import CostProfile, LabelledSeries, choose, leave_one_group_out, score_corpus

STANDARD = CostProfile("standard", 1.0, 0.11, 1.0)
LOW_FN = CostProfile("reward_low_FN_rate", 1.0, 0.11, 2.0)
N, LEFT = 100, 50  # rows per file; every file has one window, rows 50-59


def corpus() -> list[LabelledSeries]:
    stamps = np.arange(N).astype("datetime64[h]")
    return [
        LabelledSeries(f"{g}/f.csv", stamps, np.zeros(N), ((LEFT, LEFT + 9),))
        for g in ("g1", "g2", "g3")
    ]


def run(detects: set[str]) -> dict[str, np.ndarray]:
    """A candidate's scores: 1 at the window's left edge of the groups it detects, else 0."""
    out = {}
    for x in corpus():
        scores = np.zeros(N)
        if x.group in detects:
            scores[LEFT] = 1.0
        out[x.name] = scores
    return out


# a finds g1 and g2, b only g3, c g1 and g3. On all three groups a and c tie (first wins: a);
# without g1, all tie (a); without g2, c is best and misses g2; without g3, a is best and
# misses g3. So in-sample finds 2 of 3 windows, and LOGO only 1 of 3.
RUNS = {"a": run({"g1", "g2"}), "b": run({"g3"}), "c": run({"g1", "g3"})}


def test_in_sample_choice_is_the_best_on_every_group_ties_to_the_first() -> None:
    choice = choose(corpus(), RUNS, [STANDARD, LOW_FN], criterion="in_sample")
    assert (choice.candidate, choice.held_out) == ("a", None)
    assert choice.trained_on == ("g1", "g2", "g3")
    assert choice.thresholds == {"standard": 1.0, "reward_low_FN_rate": 1.0}
    assert choice.train_score == pytest.approx(100 * (1 + 3) / 6)  # 2 found, 1 missed


def test_each_held_out_group_is_scored_with_what_the_others_chose() -> None:
    choices, report = leave_one_group_out(corpus(), RUNS, [STANDARD, LOW_FN])
    assert [(c.held_out, c.candidate) for c in choices] == [("g1", "a"), ("g2", "c"), ("g3", "a")]
    assert choices[1].trained_on == ("g1", "g3")
    standard = report.profiles[0]
    assert (standard.detected, standard.windows, standard.false_positives) == (1, 3, 0)
    assert standard.score == pytest.approx(100 * (1 - 2 + 3) / 6)  # null −3, perfect +3
    low_fn = report.profiles[1]
    assert low_fn.score == pytest.approx(100 * (1 - 4 + 6) / 9)  # null −6, perfect +3
    in_sample = score_corpus(corpus(), RUNS["a"], [STANDARD])
    assert in_sample.score("standard") > standard.score  # the in-sample figure flatters


def test_a_held_out_groups_own_scores_never_change_its_choice() -> None:
    cheat = {name: dict(scores) for name, scores in RUNS.items()}
    cheat["b"]["g2/f.csv"] = run({"g2"})["g2/f.csv"]  # b now finds g2 too
    before, _ = leave_one_group_out(corpus(), RUNS, [STANDARD])
    after, _ = leave_one_group_out(corpus(), cheat, [STANDARD])
    assert before[1] == after[1]  # g2 held out: chosen on g1 and g3 only


def planted(hits: dict[str, float], false: dict[str, float]) -> dict[str, np.ndarray]:
    """Scores with a hit of ``hits[g]`` at the window's left edge and a false positive of
    ``false[g]`` at row 20 (after probation, before the window: it costs the full 0.11)."""
    out = {}
    for x in corpus():
        scores = np.zeros(N)
        scores[LEFT], scores[20] = hits.get(x.group, 0.0), false.get(x.group, 0.0)
        out[x.name] = scores
    return out


def test_cross_validated_choice_prefers_a_threshold_that_transfers() -> None:
    """ "shifty" finds every window at a threshold of 0.3 tuned on all three groups (in-sample
    (3 − 0.22 + 3)/6 = 96.3) but its hits sit at another height in each group: chosen on two
    groups, the threshold misses g3 ((0.89 + 0.89 − 1 + 3)/6 = 63.0). "steady" finds g1 and g2
    at 1.0 wherever its threshold was chosen (66.7 both ways)."""
    runs = {
        "shifty": planted({"g1": 0.9, "g2": 0.6, "g3": 0.3}, {"g1": 0.5, "g2": 0.3, "g3": 0.1}),
        "steady": run({"g1", "g2"}),
    }
    in_sample = choose(corpus(), runs, [STANDARD], criterion="in_sample")
    assert (in_sample.candidate, in_sample.train_score) == ("shifty", pytest.approx(578 / 6))
    assert in_sample.thresholds == {"standard": 0.3}
    crossed = choose(corpus(), runs, [STANDARD])  # cross-validated by default
    assert (crossed.candidate, crossed.train_score) == ("steady", pytest.approx(400 / 6))
    _, shifty = leave_one_group_out(corpus(), {"shifty": runs["shifty"]}, [STANDARD])
    assert shifty.score("standard") == pytest.approx(100 * (0.78 + 3) / 6)
    with pytest.raises(ValueError, match="criterion"):
        choose(corpus(), runs, [STANDARD], criterion="best")
