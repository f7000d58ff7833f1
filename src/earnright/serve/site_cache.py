"""The report site's inputs, computed once and kept while the data do not change.

Gathering the site (:func:`earnright.api.site.gather_site`) computes every unit's scores,
ranking, focus list, reliability and incidents: seconds of work. The server keeps the result
per period and serves every page from it; it gathers again when the warehouse holds a new
ingest batch, decision or incident, checked at most every ``refresh`` seconds, so a page may
lag new data by that much.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earnright.api.site import SiteInputs, gather_site

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace
    from earnright.warehouse import Warehouse

__all__ = ["SiteCache", "data_version"]


def data_version(wh: Warehouse) -> tuple[Any, ...]:
    """What changes when the site's numbers may change: batches, decisions, incidents."""
    batches = wh.table("batches").batch_id.max().execute()
    return (batches, wh.count("decisions"), wh.count("incidents"))


@dataclass
class _Entry:
    inputs: SiteInputs
    version: tuple[Any, ...]
    checked: float


class SiteCache:
    """Site inputs per period (None: the default period), gathered under ``guard``."""

    def __init__(self, ws: Workspace, guard: Callable[[], Any], refresh: float = 30.0) -> None:
        self.ws, self.guard, self.refresh = ws, guard, refresh
        self.entries: dict[str | None, _Entry] = {}
        self.gathering = threading.Lock()
        # pages drawn from the current inputs, by unit, period, filters and scope; emptied
        # whenever the inputs are gathered again
        self.pages: dict[tuple[Any, ...], str] = {}

    def warm(self) -> threading.Thread:
        """Gather the default period's inputs in the background (the server answers at once;
        a page asked for before they are ready waits for them)."""
        thread = threading.Thread(target=self.inputs, args=(None,), daemon=True)
        thread.start()
        return thread

    def inputs(self, period: str | None) -> SiteInputs:
        entry = self.entries.get(period)
        if entry is not None and time.monotonic() - entry.checked < self.refresh:
            return entry.inputs
        with self.gathering:  # one gathering at a time; the others wait for its result
            entry = self.entries.get(period)
            if entry is not None and time.monotonic() - entry.checked < self.refresh:
                return entry.inputs
            with self.guard(), self.ws.warehouse() as wh:
                version = data_version(wh)
            if entry is None or entry.version != version:
                with self.guard():
                    inputs = gather_site(self.ws, period, None)
                entry = _Entry(inputs, version, 0.0)
                self.pages = {}
            entry.checked = time.monotonic()
            self.entries[period] = entry
            return entry.inputs
