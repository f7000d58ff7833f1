"""Why customers left in the public API: ``losses``, ``loss_review`` and ``record_loss_call``.

:class:`LossMethods` is a base of :class:`~earnright.api.customers.CustomerMethods` (and so of
:class:`~earnright.api.Workspace`); docs/assets.md "Why they left" explains every number.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from earnright.api.operations import Operations
from earnright.api.results import TableResult
from earnright.errors import QueryError
from earnright.periods import Grain, Period

if TYPE_CHECKING:
    from earnright.customers.assets import SpellBasis

__all__ = ["LossCallResult", "LossMethods", "LossReviewResult", "LossesResult"]


class LossesResult(TableResult):
    """Why customers left: per unit, period and reason, the lost customers with that reason,
    their share and value, how many have it as their primary reason, and the unit-period's
    losses (``lost``, ``lost_value``). ``headline`` says it in one sentence."""

    level: str = "store"
    grain: str = "month"
    period: str | None = None
    headline: str | None = None

    def _what(self) -> str:
        return f"by {self.level}, {self.period or 'every ' + self.grain}"


class LossReviewResult(TableResult):
    """The Customer Loss Review: per owner and period, the most valuable lost customers to
    call, with their story."""

    period: str | None = None
    owner: str | None = None
    top: int = 10

    def _what(self) -> str:
        return f"{self.owner or 'every owner'}, {self.period or 'every month'}"


class LossCallResult(TableResult):
    """The loss call stored (one row)."""


class LossMethods(Operations):
    """The loss capabilities of a workspace."""

    def _losses(
        self, level: str, grain: Grain, label: str | None, basis: SpellBasis | None = None
    ) -> Any:
        from earnright.customers.losses import check_loss_period, explain_losses

        with self.warehouse() as wh:
            if label is not None:
                check_loss_period(wh, label, grain)
            return explain_losses(
                wh, self.config, level=level, grain=grain, period=label, basis=basis
            )

    def losses(
        self,
        level: str = "store",
        grain: Grain | str | None = None,
        period: Period | str | None = None,
    ) -> LossesResult:
        """Why customers left, per unit of ``level`` (their home unit) and period: for every
        loss of the ledger, recorded calls, incidents they were exposed to, complaints,
        detractor answers and fewer visits in their lapse before the last purchase; reasons
        with customers, share and value (docs/assets.md "Why they left")."""
        return self._losses_result(level, grain, period)

    def _losses_result(
        self,
        level: str,
        grain: Grain | str | None,
        period: Period | str | None,
        basis: SpellBasis | None = None,
    ) -> LossesResult:
        """:meth:`losses`, reusing the spells and the lifetime-value fit of a ledger already
        computed (``basis``: :class:`earnright.customers.assets.SpellBasis`) while they hold."""
        from earnright.customers.losses import headline, summarise_losses

        chosen = Period.of(period, grain) if period is not None else None
        grain = chosen.grain if chosen else Grain(grain or Grain.month)
        label = chosen.label if chosen else None
        losses = self._losses(level, grain, label, basis)
        line = headline(losses, label)
        notes = [line] if line else ["no customers were lost" + (f" in {label}" if label else "")]
        meta: dict[str, Any] = {"level": level, "grain": str(grain), "period": label}
        return LossesResult.of(summarise_losses(losses), notes=notes, headline=line, **meta)

    def loss_review(
        self,
        owner: str | None = None,
        period: Period | str | None = None,
        top: int = 10,
    ) -> LossReviewResult:
        """The Customer Loss Review: per owner and month, the ``top`` most valuable lost
        customers not yet called, with their story (reasons, comments, last purchase, value);
        only ``owner``'s when given, every month unless ``period``."""
        from earnright.customers.loss_review import review_queue

        chosen = Period.of(period, Grain.month) if period is not None else None
        if chosen is not None and chosen.grain != Grain.month:
            raise QueryError(f"'{period}': the review is monthly (e.g. 2026-09)", argument="period")
        label = chosen.label if chosen else None
        losses = self._losses("store", Grain.month, label)
        frame = review_queue(losses, self.config, owner=owner, top=top)
        notes = [] if len(frame) else ["nobody to call" + (f" for {owner}" if owner else "")]
        return LossReviewResult.of(frame, notes=notes, period=label, owner=owner, top=top)

    def record_loss_call(
        self,
        customer_id: str,
        reason: str,
        by: str,
        *,
        code: str | None = None,
        won_back: bool | None = None,
        at: datetime | str | None = None,
    ) -> LossCallResult:
        """Store what a lost customer said when called (``loss_calls``): it becomes their
        reason with the highest confidence. ``at`` defaults to now (UTC)."""
        import pandas as pd

        from earnright.comments.privacy import mask_free_text
        from earnright.customers.loss_review import record_loss_call
        from earnright.reliability.records import utcnow

        try:
            when = utcnow() if at is None else pd.Timestamp(at).to_pydatetime()
        except (ValueError, TypeError) as exc:
            raise QueryError(f"'{at}' is not a date and time", argument="at") from exc
        privacy = self.config.privacy  # what the customer said, identifiers masked
        reason = mask_free_text(reason, privacy.mask_comments, privacy.identifiers)
        with self.warehouse(read_only=False) as wh:
            row = record_loss_call(
                wh, customer_id, outcome=reason, caller=by, called_at=when,
                reason_code=code, won_back=won_back,
            )  # fmt: skip
        return LossCallResult.of(pd.DataFrame([row]).drop(columns="batch_id"))
