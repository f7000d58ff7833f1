"""Listening: what customers tell us, per unit and period, credibly enough to act on.

- ``scorecard``: per unit and period, NPS, CSAT and driver means with n and 95% intervals;
- ``credibility``: which scores are credible, and the n each would need;
- ``changes``: which units' scores moved by more than their sampling noise;
- ``ranking``: fair ranks with intervals (shrinkage toward the peers, ``shrinkage``);
- ``drivers``: key-driver importance (``shapley``: LMG, relative weights; ``clusters``: cluster
  statistics, shrinkage toward the parent, bootstrap);
- ``focus``: the few drivers each unit should fix, with the comments behind them;
- ``hygiene``: survey-hygiene warnings (gaming, cherry-picking, quick responses).

``drivers``, ``focus`` and ``hygiene`` are packages (one module per step or signal) whose
``__init__`` exports their public names. The unit hierarchy is read through ``earnright.units``,
the shared formulas live in ``earnright.stats``. Each module's ``__all__`` is its public surface.
"""

__all__ = [
    "changes",
    "clusters",
    "credibility",
    "drivers",
    "focus",
    "hygiene",
    "ranking",
    "scorecard",
    "shapley",
    "shrinkage",
]
