"""The report site: one page per unit (company, regions, districts, stores) and its JSON twin.

:func:`page_data` cuts a unit's page out of results computed once for every unit
(:class:`~earnright.api.site.SiteInputs`): its trend, the horse race among its children, its
driver means against its parent's, its focus items, the reliability of its moments and its
incidents. :func:`render_page` draws exactly that dict, so ``page.json`` holds the numbers
``page.html`` shows. No computation happens here: only selection.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.comments.feed import FEED_LENGTH, comment_feed
from earnright.errors import QueryError
from earnright.report.site_page import render_page

if TYPE_CHECKING:
    from earnright.api.site import SiteInputs
    from earnright.progress import Progress

__all__ = ["Site", "SiteIndex", "page_data", "page_path", "subtree", "write_site"]

TREND = ("period", "n", "nps", "nps_low", "nps_high", "csat", "csat_low", "csat_high")
TREND_EXTRA = ("responses", "invitations", "response_rate")


@dataclass
class Site:
    """A written site: its folder, its entry page, and the page of every unit by id."""

    folder: Path
    index: Path
    pages: dict[str, Path]

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "index": str(self.index),
            "pages": {unit: str(path) for unit, path in self.pages.items()},
        }


def slug(unit_id: str) -> str:
    """A file-system-safe folder name for a unit id (its characters kept where safe)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", unit_id).strip(".") or "_"


def page_path(unit_id: str) -> str:
    """The page of a unit, relative to the site's folder."""
    return f"units/{slug(unit_id)}/page.html"


def subtree(units: list[dict[str, Any]], root: str) -> list[str]:
    """``root`` and every unit below it, parents before children."""
    children: dict[str, list[str]] = {}
    for u in units:
        if u["parent_id"] is not None:
            children.setdefault(str(u["parent_id"]), []).append(str(u["unit_id"]))
    found, queue = [], [root]
    while queue:
        unit = queue.pop(0)
        found.append(unit)
        queue += sorted(children.get(unit, []))
    return found


def _tops(inputs: SiteInputs) -> list[str]:
    return [str(u["unit_id"]) for u in inputs.units if u["level"] == inputs.levels[0]]


def write_site(
    inputs: SiteInputs, out: Path, unit: str | None = None, progress: Progress | None = None
) -> Site:
    """Write a page and its JSON twin per unit (only ``unit``'s subtree when given) to
    ``out``, with ``index.html`` leading to the top page."""
    known = {str(u["unit_id"]) for u in inputs.units}
    if unit is not None and unit not in known:
        raise QueryError(f"no unit '{unit}' in the workspace's hierarchy", argument="unit")
    roots = [unit] if unit is not None else _tops(inputs)
    built = [u for root in roots for u in subtree(inputs.units, root)]
    index = _Index(inputs, set(built))
    pages: dict[str, Path] = {}
    for done, unit_id in enumerate(built):
        if progress is not None and (done % 25 == 0):
            progress("site pages", done, len(built))
        data = page_data(inputs, index, unit_id)
        folder = out / Path(page_path(unit_id)).parent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "page.json").write_text(json.dumps(data, indent=2, default=str))
        (folder / "page.html").write_text(render_page(data), encoding="utf-8")
        pages[unit_id] = folder / "page.html"
    if progress is not None:
        progress("site pages", len(built), len(built))
    entry = out / "index.html"
    entry.write_text(_entry_page(inputs, index, roots), encoding="utf-8")
    return Site(out, entry, pages)


class _Index:
    """The inputs indexed by unit once, so cutting a page is a few look-ups."""

    def __init__(self, inputs: SiteInputs, built: set[str]) -> None:
        self.built = built
        self.units = {str(u["unit_id"]): u for u in inputs.units}
        self.children: dict[str, list[str]] = {}
        for u in inputs.units:
            if u["parent_id"] is not None:
                self.children.setdefault(str(u["parent_id"]), []).append(str(u["unit_id"]))
        self.cards: dict[str, list[dict[str, Any]]] = {}
        for row in inputs.scorecard:
            self.cards.setdefault(str(row["unit_id"]), []).append(row)
        self.ranks = {str(r["unit_id"]): r for rows in inputs.rankings.values() for r in rows}
        self.segments: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}  # by moment and
        # indicator position: each segment's row by its name (a page looks its unit up)
        for m, moment in enumerate((inputs.reliability or {}).get("moments", [])):
            for i, ind in enumerate(moment["indicators"]):
                named = self.segments.setdefault((m, i), {})
                for seg in ind["segments"]:
                    named.setdefault(seg["segment"], seg)  # the first, as a scan finds it

    def link(self, unit_id: str, here: str) -> dict[str, Any]:
        """A unit's id, name and level, with a relative href when its page is built."""
        unit = self.units[unit_id]
        href = f"../{slug(unit_id)}/page.html" if unit_id in self.built else None
        if here == "":
            href = page_path(unit_id) if unit_id in self.built else None
        return {"unit_id": unit_id, "name": unit["name"], "level": unit["level"], "href": href}

    def below(self, unit_id: str) -> list[str]:
        """The unit and every unit under it."""
        found, todo = [], [unit_id]
        while todo:
            here = todo.pop()
            found.append(here)
            todo += self.children.get(here, [])
        return found

    def ancestors(self, unit_id: str) -> list[str]:
        found: list[str] = []
        parent = self.units[unit_id]["parent_id"]
        while parent is not None and str(parent) in self.units:
            found.insert(0, str(parent))
            parent = self.units[str(parent)]["parent_id"]
        return found


SiteIndex = _Index  # public name: the server builds one per signed-in scope (serve/pages.py)


def page_data(inputs: SiteInputs, index: _Index, unit_id: str) -> dict[str, Any]:
    """Everything one unit's page shows (module doc): the page's JSON twin."""
    unit = index.units[unit_id]
    parent = str(unit["parent_id"]) if unit["parent_id"] is not None else None
    trend = [_pick(r, TREND + TREND_EXTRA) for r in index.cards.get(unit_id, [])]
    children = sorted(index.children.get(unit_id, []))
    race = [
        index.link(c, unit_id) | _pick(index.ranks[c], RACE) for c in children if c in index.ranks
    ]
    race.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0))
    return {
        "unit_id": unit_id,
        "name": unit["name"],
        "level": unit["level"],
        "company": inputs.company,
        "period": inputs.period,
        "period_reason": inputs.period_reason,
        "currency": inputs.currency,
        "ancestors": [index.link(a, unit_id) for a in index.ancestors(unit_id)],
        "children": [index.link(c, unit_id) for c in children],
        "trend": trend,
        "race": race,
        "drivers": _drivers(inputs, index, unit_id, parent),
        "focus": _focus_items(inputs.focus.get(unit_id)),
        "reliability": _reliability(inputs.reliability, index, unit, inputs.levels[0]),
        "incidents": _incidents(inputs, index, unit_id),
        "comments": _feed(inputs.comments, index.below(unit_id)),
        "notes": list(inputs.notes),
    }


def _feed(by_unit: dict[str, list[dict[str, Any]]], below: list[str]) -> dict[str, Any]:
    """The page's comment feed (:func:`~earnright.comments.feed.comment_feed`) with what its
    filters show: per sentiment and per theme, its latest ``FEED_LENGTH`` comments, the newest
    first (``by_sentiment``, ``by_theme``), and each theme's comments counted by sentiment."""
    feed = comment_feed(by_unit, below)
    said = sorted((c for u in below for c in by_unit.get(u, [])),
                  key=lambda c: c["responded_at"], reverse=True)  # fmt: skip
    by_tone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_theme: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in said:
        by_tone[c["sentiment"] or "not labelled"].append(c)
        for theme in c["themes"]:
            by_theme[theme].append(c)
    for row in feed["themes"]:
        tones = Counter(c["sentiment"] or "not labelled" for c in by_theme[row["theme"]])
        row["by_sentiment"] = dict(tones)
    feed["by_sentiment"] = {k: v[:FEED_LENGTH] for k, v in by_tone.items()}
    feed["by_theme"] = {k: v[:FEED_LENGTH] for k, v in by_theme.items()}
    return feed


RACE = ("n", "raw", "estimate", "estimate_low", "estimate_high", "rank", "rank_low",
        "rank_high", "tier")  # fmt: skip


def _pick(row: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: row.get(k) for k in keys}


def _in_period(index: _Index, unit_id: str | None, period: str) -> dict[str, Any]:
    if unit_id is None:
        return {}
    return next((r for r in index.cards.get(unit_id, []) if r["period"] == period), {})


def _drivers(
    inputs: SiteInputs, index: _Index, unit_id: str, parent: str | None
) -> list[dict[str, Any]]:
    """The unit's driver means in the period beside its parent's (its peers' whole)."""
    own, peers = _in_period(index, unit_id, inputs.period), _in_period(index, parent, inputs.period)
    rows = []
    for driver, label in inputs.drivers.items():
        mean = own.get(f"{driver}_mean")
        peer = peers.get(f"{driver}_mean")
        rows.append({
            "driver": driver, "label": label, "n": own.get(f"{driver}_n"), "mean": mean,
            "low": own.get(f"{driver}_low"), "high": own.get(f"{driver}_high"),
            "peer_mean": peer, "peer_low": peers.get(f"{driver}_low"),
            "peer_high": peers.get(f"{driver}_high"),
            "difference": None if mean is None or peer is None else mean - peer,
        })  # fmt: skip
    return rows


FOCUS = ("driver", "label", "owner", "gap", "gap_low", "gap_high", "store_mean", "peer_mean",
         "n", "expected_nps_gain", "worth", "worth_low", "worth_high", "sentence")  # fmt: skip


def _focus_items(found: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The unit's focus items, most valuable first (as the focus list orders them)."""
    if not found:
        return []
    return [_pick(item, FOCUS) | {"comments": item.get("comments", [])} for item in found["items"]]


def _reliability(
    report: dict[str, Any] | None, index: _Index, unit: dict[str, Any], top: str
) -> list[dict[str, Any]]:
    """Each moment's indicators for this unit: its own segment, or overall for the top unit
    (looked up in the index: a scan of every segment per page grows with the square of the
    number of units)."""
    if report is None:
        return []
    own = f"{unit['level']}={unit['unit_id']}"
    rows = []
    for m, moment in enumerate(report["moments"]):
        for i, ind in enumerate(moment["indicators"]):
            seg = ind["overall"] if unit["level"] == top else index.segments[(m, i)].get(own)
            if seg is None:
                continue
            rows.append({
                "moment": moment["moment"], "moment_name": moment["name"],
                "indicator": ind["indicator"], "name": ind["name"], "target": ind["target"],
                "good": seg["good"], "total": seg["total"], "attainment": seg["attainment"],
                "attainment_low": seg["attainment_low"],
                "attainment_high": seg["attainment_high"],
                "budget_left": seg["budget_left"], "rating": seg["rating"],
            })  # fmt: skip
    return rows


INCIDENT = ("id", "moment", "indicator", "segment", "started_at", "detected_at", "status",
            "severity", "owner", "customers_affected", "revenue_at_risk", "revenue_at_risk_low",
            "revenue_at_risk_high")  # fmt: skip


def _incidents(inputs: SiteInputs, index: _Index, unit_id: str) -> list[dict[str, Any]]:
    """Incidents whose segment names this unit or a unit below it (the top unit also gets
    those that name no unit). An incident naming units outside a page's subtree shows only
    the part of its segment inside it."""
    below = set(index.below(unit_id))
    top = index.units[unit_id]["level"] == inputs.levels[0]
    rows = []
    for incident in inputs.incidents:
        segment = str(incident.get("segment") or "")
        parts = [p.strip() for p in re.split(r"[;&]", segment) if "=" in p]
        named = [p.split("=", 1)[1] for p in parts if p.split("=", 1)[0] in inputs.levels]
        mine = [p for p in parts if p.split("=", 1)[0] not in inputs.levels
                or p.split("=", 1)[1] in below]  # fmt: skip
        if (named and any(u in below for u in named)) or (not named and top):
            row = _pick(incident, INCIDENT)
            if named and not all(u in below for u in named):
                row |= {"segment": "; ".join(mine), "customers_affected": None,
                        "revenue_at_risk": None, "revenue_at_risk_low": None,
                        "revenue_at_risk_high": None}  # fmt: skip
            rows.append(row)
    return rows


def _entry_page(inputs: SiteInputs, index: _Index, roots: list[str]) -> str:
    from html import escape

    links = "".join(
        f'<li><a href="{escape(page_path(r))}">{escape(str(index.units[r]["name"]))}</a></li>'
        for r in roots
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(inputs.company)}: customer report {escape(inputs.period)}</title>"
        f"</head><body><h1>{escape(inputs.company)}: customer report, {escape(inputs.period)}"
        f"</h1><ul>{links}</ul></body></html>"
    )
