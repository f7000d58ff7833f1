"""Survey hygiene: evidence that a unit's answers may have been solicited or manipulated.

Three signals, each a one-sided test per unit in one period with a p-value, a Benjamini–Hochberg
q-value across the units tested and a plain sentence of evidence. A flag is evidence to look at,
never a finding: every signal has innocent explanations (docs/hygiene.md).

- ``top_box``: more 10s than the unit's history, its respondents and the typical unit's change
  predict. Each answer's chance of a 10 is standardised on its stratum (the respondent's mean
  driver answer × comment tone; rates pooled over every unit's history), so a real improvement,
  which lifts drivers and comments too, raises the expected count with the observed one. z of
  the change in log-odds(observed) − log-odds(expected) from history to now, beyond the typical
  unit's change.
- ``quick_response``: the share of survey responses given within ``quick_minutes`` of the
  customer's latest invitation or purchase at the unit (an as-of join in the engine) is far
  above the peers' share: Fisher's exact test, and a share at least ``min_ratio`` × the peers'.
- ``rate_jump``: response rate and NPS both rose from history to now beyond the typical unit's
  change: two z-tests (log-odds of responding; NPS with its multinomial variance) joined by the
  intersection–union test, p = max(p_rate, p_nps).

The typical change is a weighted median over the units tested, so the few units sought do not
shift it. z-statistics are divided by √λ, the genomic-control factor
(Devlin & Roeder 1999): λ = max(1, median z² ÷ 0.455) over at least 10 units tested.

The package's modules: ``scans`` (the engine's sums), ``estimates`` (numpy: changes, λ), ``run``
(one call's settings and wording), one module per signal (``top_box``, ``quick_response``,
``rate_jump``), ``report`` (the results) and ``check`` (``check_hygiene``).
"""

from earnright.listening.hygiene.check import check_hygiene
from earnright.listening.hygiene.estimates import (
    Sides,
    change_z,
    genomic_inflation,
    logit_estimate,
    nps_estimate,
    weighted_median,
)
from earnright.listening.hygiene.quick_response import fisher_p
from earnright.listening.hygiene.report import HYGIENE_COLUMNS, HygieneFlag, HygieneReport, Signal
from earnright.listening.hygiene.scans import NEGATIVE_WORDS, POSITIVE_WORDS, comment_tone

__all__ = [
    "HYGIENE_COLUMNS",
    "NEGATIVE_WORDS",
    "POSITIVE_WORDS",
    "HygieneFlag",
    "HygieneReport",
    "Sides",
    "Signal",
    "change_z",
    "check_hygiene",
    "comment_tone",
    "fisher_p",
    "genomic_inflation",
    "logit_estimate",
    "nps_estimate",
    "weighted_median",
]
