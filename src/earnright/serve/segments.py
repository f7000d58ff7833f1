"""The scorecard and the horse race of one customer segment.

A segment (``ATTRIBUTE=VALUE`` over the customers' attributes, or a bare value of the
attribute named ``segment``: :func:`earnright.serve.filters.segment_customers`) narrows the
answers and the invitations a scorecard or a ranking counts to those of its customers. The
numbers are computed by the same functions as the whole company's
(:func:`earnright.listening.scorecard.compute_scorecard`,
:func:`earnright.api.listening.rank_result`) over the warehouse seen through the segment
(:meth:`earnright.warehouse.Warehouse.view`), whose ``feedback`` and ``invitations`` hold
that segment's customers' rows only (the engine joins; nothing is read into Python).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from earnright.api.workspace import resolve_period
from earnright.periods import Grain, choose_period, choose_periods
from earnright.serve.filters import segment_customers

if TYPE_CHECKING:
    from earnright.config import Config
    from earnright.warehouse import Warehouse

__all__ = ["segment_rank", "segment_scorecard"]

BY_CUSTOMER = ("feedback", "invitations")


def _seen(wh: Warehouse, segment: str) -> Warehouse:
    """``wh`` seen through ``segment``: its customers' feedback and invitations only."""
    customers = segment_customers(wh, segment)
    return wh.view({name: lambda t: t.semi_join(customers, "customer_id") for name in BY_CUSTOMER})


def segment_scorecard(
    wh: Warehouse, config: Config, segment: str, level: str, grain: Grain | None,
    period: str | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """``earnright scorecard --format json``'s rows, counting ``segment``'s customers only."""
    from earnright.api.results import ScorecardResult
    from earnright.listening.scorecard import compute_scorecard, suppress_scores

    chosen, label = resolve_period(grain, period)
    _, note = choose_periods(wh, chosen, label)
    frame = compute_scorecard(_seen(wh, segment), config, level=level, grain=chosen,
                              period=label)  # fmt: skip
    frame = suppress_scores(frame, config.listening.min_n)
    meta = {"level": level, "grain": str(chosen), "period": label}
    rows: list[dict[str, Any]] = ScorecardResult.of(
        frame, notes=[note] if note else [], **meta
    ).to_dict()
    return rows


def segment_rank(
    wh: Warehouse, config: Config, segment: str, level: str, period: str | None
) -> list[dict[str, Any]]:
    """``earnright rank --format json``'s rows among ``segment``'s customers' answers."""
    from earnright.api.listening import rank_result

    chosen, label = resolve_period(None, period)
    choice = choose_period(wh, chosen, label)
    options = {"metric": "nps", "peer": None, "draws": 2000, "seed": 0}
    rows: list[dict[str, Any]] = rank_result(
        _seen(wh, segment), config, (level, chosen, choice), options
    ).to_dict()
    return rows
