"""The ``quick_response`` signal: a share of responses soon after a contact far above the peers'.

The share of survey responses given within ``quick_minutes`` of the customer's latest invitation
or purchase at the unit, against the other units' pooled share: Fisher's exact test, and a share
at least ``min_ratio`` × the peers'.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from earnright.listening.hygiene.estimates import FloatArray, Sides, share
from earnright.listening.hygiene.run import Run, SignalTest, pct
from earnright.stats import benjamini_hochberg

__all__ = ["fisher_p", "quick_response"]


def fisher_p(k: FloatArray, m: FloatArray, peer_k: FloatArray, peer_m: FloatArray) -> FloatArray:
    """One-sided Fisher exact p: P(X ≥ k), X ~ hypergeometric(m + peer_m, k + peer_k, m)."""
    return np.clip(stats.hypergeom.sf(k - 1, m + peer_m, k + peer_k, m), 0.0, 1.0)


def quick_response(s: Sides, run: Run, minutes: float, min_ratio: float, fdr: float) -> SignalTest:
    """Peers are pooled; a second pass leaves out the units flagged by the first."""
    k, m = s.col("cur", "quick"), s.col("cur", "timed")
    keep = np.ones(len(k), dtype=bool)
    for _ in range(2):
        peer_k, peer_m = (k * keep).sum() - k * keep, (m * keep).sum() - m * keep
        tested = (m >= run.min_n) & (peer_m >= run.min_n)
        p = np.where(tested, fisher_p(k, m, peer_k, peer_m), np.nan)
        observed, reference = share(k, m), share(peer_k, peer_m)
        eligible = observed >= min_ratio * reference
        keep = ~(tested & (benjamini_hochberg(p) <= fdr) & eligible)
    before = share(s.col("hist", "quick"), s.col("hist", "timed"))
    evidence = [
        f"{k[i]:,.0f} of {m[i]:,.0f} survey responses ({pct(observed[i])}) came within "
        f"{minutes:g} minutes of the customer's latest invitation or purchase at this unit in "
        f"{run.period}, against {pct(reference[i])} of {peer_m[i]:,.0f} at peers and "
        f"{pct(before[i])} here over {run.before}."
        if tested[i]
        else f"Not tested: {m[i]:,.0f} responses here and {peer_m[i]:,.0f} at peers in "
        f"{run.period} follow an invitation or purchase (fewer than {run.min_n})."
        for i in range(len(k))
    ]
    z = np.clip(stats.norm.isf(p), -8.0, 38.0)
    return SignalTest(z, p, m, observed, reference, tested, eligible, evidence)
