"""A unit's page inputs, gathered when its page is first asked and kept while the data do not
change.

Nothing is gathered at start: start-up does not depend on the number of units. The first view
of a unit's page gathers only what the pages of its subtree show
(:func:`earnright.api.site.gather_site` with ``unit``: its parent's scorecard, the races below
it, its subtree's focus lists, comments and incidents) through one
:class:`~earnright.api.computed.Computed` shared by every unit until the data change, so a
level's scorecard, ranking or focus lists are asked of the engine once, whichever unit asked
first, and the next unit of that level costs only its cut. The inputs are kept per period and
unit, the drawn pages per scope and filters (:attr:`SiteCache.pages`); all are dropped when
the warehouse holds a new ingest batch, decision or incident, checked at most every
``refresh`` seconds, so a page may lag new data by that much.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from earnright.api.computed import Computed
from earnright.api.site import SiteInputs, gather_site
from earnright.periods import Grain, choose_period
from earnright.units import read_units

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace
    from earnright.warehouse import Warehouse

__all__ = ["SiteCache", "data_version"]


def data_version(wh: Warehouse) -> tuple[Any, ...]:
    """What changes when the site's numbers may change: batches, decisions, incidents."""
    batches = wh.table("batches").batch_id.max().execute()
    return (batches, wh.count("decisions"), wh.count("incidents"))


class SiteCache:
    """Page inputs per (period, unit), gathered on first ask under ``guard`` (module doc)."""

    def __init__(self, ws: Workspace, guard: Callable[[], Any], refresh: float = 30.0) -> None:
        self.ws, self.guard, self.refresh = ws, guard, refresh
        self.gathering = threading.Lock()  # one gathering at a time: Computed is not shared
        self.version: tuple[Any, ...] | None = None
        self.checked = float("-inf")
        self._reset()

    def _reset(self) -> None:
        self.computed = Computed(self.ws)
        self.entries: dict[tuple[str | None, str], SiteInputs] = {}
        self._units: list[dict[str, Any]] | None = None
        self._reliability: dict[str | None, tuple[str, dict[str, Any] | None]] = {}
        # pages drawn from the current inputs, by unit, period, filters and scope
        self.pages: dict[tuple[Any, ...], str] = {}

    def current(self) -> None:
        """Drop everything kept when the data changed (checked every ``refresh`` seconds)."""
        if time.monotonic() - self.checked < self.refresh:
            return
        with self.gathering:
            if time.monotonic() - self.checked < self.refresh:
                return
            with self.guard(), self.ws.warehouse() as wh:
                version = data_version(wh)
            if version != self.version:
                self._reset()
                self.version = version
            self.checked = time.monotonic()

    def units(self) -> list[dict[str, Any]]:
        """The hierarchy (unit_id, name, level, parent_id), read once per data version."""
        self.current()
        found = self._units
        if found is None:
            with self.guard(), self.ws.warehouse() as wh:
                units = read_units(wh)
            units = units.astype(object).where(units.notna(), None)
            found = self._units = [{str(k): v for k, v in u.items()} for u in
                                   units.to_dict(orient="records")]  # fmt: skip
        return found

    def inputs(self, period: str | None, unit: str) -> SiteInputs:
        """What the pages of ``unit``'s subtree show in ``period`` (None: the latest complete
        month), gathered on first ask."""
        self.current()
        key = (period, unit)
        found = self.entries.get(key)
        if found is None:
            with self.gathering:
                found = self.entries.get(key)
                if found is None:
                    with self.guard():
                        found = gather_site(self.computed, period, None, unit=unit)
                    self.entries[key] = found
        return found

    def reliability(self, period: str | None) -> tuple[str, dict[str, Any] | None]:
        """The month chosen for ``period`` and every moment's indicators in it."""
        self.current()
        found = self._reliability.get(period)
        if found is None:
            with self.gathering, self.guard():
                with self.ws.warehouse() as wh:
                    label = choose_period(wh, Grain.month, period).label
                kept = None
                if self.ws.config.journey.indicators():
                    kept = self.computed.reliability(label)
                found = self._reliability[period] = (label, kept)
        return found
