"""The Numenta Anomaly Benchmark's scoring, and choosing detector parameters on it.

Benchmark code, not product code: ``earnright detect`` never scores; ``bench/nab.py`` measures
the anomaly detector with it (docs/anomaly.md). ``scoring``: NAB's scoring method (windows,
probation, cost profiles, normalisation); ``select``: in-sample and leave-one-group-out choice
of a detector's parameters. Run as a bench, ``bench/`` is on ``sys.path`` (``import nabscore``);
the tests import ``bench.nabscore``.
"""

from .scoring import (
    CostProfile,
    FileScore,
    LabelledSeries,
    NabReport,
    ProfileScore,
    load_corpus,
    load_profiles,
    null_scores,
    perfect_scores,
    probation_length,
    scaled_sigmoid,
    score_at,
    score_corpus,
    score_file,
    sweep_thresholds,
    windowed_gaussian_scores,
)
from .select import Choice, choose, leave_one_group_out

__all__ = [
    "Choice",
    "CostProfile",
    "FileScore",
    "LabelledSeries",
    "NabReport",
    "ProfileScore",
    "choose",
    "leave_one_group_out",
    "load_corpus",
    "load_profiles",
    "null_scores",
    "perfect_scores",
    "probation_length",
    "scaled_sigmoid",
    "score_at",
    "score_corpus",
    "score_file",
    "sweep_thresholds",
    "windowed_gaussian_scores",
]
