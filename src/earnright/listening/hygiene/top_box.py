"""The ``top_box`` signal: more 10s than the unit's history, its respondents and the typical
unit's change predict.

Each answer's chance of a 10 is standardised on its stratum (``scans``), so a real improvement,
which lifts drivers and comments too, raises the expected count with the observed one. z of the
change in log-odds(observed) − log-odds(expected) from history to now, beyond the typical unit's
change, deflated by the genomic-control factor.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from earnright.listening.hygiene.estimates import (
    Estimate,
    Sides,
    change_z,
    genomic_inflation,
    logit_estimate,
    share,
)
from earnright.listening.hygiene.run import Run, SignalTest, pct

__all__ = ["top_box"]


def _excess(s: Sides, side: str) -> Estimate:
    """Log-odds of the observed 10s (+½ each cell) minus those of the expected; its variance."""
    o, n, e = s.col(side, "tens"), s.col(side, "n"), s.col(side, "expected")
    observed, var = logit_estimate(o, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.log((e + 0.5) / (np.maximum(n - e, 0) + 0.5))
    return observed - expected, var


def top_box(s: Sides, run: Run) -> SignalTest:
    """More top answers than the stratum rates, the history and the typical change predict."""
    n, hn = s.col("cur", "n"), s.col("hist", "n")
    tested = run.enough(n, hn)
    z, move = change_z(_excess(s, "cur"), _excess(s, "hist"), (n, hn), tested)
    inflation = genomic_inflation(z)
    z = z / math.sqrt(inflation)
    # What the unit would show had it kept its history's excess and moved like the typical unit.
    expected = np.clip(share(s.col("cur", "expected"), n), 1e-9, 1 - 1e-9)
    reference = special.expit(special.logit(expected) + _excess(s, "hist")[0] + move)
    observed = share(s.col("cur", "tens"), n)
    shares = {
        key: share(s.col(side, k), s.col(side, m))
        for key, side, k, m in [
            ("hist", "hist", "tens", "n"), ("peers", "peers", "tens", "n"),
            ("drv", "cur", "drv_sum", "drv_n"), ("drv_h", "hist", "drv_sum", "drv_n"),
            ("pos", "cur", "positive", "commented"), ("pos_h", "hist", "positive", "commented"),
        ]
    }  # fmt: skip
    evidence = []
    for i in range(len(s.units)):
        if not tested[i]:
            evidence.append(run.untested(n[i], hn[i], "answers"))
            continue
        evidence.append(
            f"{pct(observed[i])} of {n[i]:,.0f} answers were {run.top} in {run.period}, "
            f"against {pct(shares['hist'][i])} over {run.before} "
            f"({pct(shares['peers'][i])} at peers this {run.grain}); the respondents' driver "
            f"answers, this unit's history and the typical unit's change predict "
            f"{pct(reference[i])}. Driver answers averaged {run.driver(shares['drv'][i])} "
            f"(before: {run.driver(shares['drv_h'][i])}) and "
            f"{pct(shares['pos'][i])} of {s.col('cur', 'commented')[i]:,.0f} comments were "
            f"positive (before: {pct(shares['pos_h'][i])})."
        )
    p = np.where(tested, stats.norm.sf(z), np.nan)
    return SignalTest(
        z, p, n, observed, reference, tested, tested, evidence, {"top_box": inflation}
    )
