"""One file in, one atomic batch: stage, check, then commit accepted rows and quarantine together.

The life of a batch:

1. If the same bytes were ingested before as the same kind, nothing happens (idempotent).
2. Through the engine (a Parquet file of customers, invitations, transactions or metrics on
   DuckDB, see ``engine``): one ``INSERT … SELECT`` reads and checks the file in SQL; if any row
   fails a check, it rolls back and step 3 reads the file.
3. Directly (CSV and Parquet, any kind but units), in one transaction: the file streams in
   chunks; each chunk is checked (see ``kinds``); accepted rows go straight into the table and
   rejected rows into quarantine, under the batch id — memory stays bounded and the rows are
   written once. The engine then checks that no key repeats within the batch (if one does, the
   transaction rolls back and step 4 takes the file), deletes the batch's rows whose key an
   earlier batch brought, and the batch is recorded.
4. Staged (units, JSON Lines, a file that repeats a key): accepted rows go to a staging table
   and rejected rows to a staging quarantine; the engine finds rows repeated within the file
   (same key; the first one wins); in one transaction, rows whose key is not yet in the
   warehouse are inserted, the quarantine rows are stored, and the batch is recorded.

A crash before the commit leaves nothing behind: the open transaction is never replayed, and
staging tables are temporary.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from earnright.comments.privacy import FREE_TEXT, QUARANTINE_TEXT, Masker, mask_columns
from earnright.config import Config, Source
from earnright.errors import IngestError
from earnright.ingest.engine import engine_ingest
from earnright.ingest.finish import Restart, finish_direct, record_batch, unknown_customers
from earnright.ingest.hierarchy import UnitChanges, apply_unit_changes, check_parents
from earnright.ingest.kinds import (
    ARROW_TYPES,
    KINDS,
    KindSpec,
    metric_row_key,
    open_columns_of,
    raw_json,
    validate_chunk,
)
from earnright.ingest.readers import Chunk, check_column_names, file_format, read_chunks
from earnright.ingest.rejects import Tally, head_first
from earnright.ingest.result import IngestResult
from earnright.progress import StepProgress
from earnright.warehouse import STAGE_PREFIX, Warehouse

__all__ = ["IngestResult", "ingest_file"]

# accepted rows are written to the engine this many at a time: DuckDB stores a few large
# appends for much less CPU than many chunk-sized ones (1M rows: a third less than 250k)
WRITE_ROWS = 1_000_000
QUARANTINE_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
        ("row_key", pa.string()),
    ]
)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    wh: Warehouse,
    config: Config,
    kind: str,
    path: Path,
    *,
    source: str | None = None,
    force: bool = False,
    progress: StepProgress | None = None,
) -> IngestResult:
    """Ingest one file of ``kind`` as one atomic batch and return what happened."""
    if kind not in KINDS:
        raise IngestError(f"unknown kind '{kind}'; expected one of {list(KINDS)}")
    spec = KINDS[kind]
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    file_format(path)  # fail early on an unknown extension
    started = time.monotonic()
    sha = file_sha256(path)
    if not force:
        previous = _previous_batch(wh, kind, sha)
        if previous is not None:
            return IngestResult(kind=kind, source=str(path), already_ingested_as=previous)
    mapping = config.source_for(kind, source)
    read = _Reading(path, mapping, progress)
    if kind != "units" and file_format(path)[0] != "jsonl":
        engine = _ingest_engine(wh, spec, config, read, sha, started)
        if engine is not None:
            return engine
        try:
            return _labelled(wh, config, _ingest_direct(wh, spec, config, read, sha, started))
        except Restart:  # rolled back: the staging path below sorts out the file
            pass
    result = IngestResult(kind=kind, source=str(path))
    staging = _Staging(wh, spec, config, str(path))
    try:
        # unit files are small and read whole (parents may come after their children); of any
        # other file the first rows go on their own, so that a hopeless file stops after them
        chunks = iter([_all_units(list(read.chunks()))]) if kind == "units" else read.head()
        for chunk in chunks:
            staging.add(chunk, result)
            staging.tally.check_early(str(path), kind, result.rows_read, result.quarantined)
        staging.flush()
        staging.quarantine_in_file_duplicates(result)
        _commit(wh, spec, staging, result, sha, started)
    finally:
        staging.drop()
    result.seconds = time.monotonic() - started
    return _labelled(wh, config, result)


def _labelled(wh: Warehouse, config: Config, result: IngestResult) -> IngestResult:
    """After feedback arrives, its comments get their sentiment and themes (comments/store)."""
    if result.kind == "feedback" and result.accepted:
        from earnright.comments.store import label_feedback

        label_feedback(wh, config)
    return result


@dataclass(frozen=True)
class _Reading:
    """How to read one file: its path, its [sources.NAME] mapping and the progress callback."""

    path: Path
    mapping: Source | None
    progress: StepProgress | None

    def chunks(self) -> Iterator[Chunk]:
        extra = self.mapping.extra_header_rows if self.mapping else 0
        chunks = read_chunks(self.path, self.progress, extra_header_rows=extra)
        return (_mapped(c, self.mapping, str(self.path)) for c in chunks)

    def head(self) -> Iterator[Chunk]:
        return head_first(self.chunks())


def _ingest_direct(
    wh: Warehouse, spec: KindSpec, config: Config, read: _Reading, sha: str, started: float
) -> IngestResult:
    """The usual case in one pass and one transaction: each chunk's accepted rows go straight
    into the table, its rejected rows into quarantine, under the batch's id. At the end the
    engine checks, set-based, that no key repeats within the file (else ``Restart``) and
    deletes the rows whose key an earlier batch brought. Nothing is visible before the commit;
    an error or a crash rolls all of it back."""
    source = str(read.path)
    result = IngestResult(kind=spec.kind, source=source)
    with wh.transaction():
        wh.lock("ingest")  # PostgreSQL: concurrent ingests take batch ids and dedupe in turn
        batch_id = int(wh.table("batches").batch_id.max().fill_null(0).execute()) + 1
        had_rows = wh.count(spec.table) > 0
        direct = _Staging(wh, spec, config, source, batch_id=batch_id)
        for chunk in read.head():
            direct.add(chunk, result)
            direct.tally.check_early(source, spec.kind, result.rows_read, result.quarantined)
        direct.flush()
        finish_direct(wh, spec, result, direct.staged_rows, had_rows, sha, started, batch_id)
    return result


def _ingest_engine(
    wh: Warehouse, spec: KindSpec, config: Config, read: _Reading, sha: str, started: float
) -> IngestResult | None:
    """A clean Parquet file on DuckDB in one ``INSERT … SELECT`` (see ``engine``); None when
    the file is not for that path or a row of it fails a check (then nothing was written)."""
    if read.mapping is not None:
        return None
    try:
        with wh.transaction():
            wh.lock("ingest")
            had_rows = wh.count(spec.table) > 0
            done = engine_ingest(wh, spec, config, read.path, read.progress)
            if done is None:
                raise Restart
            result, batch_id, distinct = done
            finish_direct(
                wh, spec, result, result.rows_read, had_rows, sha, started, batch_id,
                keys_distinct=distinct,
            )  # fmt: skip
    except Restart:  # rolled back: the general path reads the file
        return None
    return result


def _previous_batch(wh: Warehouse, kind: str, sha: str) -> int | None:
    b = wh.table("batches")
    found = b.filter((b.kind == kind) & (b.sha256 == sha)).batch_id.min().execute()
    return None if pd.isna(found) else int(found)


def _mapped(chunk: Chunk, mapping: Source | None, source: str) -> Chunk:
    frame = chunk.frame
    if mapping is not None:
        names = mapping.mapping()
        if mapping.keeps_only_mapped:
            keep = {"_line", *names, *names.values()}
            frame = frame[[c for c in frame.columns if c in keep]]
        frame = frame.drop(columns=[c for c in mapping.ignore if c in frame.columns])
        frame = frame.rename(columns=names)
    names_now = [str(c) for c in frame.columns]
    if "_line" in names_now:
        names_now.remove("_line")  # the reader's own line numbers
    check_column_names(names_now, source, mapped=True)
    return Chunk(frame, chunk.bad_lines)


def _all_units(chunks: list[Chunk]) -> Chunk:
    frame = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    return Chunk(frame, [b for c in chunks for b in c.bad_lines])


class _Staging:
    """The staging tables of one batch: accepted rows and rejected rows."""

    def __init__(
        self,
        wh: Warehouse,
        spec: KindSpec,
        config: Config,
        source: str,
        *,
        batch_id: int | None = None,
    ) -> None:
        self.wh, self.spec, self.config, self.source = wh, spec, config, source
        self.rows: str | None = None
        # direct (a batch id given): rows go straight to the table, rejects to quarantine
        self.batch_id = batch_id
        self.rejects = None if batch_id else wh.create_stage(_schema(QUARANTINE_SCHEMA))
        self.open_cols: list[str] = []
        self.staged_rows = 0  # accepted by the row checks, before in-file duplicates
        self.pending: list[pa.Table] = []  # accepted rows not yet written (WRITE_ROWS)
        self.in_file_duplicates = 0
        self.arrow_schema: pa.Schema | None = None
        self.known_units = self._known_units()
        # the day of the ingest (UTC): when a move without valid_from takes effect
        self.today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0)
        self.today = self.today.replace(microsecond=0)
        self.tally = Tally()
        privacy = config.privacy  # identifiers masked out of free text before it is stored
        self.masker = Masker(privacy.identifiers) if privacy.mask_comments else None

    def _known_units(self) -> set[str] | None:
        if not self.spec.unit_columns:
            return None
        ids = self.wh.table("units").unit_id.execute()
        return set(ids.astype(str))

    def add(self, chunk: Chunk, result: IngestResult) -> None:
        frame = chunk.frame
        if not frame.empty or self.rows is None:
            frame = self._with_required_columns(frame)
            self._ensure_rows_table(list(frame.columns))
            good, bad = validate_chunk(
                self.spec, frame, self.config, self.open_cols, self.known_units
            )
            if self.spec.kind == "units":
                good, bad = check_parents(self.wh, self.config, good, bad, self.today)
            if self.spec.kind == "metrics":
                good["row_key"] = metric_row_key(good, self.open_cols)
            if self.masker is not None:
                mask_columns(good, FREE_TEXT.get(self.spec.kind, ()), self.masker)
            assert self.arrow_schema is not None and self.rows is not None
            table = pa.Table.from_pandas(
                good[self.arrow_schema.names], schema=self.arrow_schema, preserve_index=False
            )

            if table.num_rows:
                self.pending.append(self._tagged(table))
                self.staged_rows += table.num_rows
                if sum(t.num_rows for t in self.pending) >= WRITE_ROWS:
                    self.flush()
            result.rows_read += len(frame)
        else:
            bad = pd.DataFrame(columns=list(QUARANTINE_SCHEMA.names))
        if chunk.bad_lines:
            result.rows_read += len(chunk.bad_lines)
            unparsed = pd.DataFrame(chunk.bad_lines, columns=["line", "reason", "raw"])
            bad = pd.concat([bad, unparsed.assign(field="(row)")], ignore_index=True)
        self.add_rejects(bad, result)

    def flush(self) -> None:
        """Write the accepted rows held back (all of them at the end of the file)."""
        if self.pending:
            assert self.rows is not None
            self.wh.append_arrow(self.rows, pa.concat_tables(self.pending))
            self.pending = []

    def add_rejects(self, bad: pd.DataFrame, result: IngestResult) -> None:
        if bad.empty:
            return
        if self.masker is not None:
            bad = bad.copy()
            mask_columns(bad, QUARANTINE_TEXT, self.masker)
        bad = self.tally.keep(bad)  # every row counted by reason; raw text of the first N
        table = pa.Table.from_pandas(
            bad[QUARANTINE_SCHEMA.names], schema=QUARANTINE_SCHEMA, preserve_index=False
        )
        if self.rejects is None:
            extra = {"kind": self.spec.kind, "source": self.source}
            self.wh.append_arrow("quarantine", self._tagged(table, extra))
        else:
            self.wh.append_arrow(self.rejects, table)
        result.quarantined += len(bad)
        result.quarantine_reasons = dict(self.tally.by_reason)

    def _tagged(self, table: pa.Table, extra: dict[str, str] | None = None) -> pa.Table:
        """Direct: the table's rows as the warehouse stores them (the batch id, no line)."""
        if self.batch_id is None:
            return table
        if "_line" in table.column_names:
            table = table.drop_columns("_line")
        columns = {"batch_id": pa.scalar(self.batch_id, pa.int64())}
        columns |= {name: pa.scalar(value, pa.string()) for name, value in (extra or {}).items()}
        for name, value in columns.items():
            table = table.append_column(name, pa.repeat(value, table.num_rows))
        return table

    def _with_required_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.spec.required if c not in frame.columns]
        if missing and self.rows is None and len(frame.columns) > 1:
            have = [c for c in frame.columns if c != "_line"]
            raise IngestError(
                f"{self.source}: missing required column(s) {missing} for {self.spec.kind}; the "
                f"file has {have}. Rename columns with a [sources.NAME] mapping in earnright.toml"
            )
        for col in missing:  # JSON Lines: keys absent from every record of this chunk
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype="string")
        return frame

    def _ensure_rows_table(self, columns: list[str]) -> None:
        new_open = [
            c
            for c in open_columns_of(self.spec, columns, self.config, self.source)
            if c not in self.open_cols
        ]
        if self.rows is not None and not new_open:
            return
        self.open_cols += new_open
        open_type = pa.float64() if self.spec.open_columns == "questions" else pa.string()
        fields = [("_line", pa.int64())]
        fields += [(n, ARROW_TYPES[t]) for n, t in self.spec.fields.items()]
        fields += [(c, open_type) for c in self.open_cols]
        if self.spec.kind == "metrics":
            fields.append(("row_key", pa.string()))
        self.arrow_schema = pa.schema(fields)
        if self.batch_id is not None:  # direct: the open columns before any row goes in
            if self.rows is not None:
                raise Restart
            self.rows = self.spec.table
            if self.spec.open_columns:
                self.wh.add_open_columns(self.spec.table, self.open_cols, self.batch_id)
        elif self.rows is None:
            self.rows = self.wh.create_stage(_schema(self.arrow_schema))
        else:
            self.flush()  # the rows held back have the columns before these
            for col in new_open:
                self.wh.add_column(self.rows, col, dt.dtype(open_type))

    def staged(self) -> ir.Table:
        assert self.rows is not None
        return self.wh.table(self.rows)

    def ranked(self) -> ir.Table:
        t = self.staged()
        w = ibis.window(group_by=[t[k] for k in self.spec.key], order_by=t._line)
        return t.mutate(_rank=ibis.row_number().over(w), _first=t._line.min().over(w))

    def quarantine_in_file_duplicates(self, result: IngestResult) -> None:
        t = self.staged()
        keys = t.group_by(list(self.spec.key)).aggregate(_copies=t.count())
        self.in_file_duplicates = int((keys._copies - 1).sum().fill_null(0).execute())
        if not self.in_file_duplicates:  # the usual case: no window over the whole batch
            return
        ranked = self.ranked()
        dups = ranked.filter(ranked._rank > 0)
        key = ", ".join(self.spec.key)
        for batch in dups.to_pyarrow_batches(chunk_size=100_000):
            frame = batch.to_pandas()
            if frame.empty:
                continue
            rows = frame.drop(columns=["_rank", "_first"])
            bad = pd.DataFrame(
                {
                    "line": frame["_line"],
                    "field": key,
                    "reason": key
                    + ": duplicate in file: same as line "
                    + frame["_first"].astype(str),
                    "raw": raw_json(rows),
                    "row_key": frame[self.spec.key[0]],
                }
            )
            self.add_rejects(bad, result)

    def unique_rows(self) -> ir.Table:
        if not self.in_file_duplicates:
            return self.staged()
        ranked = self.ranked()
        return ranked.filter(ranked._rank == 0).drop("_rank", "_first")

    def drop(self) -> None:
        for name in (self.rows, self.rejects):
            if name is not None and name.startswith(STAGE_PREFIX):
                self.wh.drop_stage(name)


def _schema(schema: pa.Schema) -> ibis.Schema:
    return ibis.Schema.from_pyarrow(schema)


def _commit(
    wh: Warehouse,
    spec: KindSpec,
    staging: _Staging,
    result: IngestResult,
    sha: str,
    started: float,
) -> None:
    unique = staging.unique_rows()
    with wh.transaction():
        wh.lock("ingest")  # PostgreSQL: concurrent ingests take batch ids and dedupe in turn
        batches = wh.table("batches")
        batch_id = int(batches.batch_id.max().fill_null(0).execute()) + 1
        if spec.open_columns:
            wh.add_open_columns(spec.table, staging.open_cols, batch_id)
        changes = UnitChanges([], [])
        if spec.kind == "units":  # before the insert: it tells new units from changed ones
            changes = apply_unit_changes(wh, unique, batch_id, staging.today)
        target = wh.table(spec.table)
        new_rows = unique.anti_join(target, list(spec.key))
        result.unknown_customers = unknown_customers(wh, spec, new_rows)
        before = wh.count(spec.table)
        wh.insert(spec.table, new_rows.mutate(batch_id=ibis.literal(batch_id, "int64")))
        result.accepted = wh.count(spec.table) - before
        result.updated, result.changes = changes.units, changes.lines()
        result.duplicates = (
            staging.staged_rows - staging.in_file_duplicates - result.accepted - result.updated
        )
        assert staging.rejects is not None
        rejects = wh.table(staging.rejects)
        wh.insert(
            "quarantine",
            rejects.mutate(
                batch_id=ibis.literal(batch_id, "int64"),
                kind=ibis.literal(spec.kind),
                source=ibis.literal(staging.source),
            ),
        )
        record_batch(wh, spec, staging.source, result, sha, started, batch_id)
    result.batch_id = batch_id
