"""Choosing a detector's parameters on NAB without flattering it: in-sample and LOGO.

A *run* is one candidate parameter set's scores for every file of the corpus (each file scored
once per candidate). Two ways to choose among candidates and report what the choice is worth:

- **in-sample**: the candidate chosen on the whole corpus, with each profile's threshold
  optimised on the whole corpus, scored on the same corpus, as NAB reports a detector;
- **leave-one-group-out (LOGO)**: for each group (NAB's folders), the candidate and each
  profile's threshold are chosen on the *other* groups only, and the held-out group is scored
  with them. The held-out groups' detections are put together and scored as one corpus, so the
  figure is what the selection procedure would score on a kind of series it never saw.

A candidate is ranked on the standard profile (one parameter set ships as the default), by
default cross-validated across the training groups (``criterion="logo"``); the thresholds are
chosen per profile, as NAB does. Ties go to the earlier candidate in the order given, so list
the simpler or current default first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .scoring import (
    CostProfile,
    LabelledSeries,
    NabReport,
    score_at,
    score_corpus,
)

__all__ = ["Choice", "choose", "leave_one_group_out"]

SELECTOR = "standard"
Runs = Mapping[str, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Choice:
    """A candidate and per-profile thresholds chosen on ``trained_on`` groups."""

    held_out: str | None  # the group left out (None: chosen on every group)
    trained_on: tuple[str, ...]
    candidate: str
    thresholds: dict[str, float]
    train_score: float  # the standard score of the candidate on the training files


def choose(
    corpus: Sequence[LabelledSeries],
    runs: Runs,
    profiles: Sequence[CostProfile],
    held_out: str | None = None,
    criterion: str = "logo",
) -> Choice:
    """The best candidate on ``corpus`` minus the ``held_out`` group, with its thresholds.

    ``criterion`` ranks the candidates on the training groups: ``"in_sample"`` by their
    standard score with the threshold optimised on all of them; ``"logo"`` (cross-validated)
    by their standard score when each training group is scored at the threshold the other
    training groups chose, so a candidate whose threshold means the same on every kind of
    series wins over one that needs its threshold tuned to the files it is scored on.
    """
    if criterion not in ("logo", "in_sample"):
        raise ValueError(f"criterion {criterion!r}: 'logo' or 'in_sample'")
    train = [x for x in corpus if x.group != held_out]
    selector = [p for p in profiles if p.name == SELECTOR]
    best, best_score = "", -np.inf
    for name, scores in runs.items():
        if criterion == "logo":
            _, cv = leave_one_group_out(train, {name: scores}, selector)
            score = cv.score(SELECTOR)
        else:
            score = score_corpus(train, scores, selector).score(SELECTOR)
        if score > best_score:
            best, best_score = name, score
    report = score_corpus(train, runs[best], profiles)
    return Choice(
        held_out=held_out,
        trained_on=tuple(sorted({x.group for x in train})),
        candidate=best,
        thresholds={p.profile: p.threshold for p in report.profiles},
        train_score=best_score,
    )


def leave_one_group_out(
    corpus: Sequence[LabelledSeries],
    runs: Runs,
    profiles: Sequence[CostProfile],
    criterion: str = "in_sample",
) -> tuple[list[Choice], NabReport]:
    """Each group scored with the candidate and thresholds chosen on the other groups.

    The candidate is chosen on the other groups by ``criterion`` (see ``choose``; with
    ``"logo"`` the choice is itself cross-validated inside the other groups: nested). With one
    candidate, only the thresholds are chosen out of the group.

    Returns the choices (one per group) and the corpus report of the held-out detections; a
    profile's ``threshold`` in that report is 0.5 on 0/1 detections (each group had its own).
    """
    groups = sorted({x.group for x in corpus})
    if len(runs) == 1:
        criterion = "in_sample"  # nothing to rank: skip the inner folds
    choices = [choose(corpus, runs, profiles, held_out=g, criterion=criterion) for g in groups]
    by_group = {c.held_out: c for c in choices}
    results = []
    for profile in profiles:
        detections = {}
        for x in corpus:
            choice = by_group[x.group]
            threshold = choice.thresholds[profile.name]
            detections[x.name] = (runs[choice.candidate][x.name] >= threshold).astype(float)
        results.append(score_at(corpus, detections, profile, 0.5))
    rows = sum(len(x.values) for x in corpus)
    return choices, NabReport(files=len(corpus), rows=rows, profiles=results)
