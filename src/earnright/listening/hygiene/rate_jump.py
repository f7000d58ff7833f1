"""The ``rate_jump`` signal: response rate and NPS both rose beyond the typical unit's change.

Two z-tests (log-odds of responding; NPS with its multinomial variance) joined by the
intersection–union test, p = max(p_rate, p_nps).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from earnright.listening.hygiene.estimates import (
    Sides,
    change_z,
    genomic_inflation,
    logit_estimate,
    nps_estimate,
    share,
)
from earnright.listening.hygiene.run import Run, SignalTest, pct, points

__all__ = ["rate_jump"]


def rate_jump(s: Sides, run: Run) -> SignalTest:
    """Response rate and NPS both up beyond the typical change: p = max of the two (IUT)."""
    inv, hinv = s.col("cur", "invitations"), s.col("hist", "invitations")
    n, hn = s.col("cur", "n"), s.col("hist", "n")
    tested = run.enough(np.fmin(inv, n), np.fmin(hinv, hn))
    rate = [
        logit_estimate(
            np.fmin(s.col(side, "responses"), s.col(side, "invitations")),
            s.col(side, "invitations"),
        )
        for side in ("cur", "hist")
    ]
    z_rate = change_z(rate[0], rate[1], (inv, hinv), tested)[0]
    z_nps = change_z(nps_estimate(s, "cur"), nps_estimate(s, "hist"), (n, hn), tested)[0]
    lam_rate, lam_nps = genomic_inflation(z_rate), genomic_inflation(z_nps)
    z_rate, z_nps = z_rate / math.sqrt(lam_rate), z_nps / math.sqrt(lam_nps)
    # Intersection–union test: "both rose" is accepted only when each one-sided test rejects.
    p = np.fmax(stats.norm.sf(z_rate), stats.norm.sf(z_nps))
    observed = share(s.col("cur", "responses"), inv)
    reference = share(s.col("hist", "responses"), hinv)
    peer_rate = share(s.col("peers", "responses"), s.col("peers", "invitations"))
    nps, nps_h, nps_p = (100 * nps_estimate(s, side)[0] for side in ("cur", "hist", "peers"))
    evidence = [
        f"Response rate {pct(observed[i])} ({s.col('cur', 'responses')[i]:,.0f} of "
        f"{inv[i]:,.0f} invitations) in {run.period} against {pct(reference[i])} over "
        f"{run.before}, while NPS went from {nps_h[i]:+.0f} to {nps[i]:+.0f} (peers this "
        f"{run.grain}: rate {pct(peer_rate[i])}, NPS {points(nps_p[i])})."
        if tested[i]
        else run.untested(min(inv[i], n[i]), min(hinv[i], hn[i]), "invitations or answers")
        for i in range(len(inv))
    ]
    inflation = {"rate_jump_rate": lam_rate, "rate_jump_nps": lam_nps}
    everyone = np.ones(len(inv), dtype=bool)
    statistic = np.fmin(z_rate, z_nps)
    return SignalTest(statistic, p, inv, observed, reference, tested, everyone, evidence, inflation)
