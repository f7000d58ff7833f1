"""The server's services: every read and write a route makes, seen through a :class:`Scope`.

Each function takes the signed-in person's scope first and returns only what it allows: the
same numbers as the command line's JSON, with the rows outside the scope left out. An object
outside the scope raises :class:`OutOfScope` (answered 404, as an unknown id is); a verb the
role lacks raises :class:`NotAllowed` (403).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import ibis

from earnright.errors import QueryError
from earnright.periods import Grain
from earnright.report.site import SiteIndex, page_data, subtree
from earnright.serve import users
from earnright.serve.filters import (
    filter_period,
    filter_segment,
    filter_theme,
    names_part,
    open_within,
    period_window,
    segment_part,
)
from earnright.serve.scope import Role, Scope, scope_for
from earnright.serve.segments import segment_rank, segment_scorecard
from earnright.serve.site_cache import SiteCache
from earnright.units import read_units

if TYPE_CHECKING:
    from earnright.api.workspace import Workspace
    from earnright.warehouse import Warehouse

__all__ = ["NotAllowed", "OutOfScope", "Services"]


class OutOfScope(QueryError):
    """Not there for this person: unknown, or outside their scope (404 either way)."""


class NotAllowed(QueryError):
    """The person's role does not allow this verb (403)."""


COMMENT_LIMIT = 200


class Services:
    """The workspace behind the server. On DuckDB every warehouse access is serialised (one
    process owns the file); on PostgreSQL requests run side by side."""

    def __init__(self, ws: Workspace, refresh: float = 30.0) -> None:
        self.ws = ws
        self.single = ws.config.warehouse.url.startswith("duckdb")
        self._lock = threading.RLock()
        self._local = threading.local()
        self.site = SiteCache(ws, self.guard, refresh)
        self._subtrees: dict[str, tuple[float, list[str]]] = {}  # unit -> (read at, subtree)

    def guard(self) -> Any:
        return self._lock if self.single else nullcontext()

    @contextmanager
    def warehouse(self, read_only: bool = True) -> Iterator[Warehouse]:
        """The warehouse for one short read or write. DuckDB: opened for the block, under the
        process's lock. PostgreSQL: each worker thread keeps its own connection open."""
        if self.single:
            with self._lock, self.ws.warehouse(read_only=read_only) as opened:
                yield opened
            return
        kept: Warehouse | None = getattr(self._local, "wh", None)
        if kept is None:
            kept = self._local.wh = self.ws.location.warehouse(read_only=False)
        try:
            yield kept
        except BaseException:
            self._local.wh = None  # a connection in an unknown state is not reused
            kept.close()
            raise

    # -- people ------------------------------------------------------------------------------
    def scope(self, user: dict[str, Any]) -> Scope:
        """The person's scope; a manager's subtree is read once per ``refresh`` seconds (the
        hierarchy changes only with an ingest), not on every request."""
        below: list[str] = []
        if user.get("unit_id"):
            unit, now = str(user["unit_id"]), time.monotonic()
            kept = self._subtrees.get(unit)
            if kept is None or now - kept[0] >= self.site.refresh:
                with self.warehouse() as wh:
                    units = read_units(wh)
                kept = self._subtrees[unit] = (now, subtree(_rows(units), unit))
            below = kept[1]
        return scope_for(user, below)

    # -- pages ---------------------------------------------------------------------------------
    def unit_page(self, scope: Scope, unit_id: str, period: str | None) -> dict[str, Any]:
        """The unit's page (the report site's JSON twin) cut to the scope; links are the
        server's. Its inputs are gathered when first asked (:mod:`~earnright.serve.site_cache`):
        a unit outside the scope or unknown costs no computation."""
        known = {str(u["unit_id"]) for u in self.site.units()}
        if unit_id not in known or not scope.sees_unit(unit_id):
            raise OutOfScope(f"no unit '{unit_id}'", argument="unit")
        inputs = self.site.inputs(period, unit_id)
        visible = {str(u["unit_id"]) for u in inputs.units if scope.sees_unit(str(u["unit_id"]))}
        data = page_data(inputs, SiteIndex(inputs, visible), unit_id)
        data["ancestors"] = [a for a in data["ancestors"] if a["unit_id"] in visible]
        data["incidents"] = [
            i for i in data["incidents"] if scope.sees_moment(i.get("moment"))
        ]  # the page's own cut by unit, then the moments
        data["reliability"] = [r for r in data["reliability"] if scope.sees_moment(r["moment"])]
        for link in [*data["ancestors"], *data["children"], *data["race"]]:
            link["href"] = f"/units/{link['unit_id']}" if link["unit_id"] in visible else None
        return data

    def unit_html(
        self, scope: Scope, unit_id: str, period: str | None, moment: str | None,
        segment: str | None = None,
    ) -> str:  # fmt: skip
        """The unit's page as HTML (:meth:`unit_page`, ``moment`` narrowing its reliability
        and incidents, ``segment`` its incidents), drawn once per scope and kept with the
        site's inputs."""
        from earnright.report.site_page import render_page

        self._check_moment(moment)
        part = segment_part(segment)
        self.site.current()  # new data (checked every `refresh` s) empty the kept pages
        key = (unit_id, period, moment, part, scope.units, scope.moments,
               scope.role is Role.owner)  # fmt: skip
        found = self.site.pages.get(key)
        if found is None:
            data = self.unit_page(scope, unit_id, period)
            if moment:
                data["reliability"] = [r for r in data["reliability"] if r["moment"] == moment]
                data["incidents"] = [i for i in data["incidents"] if i.get("moment") == moment]
            data["incidents"] = [i for i in data["incidents"] if names_part(i, part)]
            found = self.site.pages[key] = render_page(data)
        return found

    def moment_page(self, scope: Scope, moment: str, period: str | None) -> dict[str, Any]:
        """A moment's indicators over every unit, and its incidents."""
        if moment not in self.ws.config.journey.moment_ids() or not scope.sees_moment_page(moment):
            raise OutOfScope(f"no moment '{moment}'", argument="moment")
        label, reliability = self.site.reliability(period)
        found = [m for m in (reliability or {"moments": []})["moments"]]
        return {
            "moment": moment,
            "period": label,
            "reliability": [m for m in found if m["moment"] == moment],
            "incidents": [i for i in self.incidents(scope) if i.get("moment") == moment],
        }

    # -- listening -----------------------------------------------------------------------------
    def scorecard(
        self, scope: Scope, level: str, grain: Grain | None, period: str | None,
        segment: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """``earnright scorecard --format json``'s rows of the units seen; counting the
        customers of ``segment`` only when given (:mod:`earnright.serve.segments`)."""
        if segment is not None:
            with self.warehouse() as wh:
                rows = segment_scorecard(wh, self.ws.config, segment, level, grain, period)
        else:
            with self.guard():
                rows = self.ws.scorecard(level=level, grain=grain, period=period).to_dict()
        return [r for r in rows if scope.sees_unit(r["unit_id"])]

    def rank(
        self, scope: Scope, level: str, period: str | None, segment: str | None = None
    ) -> list[dict[str, Any]]:
        """Ranked among every peer (a rank means nothing otherwise), on ``segment``'s
        customers' answers when given; the rows seen."""
        if segment is not None:
            with self.warehouse() as wh:
                rows = segment_rank(wh, self.ws.config, segment, level, period)
        else:
            with self.guard():
                rows = self.ws.rank(level=level, period=period).to_dict()
        return [r for r in rows if scope.sees_unit(r["unit_id"])]

    def focus(self, scope: Scope, unit: str, period: str | None) -> list[dict[str, Any]]:
        if not scope.sees_unit(unit):
            raise OutOfScope(f"no unit '{unit}'", argument="unit")
        with self.guard():
            found: list[dict[str, Any]] = self.ws.focus(unit=unit, period=period).to_dict()
        return found

    def comments(
        self, scope: Scope, unit: str | None, moment: str | None, limit: int = COMMENT_LIMIT,
        theme: str | None = None, segment: str | None = None, period: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The newest comments under ``unit`` (default: every unit seen) in the scope; of
        ``moment``, tagged with ``theme``, from customers of ``segment``, written in
        ``period`` when given."""
        if unit is not None and not scope.sees_unit(unit):
            raise OutOfScope(f"no unit '{unit}'", argument="unit")
        if scope.role.value == "owner" and unit is not None:
            raise OutOfScope(f"no unit '{unit}'", argument="unit")
        self._check_moment(moment)
        window = period_window(period)
        with self.warehouse() as wh:
            t = wh.table("feedback")
            t = t.filter(t.comment.notnull() & (t.comment != ""))
            t = filter_period(t, "responded_at", window)
            t = filter_theme(t, wh, self.ws.config, theme)
            t = filter_segment(t, wh, segment)
            if unit is not None:
                below = subtree(_unit_rows(wh), unit)
                t = t.filter(t.unit_id.isin(below))
            elif scope.units is not None:
                t = t.filter(t.unit_id.isin(sorted(scope.units)))
            if scope.moments is not None:
                t = t.filter(t.moment.isin(sorted(scope.moments)))
            if moment is not None:
                t = t.filter(t.moment == moment)
            cols = ["response_id", "unit_id", "moment", "responded_at", "comment"]
            t = t.select(*cols).order_by([ibis.desc("responded_at"), "response_id"]).limit(limit)
            rows = t.to_pyarrow().to_pylist()
        return [r | {"responded_at": str(r["responded_at"])} for r in rows]

    def comment(self, scope: Scope, response_id: str) -> dict[str, Any]:
        with self.warehouse() as wh:
            t = wh.table("feedback")
            cols = ["response_id", "unit_id", "moment", "responded_at", "comment"]
            rows = t.filter(t.response_id == response_id).select(*cols).to_pyarrow().to_pylist()
        if not rows or not rows[0]["comment"] or not scope.sees_row(rows[0]):
            raise OutOfScope(f"no comment '{response_id}'", argument="response")
        return rows[0] | {"responded_at": str(rows[0]["responded_at"])}

    # -- reliability ---------------------------------------------------------------------------
    def incidents(
        self, scope: Scope, status: str = "all", moment: str | None = None,
        segment: str | None = None, period: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """The incidents seen; of ``moment``, whose segment names ``segment`` (a
        ``key=value`` part such as ``district=D001``), open at some time in ``period``, when
        given."""
        self._check_moment(moment)
        part = segment_part(segment)
        window = period_window(period)
        with self.guard():
            rows = self.ws.warnings(status=status).rows
        levels = list(self.ws.config.units.levels)
        return [
            r for r in rows
            if scope.sees_incident(r, levels) and (moment is None or r.get("moment") == moment)
            and names_part(r, part) and open_within(r, window)
        ]  # fmt: skip

    def _check_moment(self, moment: str | None) -> None:
        if moment is not None and moment not in self.ws.config.journey.moment_ids():
            known = ", ".join(self.ws.config.journey.moment_ids())
            raise QueryError(f"no journey moment '{moment}': one of {known}", argument="moment")

    def alerts(self, scope: Scope, incident: str | None = None) -> list[dict[str, Any]]:
        """The alerts early warning fired (table ``alerts``), newest first: those of the
        incidents seen (an alert without an incident: by its indicator's moment and its
        segment, as an incident would be)."""
        seen = {i["id"]: i for i in self.incidents(scope)}
        moments = {i.id: m.id for m, i in self.ws.config.journey.indicators()}
        levels = list(self.ws.config.units.levels)
        with self.warehouse() as wh:
            t = wh.table("alerts")
            if incident is not None:
                t = t.filter(t.incident_id == incident)
            rows = t.order_by([t.fired_at.desc(), t.alert_id]).to_pyarrow().to_pylist()
        found = []
        for r in rows:
            if r["incident_id"] is not None and r["incident_id"] not in seen:
                continue
            as_incident = {"moment": moments.get(r["indicator"]), "segment": r["segment"]}
            if r["incident_id"] is None and not scope.sees_incident(as_incident, levels):
                continue
            found.append({k: str(v) if k.endswith("_at") else v for k, v in r.items()})
        return found

    def alert(self, scope: Scope, alert_id: str) -> dict[str, Any]:
        found = [a for a in self.alerts(scope) if a["alert_id"] == alert_id]
        if not found:
            raise OutOfScope(f"no alert '{alert_id}'", argument="alert")
        return found[0]

    def incident(self, scope: Scope, incident_id: str) -> dict[str, Any]:
        found = [i for i in self.incidents(scope) if i["id"] == incident_id]
        if not found:
            raise OutOfScope(f"no incident '{incident_id}'", argument="incident")
        return found[0]

    def reliability(self, scope: Scope, period: str | None) -> dict[str, Any]:
        """Each moment's indicators; a manager gets only the segments naming their units."""
        with self.guard():
            found: dict[str, Any] = self.ws.reliability(period=period).to_dict()
        found["moments"] = [m for m in found["moments"] if scope.sees_moment(m["moment"])]
        if scope.units is not None and scope.role.value != "owner":
            for m in found["moments"]:
                for ind in m["indicators"]:
                    ind["overall"] = None
                    ind["segments"] = [
                        s for s in ind["segments"] if s["segment"].split("=", 1)[-1] in scope.units
                    ]
        return found

    # -- customers as assets -------------------------------------------------------------------
    def assets(
        self, scope: Scope, level: str, grain: Grain | None, period: str | None,
        unit: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """``earnright assets --format json``'s rows of the units seen (of ``unit`` only when
        given: 404 outside the scope)."""
        if unit is not None and not scope.sees_unit(unit):
            raise OutOfScope(f"no unit '{unit}'", argument="unit")
        with self.guard():
            rows: list[dict[str, Any]] = self.ws.assets(level=level, grain=grain,
                                                        period=period).to_dict()  # fmt: skip
        return [r for r in rows if scope.sees_unit(r["unit_id"])
                and (unit is None or r["unit_id"] == unit)]  # fmt: skip

    # -- accountability ------------------------------------------------------------------------
    def issues(self, scope: Scope) -> list[dict[str, Any]]:
        with self.guard():
            rows = self.ws.issues(status="all").to_dict()
        return scope.rows(rows)

    def decisions(self, scope: Scope) -> list[dict[str, Any]]:
        with self.warehouse() as wh:
            rows = wh.table("decisions").order_by("decided_at").to_pyarrow().to_pylist()
        return [r | {"decided_at": str(r["decided_at"])} for r in scope.rows(rows)]

    def decision(self, scope: Scope, decision_id: str) -> dict[str, Any]:
        found = [d for d in self.decisions(scope) if d["decision_id"] == decision_id]
        if not found:
            raise OutOfScope(f"no decision '{decision_id}'", argument="decision")
        return found[0]

    def decide(
        self, scope: Scope, issue: str, details: dict[str, Any], address: str
    ) -> dict[str, Any]:
        """Record the person's decision on ``issue`` (under the config's decision rights) and
        write it to the audit log."""
        if not any(i["issue_id"] == issue for i in self.issues(scope)):
            raise OutOfScope(f"no issue '{issue}'", argument="issue")
        if not scope.decides:
            raise NotAllowed(f"a {scope.role.value} does not record decisions", argument="issue")
        with self.guard():
            made: dict[str, Any] = self.ws.decide(issue, by=scope.user, **details).to_dict()
        self.audit(scope.user, "decision", str(made.get("decision_id")), issue, address)
        return made

    def audit(self, user: str, event: str, obj: str, detail: str, address: str) -> None:
        with self.warehouse(read_only=False) as wh:
            users.audit(wh, user, event, obj, detail, address)


def _unit_rows(wh: Warehouse) -> list[dict[str, Any]]:
    return _rows(read_units(wh))


def _rows(units: Any) -> list[dict[str, Any]]:
    records = units.astype(object).where(units.notna(), None).to_dict(orient="records")
    return [{str(k): v for k, v in r.items()} for r in records]
