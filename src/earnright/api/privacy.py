"""Privacy in the public API: ``forget`` a customer, and ``forgotten``, the record of it.

:class:`PrivacyMethods` is a base of :class:`~earnright.api.Workspace`; docs/privacy.md says
what is erased, what is kept for the customer asset ledger, and what the record holds.
"""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Any

from pydantic import Field

from earnright.api.operations import Operations
from earnright.api.records import jsonable
from earnright.api.results import Result, TableResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ForgetResult", "ForgottenResult", "PrivacyMethods"]


class ForgetResult(Result):
    """A customer forgotten: the record's id, when, who asked and why, the rows changed per
    table; ``already`` when they had been forgotten before (nothing changed this time)."""

    forget_id: str
    forgotten_at: str
    requested_by: str
    reason: str | None = None
    already: bool = False
    tables: dict[str, int] = Field(default_factory=dict)

    def to_dict(self) -> Any:
        return jsonable(self.model_dump(exclude={"notes"}))

    def to_frame(self) -> pd.DataFrame:
        """One row per table changed: its name and the rows changed."""
        import pandas as pd

        rows = [{"table": t, "rows": n} for t, n in self.tables.items()]
        return pd.DataFrame(rows, columns=["table", "rows"])

    def _summary(self) -> str:
        done = "already forgotten" if self.already else f"{sum(self.tables.values()):,} rows"
        return f"{self.forget_id}: {done}"


class ForgottenResult(TableResult):
    """The record of every customer forgotten: id, when, who asked, why, rows per table (the
    customer id itself is not kept)."""


class PrivacyMethods(Operations):
    """The privacy capabilities of a workspace."""

    def forget(
        self, customer_id: str, reason: str | None = None, by: str | None = None
    ) -> ForgetResult:
        """Erase the personal data of ``customer_id`` from every table, in one transaction,
        and record it (``by``: who asks, default the operating-system user; ``reason``: why).
        Their rows stay under a pseudonymous id, so the ledger's numbers do not change; their
        comments, loss-call words, rare attributes and quarantined rows go. Forgetting them
        again changes nothing and says when it was done; an id no table holds and no record
        names is a QueryError."""
        from earnright.comments.privacy import mask_text
        from earnright.customers.forget import forget_customer

        requested_by = getpass.getuser() if by is None else by
        if reason is not None:  # the record must not name the customer either
            reason = mask_text(reason).replace(customer_id.strip() or "\0", "[CUSTOMER]")
        with self.warehouse(read_only=False) as wh:
            report = forget_customer(
                wh, self.config, customer_id, requested_by=requested_by, reason=reason
            )
        when = f"{report.forgotten_at:%Y-%m-%dT%H:%M:%S}"
        if report.already:
            note = (
                f"customer '{customer_id.strip()}' was already forgotten on {when} (record "
                f"{report.forget_id}); nothing changed"
            )
        else:
            note = (
                f"customer '{customer_id.strip()}' forgotten: {sum(report.rows.values()):,} "
                f"rows in {len(report.rows)} tables (record {report.forget_id})"
            )
        return ForgetResult(
            forget_id=report.forget_id, forgotten_at=when, requested_by=report.requested_by,
            reason=report.reason, already=report.already, tables=report.rows, notes=[note],
        )  # fmt: skip

    def forgotten(self) -> ForgottenResult:
        """Every customer forgotten, oldest first: the record's id, when, who asked, why and
        the rows changed per table."""
        import pandas as pd

        from earnright.customers.forget import FORGET_TABLE

        with self.warehouse() as wh:
            t = wh.table(FORGET_TABLE)
            frame = t.order_by("forgotten_at").execute()
        frame = frame[["forget_id", "forgotten_at", "requested_by", "reason", "rows", "tables"]]
        frame = frame.assign(tables=[json.loads(x) for x in frame.tables])
        frame["forgotten_at"] = pd.to_datetime(frame.forgotten_at).dt.strftime("%Y-%m-%dT%H:%M:%S")
        return ForgottenResult.of(frame.reset_index(drop=True))
