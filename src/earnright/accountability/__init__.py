"""Accountability ("prove it"): which issues were decided, by whom, with what authority, what
was done, and whether it worked.

- :mod:`~earnright.accountability.register` — the issue register: issues from files (kind
  ``issues``), from people (``earnright issue add``) and from the product (focus items and
  early-warning incidents, ``earnright issues-sync``);
- :mod:`~earnright.accountability.rights` — decision rights from the config: may NAME decide
  this alone, and if not, who can;
- :mod:`~earnright.accountability.decisions` — decisions and commitments, append-only; the
  weekly review agenda per owner;
- :mod:`~earnright.accountability.metrics` — the weekly per-unit sufficient statistics of the
  metric an action targets (the engine scans, Python finishes);
- :mod:`~earnright.accountability.outcomes` — each action's effect by difference-in-differences
  against matched units that did not act, its verdict, and the pooled effect per kind.

docs/accountability.md explains the method and its limits.
"""

__all__: list[str] = []
