"""The monthly pack in the public API: ``pack`` writes it, ``email_packs`` sends it.

:class:`PackMethods` is a base of :class:`~earnright.api.Workspace`. ``pack`` gathers the
pack (:func:`earnright.services.pack.gather_pack`), writes it as PDF, HTML, Excel or JSON by
the file's suffix and keeps its maturity figures for the next pack's trend; ``email_packs``
sends every ``[[pack.recipients]]`` their pack through the outbox (docs/report.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from earnright.api.computed import Computed
from earnright.api.operations import Operations
from earnright.api.records import jsonable
from earnright.api.results import Result
from earnright.periods import Grain, Period
from earnright.progress import Progress

__all__ = ["PackEmailResult", "PackMethods", "PackResult"]


class PackResult(Result):
    """A written pack: its ``path`` and its ``data`` (every figure it shows)."""

    path: str
    data: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable({"path": self.path, **self.data})

    def to_frame(self) -> Any:
        """The customer asset ledger the pack opens with."""
        import pandas as pd

        return pd.DataFrame([self.data["ledger"]["row"] or {}])

    def _summary(self) -> str:
        return f"{self.data['unit']['unit_id']}, {self.data['period']}: {self.path}"


class PackEmailResult(Result):
    """What ``email_packs`` did: packs queued now (new messages), and the delivery report."""

    period: str
    queued: list[dict[str, Any]]
    delivery: dict[str, Any]

    def to_dict(self) -> Any:
        return jsonable({"period": self.period, "queued": self.queued, "delivery": self.delivery})

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.delivery.get("messages", []))

    def _summary(self) -> str:
        return f"{self.period}: {len(self.queued)} queued, {self.delivery['delivered']} delivered"


def _month(period: Period | str | None) -> str | None:
    return None if period is None else Period.of(period, Grain.month).label


class PackMethods(Operations):
    """The monthly pack capabilities of a workspace."""

    def pack(
        self,
        out: str | Path,
        period: Period | str | None = None,
        unit: str | None = None,
        progress: Progress | None = None,
        *,
        computed: Computed | None = None,
    ) -> PackResult:
        """The monthly leadership pack of ``unit``'s subtree (default: the company) for the
        month ``period`` (default: the latest complete one), written to ``out`` as ``.pdf``,
        ``.html``, ``.xlsx`` or ``.json``; its maturity figures are kept for the next pack.
        ``computed``: the results of this run so far (:class:`earnright.api.computed.Computed`,
        e.g. the site's), reused rather than computed again."""
        from earnright.report.pack import write_pack
        from earnright.services.maturity import store_figures
        from earnright.services.pack import gather_pack

        source = computed if computed is not None else self
        data = gather_pack(source, _month(period), unit, progress)  # type: ignore[arg-type]
        if progress is not None:  # the PDF's layout is a pass of its own in the logs
            progress("pack: writing", 0, 1)
        written = write_pack(data, Path(out))
        if progress is not None:
            progress("pack: writing", 1, 1)
        with self.warehouse(read_only=False) as wh:
            store_figures(wh, data)
        return PackResult(path=str(written), data=data, notes=[])

    def email_packs(
        self,
        period: Period | str | None = None,
        *,
        now: datetime | None = None,
        send_email: Callable[..., object] | None = None,
    ) -> PackEmailResult:
        """Send every ``[[pack.recipients]]`` their pack (the company's, or their ``unit``'s
        subtree) of the month as a PDF through the outbox: at least once, and once per
        recipient and month (a second run queues nothing new; it retries what failed)."""
        from earnright.delivery.outbox import deliver_pending
        from earnright.delivery.packs import queue_packs

        label = _month(period)
        queued = queue_packs(self, label, now=now)  # type: ignore[arg-type]
        with self.warehouse(read_only=False) as wh:
            report = deliver_pending(wh, self.config, now=now, send_email=send_email)
        return PackEmailResult(
            period=queued.period, queued=queued.queued, delivery=report.to_dict(),
            notes=queued.notes,
        )  # fmt: skip
