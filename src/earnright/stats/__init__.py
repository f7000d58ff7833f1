"""Shared statistics: the formulas every analytics package finishes its aggregates with.

- ``intervals``: Wilson, adjusted-Wald NPS and Student-t intervals from sufficient statistics,
  and the Welch–Satterthwaite degrees of freedom of a difference of two means.
- ``multiplicity``: Benjamini–Hochberg q-values.
- ``normal``: normal quantiles (``Z95``, ``z_quantile``).
"""

from earnright.stats.intervals import (
    mean_interval,
    mean_sd,
    nps_interval,
    welch_dof,
    wilson_interval,
)
from earnright.stats.multiplicity import benjamini_hochberg
from earnright.stats.normal import Z95, z_quantile

__all__ = [
    "Z95",
    "benjamini_hochberg",
    "mean_interval",
    "mean_sd",
    "nps_interval",
    "welch_dof",
    "wilson_interval",
    "z_quantile",
]
