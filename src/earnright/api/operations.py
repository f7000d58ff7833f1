"""The workspace's data and operations: ingest, status, quarantine, detect, localize, watch and
the report. :class:`Operations` is the base of :class:`~earnright.api.Workspace`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earnright.api.localize import localize_table
from earnright.api.results import (
    DetectResult,
    IngestResults,
    LocalizeResult,
    QuarantineResult,
    StatusResult,
    WatchResult,
)
from earnright.config.values import DATA_KINDS
from earnright.errors import QueryError
from earnright.periods import Grain, Period
from earnright.progress import Progress

if TYPE_CHECKING:
    import pandas as pd

    from earnright.api.computed import Computed
    from earnright.config import Config
    from earnright.ingest import IngestResult
    from earnright.ingest.quarantine import ClearResult
    from earnright.report.site import Site
    from earnright.services.report import Report
    from earnright.warehouse import Warehouse
    from earnright.workspace import Workspace as Location

__all__ = [
    "QUARANTINE_COLUMNS",
    "Operations",
    "detect_file",
    "localize_table",
    "results_frame",
]

Say = Callable[[str], None]
STATES = ("open", "superseded", "all")
QUARANTINE_COLUMNS = [
    "batch_id", "kind", "source", "line", "field", "reason", "state", "superseded_by",
]  # fmt: skip


def results_frame(results: list[IngestResult]) -> pd.DataFrame:
    """One row per file ingested; ``quarantine_reasons`` as ``reason: rows`` joined by '; '."""
    import pandas as pd

    from earnright.ingest import IngestResult

    rows = []
    for result in results:
        row = asdict(result)
        reasons = sorted(row["quarantine_reasons"].items())
        row["quarantine_reasons"] = "; ".join(f"{k}: {v}" for k, v in reasons)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[f.name for f in fields(IngestResult)])
    return frame.astype({"batch_id": "Int64", "already_ingested_as": "Int64"})


def detect_file(file: str | Path) -> DetectResult:
    """Anomaly scores for a ``timestamp,value`` CSV, each row scored from the rows before it
    (file order, timestamps as given); late and repeated rows are said in ``notes``."""
    from earnright.services.detect import score_file

    frame, note = score_file(Path(file))
    return DetectResult.of(frame, notes=[f"warning: {note}"] if note else [])


def _quiet(_text: str) -> None:
    """The default ``say``: nothing."""


class Operations:
    """The workspace itself (``root``, ``config``, ``warehouse``) and its operations."""

    def __init__(self, location: Location) -> None:
        self.location = location

    @property
    def root(self) -> Path:
        return self.location.root

    @property
    def config(self) -> Config:
        return self.location.config

    @property
    def config_path(self) -> Path:
        return self.location.config_path

    def save_config(self) -> None:
        """Store this workspace's config in its warehouse (replacing the copy there), so that
        ``open_workspace(URL)`` opens the warehouse with it; do it again after editing
        ``earnright.toml``. The warehouse URL itself is not stored."""
        from earnright.workspace import store_config

        with self.warehouse(read_only=False) as wh:
            store_config(wh, self.config)

    @contextmanager
    def warehouse(self, *, read_only: bool = True) -> Iterator[Warehouse]:
        """The warehouse, open for the ``with`` block (read-only by default)."""
        with self.location.warehouse(read_only=read_only) as wh:
            yield wh

    def ingest(
        self,
        kind: str,
        files: Sequence[str | Path] | str | Path,
        source: str | None = None,
        force: bool = False,
        progress: Progress | None = None,
        say: Say = _quiet,
    ) -> IngestResults:
        """Ingest ``files`` of ``kind`` (units, customers, feedback, invitations, transactions,
        metrics): each file is one atomic batch; bad rows go to quarantine with their reason;
        the same file or rows again add nothing. ``source`` names a ``[sources.NAME]`` column
        mapping; ``progress(file name, done, total)`` follows each file and ``say`` gets the
        sentence saying what each file did as soon as it is done."""
        from earnright.export import protect
        from earnright.ingest import ingest_file

        if kind not in DATA_KINDS:
            raise QueryError(f"'{kind}' is not a kind of data: one of {', '.join(DATA_KINDS)}",
                             argument="kind")  # fmt: skip
        paths = [Path(files)] if isinstance(files, str | Path) else [Path(f) for f in files]
        protect(*paths)
        done = []
        with self.warehouse(read_only=False) as wh:
            for path in paths:
                report = None
                if progress is not None:
                    report = lambda d, t, name=path.name: progress(name, d, t)  # noqa: E731
                done.append(
                    ingest_file(wh, self.config, kind, path, source=source, force=force,
                                progress=report)
                )  # fmt: skip
                say(done[-1].summary())
        frame = results_frame(done)
        return IngestResults.of(frame, summaries=[r.summary() for r in done])

    def status(self, limit: int = 20) -> StatusResult:
        """Rows per table, batches ingested, and quarantined rows (the ``limit`` most recent)
        with their reasons and state."""
        from earnright.services.status import status_report

        with self.warehouse(read_only=False) as wh:  # migrates an older warehouse first
            return StatusResult(report=status_report(wh, limit))

    def quarantine(
        self, state: str = "all", batch: int | None = None, limit: int = 50
    ) -> QuarantineResult:
        """Quarantined rows with their state: open, or superseded by a later batch that brought
        the same key again (``limit`` 0: all)."""
        import ibis

        from earnright.ingest.quarantine import quarantine_with_state

        if state not in STATES:
            raise QueryError(f"'{state}' is not a state: expected open, superseded or all",
                             argument="state")  # fmt: skip
        with self.warehouse(read_only=False) as wh:
            rows = quarantine_with_state(wh)
            if state != "all":
                rows = rows.filter(rows.state == state)
            if batch is not None:
                rows = rows.filter(rows.batch_id == batch)
            rows = rows.order_by([ibis.desc("batch_id"), "line"])
            frame = (rows.limit(limit) if limit > 0 else rows).execute()
        return QuarantineResult.of(frame[QUARANTINE_COLUMNS], state=state)

    def clear_quarantine(self, superseded: bool = False, batch: int | None = None) -> ClearResult:
        """Delete quarantined rows: the superseded ones, every row of ``batch``, or (both) the
        superseded rows of that batch. The batch records keep their counts."""
        from earnright.ingest.quarantine import clear_quarantine

        with self.warehouse(read_only=False) as wh:
            return clear_quarantine(wh, superseded=superseded, batch=batch)

    def detect(self, file: str | Path) -> DetectResult:
        """Anomaly scores for a ``timestamp,value`` CSV: :func:`detect_file` (it reads no
        warehouse)."""
        return detect_file(file)

    def localize(
        self,
        file: str | Path | Any,
        dims: Sequence[str] | str | None = None,
        real: str = "real",
        predict: str = "predict",
        max_layer: int | None = None,
        alpha: float | None = None,
        max_causes: int | None = None,
        details: bool = False,
    ) -> LocalizeResult:
        """The segments behind a deviation of ``real`` from ``predict``: :func:`localize_table`
        (it reads no warehouse)."""
        return localize_table(file, dims, real, predict, max_layer, alpha, max_causes, details)

    def watch(
        self,
        once: bool = True,
        interval: float = 60.0,
        inbox: str | Path | None = None,
        deliver: bool = True,
        say: Say = _quiet,
        progress: Progress | None = None,
    ) -> WatchResult:
        """Early warning: ingest the metrics files in ``inbox`` (moved to ``inbox/done``, or
        ``inbox/rejected`` with their reason), detect and group alerts into incidents, queue
        and (``deliver``) deliver messages. One cycle by default; ``once=False`` repeats every
        ``interval`` seconds until Ctrl-C. Returns the last cycle."""
        from earnright.services.watch import watch

        folder = Path(inbox) if inbox is not None else None
        cycle = watch(self.location, once=once, interval=interval, inbox=folder,
                      deliver=deliver, say=say, progress=progress)  # fmt: skip
        data = cycle.to_dict()
        return WatchResult(detection=data["detection"], delivery=data["delivery"],
                           inbox=data.get("inbox"), notes=cycle.sentences())  # fmt: skip

    def report(self, folder: str | Path | None = None, progress: Progress | None = None) -> Report:
        """The scorecard report (every level, the latest complete month's ranking and focus
        lists, reliability and incidents), written to ``folder`` when given (CSV, Parquet,
        JSON and a self-contained HTML page)."""
        from earnright.services.report import build_report

        with self.warehouse() as wh:
            built = build_report(wh, self.config, progress=progress)
        if folder is not None:
            built.write(Path(folder))
        return built

    def report_site(
        self,
        out: str | Path,
        period: Period | str | None = None,
        unit: str | None = None,
        progress: Progress | None = None,
        *,
        computed: Computed | None = None,
    ) -> Site:
        """The report site written to ``out``: a page per unit (company, regions, districts,
        stores) with its JSON twin ``page.json``, linked by drill-down, for the month
        ``period`` (default: the latest complete one); only ``unit``'s subtree when given.
        Every result is computed once for all units (:mod:`earnright.api.site`); ``computed``:
        the results of this run so far (:class:`earnright.api.computed.Computed`, e.g. the
        pack's), reused rather than computed again."""
        from earnright.api.site import gather_site
        from earnright.report.site import write_site

        label = None if period is None else Period.of(period, Grain.month).label
        source = computed if computed is not None else self
        inputs = gather_site(source, label, progress, unit)  # type: ignore[arg-type]
        return write_site(inputs, Path(out), unit=unit, progress=progress)
