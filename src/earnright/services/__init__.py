"""Services: the orchestration every surface shares (the CLI, the demo, notebooks, a web app).

A service composes analytics and the warehouse into one job and reports through callbacks
(``say`` for a sentence, ``progress`` for ``(stage, done, total)``), never to a terminal:

- :mod:`~earnright.services.status`: what a workspace holds (rows, batches, quarantine);
- :mod:`~earnright.services.watch`: one early-warning cycle (ingest the inbox, detect,
  deliver) and the loop that repeats it;
- :mod:`~earnright.services.report`: the scorecard page of a workspace;
- :mod:`~earnright.services.demo`: the demo company end to end.
"""

from __future__ import annotations

__all__: list[str] = []
