"""Table schemas and the versioned migrations that create them.

Every table has fixed *core* columns. Three tables also have *open* columns that grow as data
arrives, each added by an additive, recorded migration (``ALTER TABLE … ADD COLUMN``):

- ``feedback``: one float column per question (``ltr``, ``osat``, ``q_wait`` …) — the wide shape;
  docs/architecture.md gives the reasons.
- ``customers``: one string column per customer attribute (segment, tier, platform …).
- ``metrics``: one string column per dimension (platform, daypart, segment …).

Timestamps are stored as UTC without a zone. ``batch_id`` ties each row to the ingest batch that
brought it.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.datatypes as dt

__all__ = ["MIGRATIONS", "OPEN_COLUMN_TYPE", "TABLES", "Migration", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, dt.DataType]
    key: tuple[str, ...]


def _ts() -> dt.DataType:
    return dt.Timestamp()


S, F, INT = dt.String(), dt.Float64(), dt.Int64()

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "units",
            {"unit_id": S, "name": S, "level": S, "parent_id": S, "batch_id": INT},
            ("unit_id",),
        ),
        TableSpec(
            "customers",
            {"customer_id": S, "home_unit_id": S, "joined_at": _ts(), "batch_id": INT},
            ("customer_id",),
        ),
        TableSpec(
            "feedback",
            {
                "response_id": S,
                "unit_id": S,
                "responded_at": _ts(),
                "customer_id": S,
                "channel": S,
                "moment": S,
                "comment": S,
                "batch_id": INT,
            },
            ("response_id",),
        ),
        TableSpec(
            "invitations",
            {"invitation_id": S, "unit_id": S, "customer_id": S, "sent_at": _ts(), "batch_id": INT},
            ("invitation_id",),
        ),
        TableSpec(
            "transactions",
            {
                "transaction_id": S,
                "customer_id": S,
                "unit_id": S,
                "occurred_at": _ts(),
                "amount": F,
                "batch_id": INT,
            },
            ("transaction_id",),
        ),
        TableSpec(
            "metrics",
            {
                "row_key": S,
                "observed_at": _ts(),
                "metric": S,
                "unit_id": S,
                "value": F,
                "good": INT,
                "total": INT,
                "batch_id": INT,
            },
            ("row_key",),
        ),
        TableSpec(
            "batches",
            {
                "batch_id": INT,
                "kind": S,
                "source": S,
                "sha256": S,
                "rows_read": INT,
                "rows_accepted": INT,
                "rows_quarantined": INT,
                "rows_duplicate": INT,
                "started_at": _ts(),
                "finished_at": _ts(),
            },
            ("batch_id",),
        ),
        TableSpec(
            "quarantine",
            {
                "batch_id": INT,
                "kind": S,
                "source": S,
                "line": INT,
                "field": S,
                "reason": S,
                "raw": S,
            },
            (),
        ),
        TableSpec(
            "open_columns",
            {"table_name": S, "column_name": S, "column_type": S, "added_in_batch": INT},
            ("table_name", "column_name"),
        ),
    ]
}

DATA_KINDS = ("units", "customers", "feedback", "invitations", "transactions", "metrics")

# The type of the open columns of each table that has them.
OPEN_COLUMN_TYPE: dict[str, dt.DataType] = {"feedback": F, "customers": S, "metrics": S}


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    tables: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core tables, ingest batches, quarantine, open-column ledger", tuple(TABLES)),
)
