"""Focus lists: the typed results, their words (sentences, messages, the method) and the table.

``FocusList`` is what one unit should focus on; ``FocusItem`` one thing to fix with its gap,
worth, owner and comments; ``focus_frame`` flattens lists into one row per item.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from earnright.config import Config

__all__ = [
    "FRAME_COLUMNS",
    "FocusComment",
    "FocusItem",
    "FocusList",
    "Found",
    "ListContext",
    "MomentRef",
    "focus_frame",
    "focus_list",
    "method_text",
]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class MomentRef(_Result):
    """A journey moment that asks the driver: its id, name and owning team."""

    id: str
    name: str
    owner: str


class FocusComment(_Result):
    """A customer's comment on the driver: the response, when, the driver answer and ltr."""

    response_id: str
    responded_at: str
    answer: float
    ltr: float | None
    text: str


class FocusItem(_Result):
    """One thing to fix: a driver the unit is credibly behind its peers on, and its worth.

    ``gap`` = unit mean − peer mean (answer points; negative is behind) with a 95% Welch interval;
    ``importance`` the driver's share of the explained variance of ltr at the unit (LMG share);
    ``slope`` ltr points per answer point; ``expected_nps_gain`` NPS points if the gap closed;
    ``worth`` (with a 95% interval) that gain in retained revenue over 180 days, when asked for
    (``earnright.customers.returns``).
    """

    driver: str
    label: str
    moments: list[MomentRef]
    owner: str
    gap: float
    gap_low: float
    gap_high: float
    store_mean: float
    peer_mean: float
    n: int
    peer_n: int
    p_value: float
    importance: float | None
    slope: float | None
    expected_nps_gain: float | None
    comments: list[FocusComment]
    sentence: str
    worth: float | None = None
    worth_low: float | None = None
    worth_high: float | None = None


class FocusList(_Result):
    """What one unit should focus on in a window; ``message`` says why when ``items`` is empty."""

    unit_id: str
    name: str | None
    level: str
    period: str
    window_start: str
    window_end: str
    peer_id: str | None
    peer_name: str | None
    n: int
    nps: float | None
    items: list[FocusItem]
    message: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: everything a page or a report needs to show the list."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ListContext:
    """What every list of one call shares."""

    level: str
    span: str  # "2026-07 to 2026-09"
    margin: str  # "0.1 points"
    min_n: int
    names: dict[str, str]
    method: str


def _moments(config: Config, driver: str) -> tuple[list[MomentRef], str]:
    """The moments that ask ``driver`` and its owner: the team most of them name (first wins)."""
    moments = [
        MomentRef(id=m.id, name=m.name, owner=m.owner)
        for s in config.journey.stages
        for m in s.moments
        if driver in m.questions
    ]
    owners = Counter(m.owner for m in moments if m.owner)
    return moments, owners.most_common(1)[0][0] if owners else ""


def _sentence(row: dict[Any, Any], label: str, owner: str, where: str) -> str:
    gain = row["gain"]
    worth = (
        "its effect on recommendation could not be estimated"
        if not np.isfinite(gain)
        else "closing that gap is worth less than one NPS point"
        if gain < 0.5
        else f"closing that gap is worth about +{gain:.0f} NPS points"
    )
    return (
        f"Customers rate “{label}” {abs(row['gap']):.1f} points below {where} (n={row['n']:.0f}); "
        f"{worth}. Owner: {owner or 'no team named in the journey'}."
    )


def _message(ctx: ListContext, items: int, credible: int, n: float, where: str) -> str:
    if items:
        more = f" ({credible} credible, the {items} most valuable)" if credible > items else ""
        return f"{items} thing{'s' if items > 1 else ''} to focus on in {ctx.span}{more}."
    if n < ctx.min_n:
        return f"Too few answers to say what to fix: {n:.0f} in {ctx.span}, fewer than {ctx.min_n}."
    if not where:
        return f"No similar {ctx.level}s with answers in {ctx.span} to compare with."
    return (
        f"Nothing credible to fix: no driver is credibly more than {ctx.margin} below {where} "
        f"in {ctx.span} (n={n:.0f})."
    )


def _comment(c: dict[Any, Any]) -> FocusComment:
    return FocusComment(
        response_id=str(c["response_id"]),
        responded_at=pd.Timestamp(c["responded_at"]).isoformat(),
        answer=float(c["answer"]),
        ltr=_num(c["ltr"]),
        text=str(c["comment"]),
    )


def _items(
    rows: list[dict[Any, Any]],
    said: dict[tuple[str, str], list[dict[Any, Any]]],
    unit: str,
    config: Config,
    where: str,
) -> list[FocusItem]:
    items = []
    for row in rows:
        driver = str(row["driver"])
        question = config.question(driver)
        label = question.label if question is not None and question.label else driver
        moments, owner = _moments(config, driver)
        notes = said.get((unit, driver), [])
        items.append(
            FocusItem(
                driver=driver, label=label, moments=moments, owner=owner, gap=row["gap"],
                gap_low=row["gap_low"], gap_high=row["gap_high"], store_mean=row["mean"],
                peer_mean=row["peer_mean"], n=int(row["n"]), peer_n=int(row["peer_n"]),
                p_value=row["p"], importance=_num(row["importance"]), slope=_num(row["slope"]),
                expected_nps_gain=_num(row["gain"]), comments=[_comment(c) for c in notes],
                sentence=_sentence(row, label, owner, where),
            )
        )  # fmt: skip
    return items


def _num(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class Found:
    """What one call measured, by unit: plain dictionaries, so that each unit's list is a few
    look-ups (:meth:`of` makes them from the frames of one call)."""

    period: str
    first: str
    totals: dict[str, dict[Any, Any]]  # unit -> n, promoters, detractors in the window
    peers: dict[str, Any]  # unit -> peer group id
    picked: dict[str, list[dict[Any, Any]]]  # unit -> its items' rows, most valuable first
    said: dict[tuple[str, str], list[dict[Any, Any]]]  # (unit, driver) -> its comments, in order
    credible: dict[str, int]  # unit -> credible gaps before the top

    @classmethod
    def of(
        cls,
        span: tuple[str, str],
        totals: pd.DataFrame,
        peers: pd.Series,
        picked: pd.DataFrame,
        said: pd.DataFrame,
        credible: pd.Series,
    ) -> Found:
        """From the window's totals per unit, the peer group of each unit, the picked rows (by
        unit, most valuable first), their comments (by unit and driver, in order) and the
        credible gaps per unit."""
        rows: dict[str, list[dict[Any, Any]]] = {}
        for row in picked.to_dict("records"):
            rows.setdefault(str(row["unit_id"]), []).append(row)
        notes: dict[tuple[str, str], list[dict[Any, Any]]] = {}
        for note in said.to_dict("records"):
            notes.setdefault((str(note["unit_id"]), str(note["driver"])), []).append(note)
        counts = totals[["n", "promoters", "detractors"]].to_dict("index")
        return cls(
            span[0], span[1], {str(u): c for u, c in counts.items()},
            {str(u): p for u, p in peers.to_dict().items()}, rows, notes,
            {str(u): int(c) for u, c in credible.to_dict().items()},
        )  # fmt: skip


def focus_list(ctx: ListContext, unit: str, found: Found, config: Config) -> FocusList:
    """One unit's list."""
    totals, peer = found.totals.get(unit), found.peers.get(unit)
    peer = peer if isinstance(peer, str) else None
    n = float(totals["n"]) if totals is not None else 0.0
    where = f"similar {ctx.level}s in {ctx.names.get(peer, peer)}" if peer else ""
    rows = found.picked.get(unit, [])
    nps = (
        100.0 * (totals["promoters"] - totals["detractors"]) / n
        if totals is not None and n > 0
        else None
    )
    return FocusList(
        unit_id=unit, name=ctx.names.get(unit), level=ctx.level, period=found.period,
        window_start=found.first, window_end=found.period, peer_id=peer,
        peer_name=ctx.names.get(peer) if peer else None, n=int(n), nps=nps,
        items=_items(rows, found.said, unit, config, where),
        message=_message(ctx, len(rows), found.credible.get(unit, 0), n, where),
        method=ctx.method,
    )  # fmt: skip


def method_text(span: str, margin: str, fdr: bool, level: str, periods: int) -> str:
    """The method in one paragraph, for the list's ``method``."""
    adjust = "Benjamini–Hochberg across the unit's drivers" if fdr else "no multiplicity adjustment"
    return (
        f"Gap to the other {level}s of the peer group over {span} with a 95% Welch interval; "
        f"listed when credibly more than {margin} behind (one-sided t-test at 2.5%, {adjust}, "
        f"n ≥ min_n on both sides); worth from the {level}'s key-driver fit over the last "
        f"{periods} periods (shrunk toward its parent) and its own ltr answers; most valuable "
        "first."
    )


FRAME_COLUMNS = [
    "unit_id", "name", "period", "window_start", "item", "driver", "label", "owner", "gap",
    "gap_low", "gap_high", "store_mean", "peer_mean", "n", "peer_n", "importance", "slope",
    "expected_nps_gain", "worth", "worth_low", "worth_high", "comments", "sentence", "message",
]  # fmt: skip


def focus_frame(lists: list[FocusList]) -> pd.DataFrame:
    """One row per item (``comments`` is their count), one row per unit without items (its
    item columns empty); for tables and CSV."""
    rows = []
    for f in lists:
        head = {"unit_id": f.unit_id, "name": f.name, "period": f.period}
        head |= {"window_start": f.window_start, "message": f.message}
        rows += [
            head
            | {"item": i}
            | item.model_dump(exclude={"moments", "comments", "p_value"})
            | {"comments": len(item.comments)}
            for i, item in enumerate(f.items, start=1)
        ] or [head]
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    return frame.astype({c: "Int64" for c in ("item", "n", "peer_n", "comments")})
