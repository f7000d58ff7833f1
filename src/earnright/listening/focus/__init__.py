"""Focus: the few things each store should fix, with the gap, its worth in NPS and the evidence.

For every unit at a level (stores by default), over a trailing window of periods ending with
``period`` (by default three months), and every driver question:

1. **Gap** — the unit's mean answer minus its peers' (the other units under its nearest ancestor
   whose other units answered at least min_n times, pooled over their answers), with a 95% Welch
   interval from both sides' n and sd. Statistics come from one ``compute_scorecard`` over the
   window (a view of the warehouse restricted to it).
2. **Credible** — n ≥ ``config.listening.min_n`` on both sides and the gap credibly more than a
   ``margin`` below the peers: one-sided Welch t-tests of ``gap ≥ −margin``, Benjamini–Hochberg
   across the unit's drivers at 2.5% (with one driver: the 95% interval lies below −margin).
3. **Worth** — one ``compute_drivers`` fit at the unit's level (shrunk toward its parent) gives
   the driver's importance and standardized beta; ``beta × sd(ltr) / sd(driver)`` is the slope
   in ltr points per answer point; closing the gap moves ltr by slope × gap, the latent score by
   that ÷ (1 − share of 10s) (a top-coded outcome's slope is attenuated by that share), and the
   unit's own ltr distribution (a smooth monotone reading of its answers) turns that shift into
   NPS points (``nps_after_shift``). The fit covers ``importance_window`` periods (a year).
4. **Evidence** — up to ``comments`` comments per item from the unit's responses that scored the
   driver at or below the scale's midpoint and mention its theme (keywords from the question's
   label and a small synonym list) more than any other driver's; one filtered, limited query.

docs/focus.md explains the choices and the precision measured against the demo's planted truth.

The package's modules follow those steps: ``gaps`` (1–2), ``worth`` (3), ``comments`` (4),
``lists`` (the typed results, their sentences and the table) and ``compute`` (``compute_focus``).
"""

from earnright.listening.focus.comments import SYNONYMS, driver_keywords
from earnright.listening.focus.compute import compute_focus
from earnright.listening.focus.gaps import peer_groups
from earnright.listening.focus.lists import (
    FRAME_COLUMNS,
    FocusComment,
    FocusItem,
    FocusList,
    MomentRef,
    focus_frame,
)
from earnright.listening.focus.worth import nps_after_shift, smooth_cdf

__all__ = [
    "FRAME_COLUMNS",
    "SYNONYMS",
    "FocusComment",
    "FocusItem",
    "FocusList",
    "MomentRef",
    "compute_focus",
    "driver_keywords",
    "focus_frame",
    "nps_after_shift",
    "peer_groups",
    "smooth_cdf",
]
