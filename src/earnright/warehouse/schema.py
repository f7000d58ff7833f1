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

from earnright.config import DATA_KINDS

# The data kinds migration 1 created; later kinds are created by their own migration.
FIRST_KINDS = ("units", "customers", "feedback", "invitations", "transactions", "metrics")
assert set(FIRST_KINDS) <= set(DATA_KINDS)

__all__ = ["DATA_KINDS", "MIGRATIONS", "OPEN_COLUMN_TYPE", "TABLES", "Migration", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: dict[str, dt.DataType]
    key: tuple[str, ...]


def _ts() -> dt.DataType:
    return dt.Timestamp()


S, F, INT = dt.String(), dt.Float64(), dt.Int64()

CHURN_COUNT_COLUMNS: dict[str, dt.DataType] = {
    "churn_exposed": INT,
    "churn_exposed_lost": INT,
    "churn_control": INT,
    "churn_control_lost": INT,
    "churn_measured_at": _ts(),  # set when measured, also when nobody could be compared
}

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec(
            "units",
            {"unit_id": S, "name": S, "level": S, "parent_id": S, "batch_id": INT},
            ("unit_id",),
        ),
        # migration 4: each unit's placements in the hierarchy, effective-dated. valid_from is
        # null on a unit's first placement (it holds for all earlier data), valid_to null on
        # its current one; a row at time t belongs to the parent whose [from, to) holds t.
        TableSpec(
            "unit_history",
            {"unit_id": S, "parent_id": S, "valid_from": _ts(), "valid_to": _ts(), "batch_id": INT},
            ("unit_id", "valid_from"),
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
                # migration 4: the row's key (unit_id, response_id …) when it could be read;
                # a later batch that brings the same key supersedes the quarantined row
                "row_key": S,
            },
            (),
        ),
        TableSpec(
            "open_columns",
            {"table_name": S, "column_name": S, "column_type": S, "added_in_batch": INT},
            ("table_name", "column_name"),
        ),
        # Early warning (migration 2): incidents, the alerts grouped into them, the outbox of
        # messages to deliver, and each series' detector state between runs.
        TableSpec(
            "incidents",
            {
                "incident_id": S,
                "indicator": S,
                "moment": S,
                "metric": S,
                "owner": S,
                "segment": S,  # root causes "dim=value&dim=value", several joined by "; "
                "status": S,  # open | resolved
                "severity": S,  # page | ticket
                "started_at": _ts(),
                "detected_at": _ts(),
                "last_alert_at": _ts(),
                "resolved_at": _ts(),
                "customers_affected": INT,
                "customer_value": F,
                "extra_churn": F,
                "extra_churn_low": F,
                "extra_churn_high": F,
                "churn_basis": S,
                "revenue_at_risk": F,
                "revenue_at_risk_low": F,
                "revenue_at_risk_high": F,
                "updated_at": _ts(),
                # migration 3: the episode's churn counts, measured once its follow-up is
                # complete (null until then); what later incidents pool as history
                **CHURN_COUNT_COLUMNS,
                # migration 5: the failure's end measured on its segment's series (exclusive)
                "ended_at": _ts(),
                # migration 9: customer_value's basis, "lifetime value" | "a year of spend"
                "value_basis": S,
            },
            ("incident_id",),
        ),
        TableSpec(
            "alerts",
            {
                "alert_id": S,  # indicator|segment|rule|bucket: the same alert twice is one
                "incident_id": S,
                "indicator": S,
                "segment": S,
                "rule": S,  # burn:<name> | anomaly
                "severity": S,
                "fired_at": _ts(),
                "score": F,  # burn rate of the long window, or the anomaly score
                "created_at": _ts(),
            },
            ("alert_id",),
        ),
        TableSpec(
            "outbox",
            {
                "message_id": S,
                "incident_id": S,
                "event": S,  # opened | updated | resolved
                "channel": S,  # webhook | email
                "target": S,
                "payload": S,  # JSON
                "status": S,  # pending | delivered | failed | refused
                "attempts": INT,
                "next_attempt_at": _ts(),
                "last_error": S,
                "created_at": _ts(),
                "delivered_at": _ts(),
            },
            ("message_id",),
        ),
        TableSpec(
            "detector_state",
            {"series_key": S, "last_bucket": _ts(), "state": S, "updated_at": _ts()},
            ("series_key",),
        ),
        # migration 7: calls to lost customers (earnright loss-call), the reason they gave
        TableSpec(
            "loss_calls",
            {
                "customer_id": S,
                "called_at": _ts(),
                "caller": S,
                "outcome": S,
                "reason_code": S,
                "won_back": INT,
                "batch_id": INT,
            },
            ("customer_id", "called_at"),
        ),
        # migration 11: each comment's sentiment and themes, computed on ingest from the
        # feedback row (response_id, batch_id) under a taxonomy version; a new version (the
        # config's themes or the model changed) recomputes them (earnright.comments.store)
        TableSpec(
            "comment_labels",
            {
                "response_id": S,
                "batch_id": INT,
                "sentiment": S,
                "sentiment_score": F,
                "version": S,
                "labelled_at": _ts(),
            },
            ("response_id",),
        ),
        TableSpec(
            "comment_themes",
            {"response_id": S, "theme": S, "confidence": F, "rank": INT, "version": S},
            ("response_id", "theme"),
        ),
        # migration 6: the workspace's config (JSON, without the warehouse URL), so that a
        # warehouse URL opens the workspace (earnright.open_workspace)
        TableSpec("workspace_config", {"name": S, "config": S, "updated_at": _ts()}, ("name",)),
        # Accountability (migration 7). Issues come from files (kind issues), people (earnright
        # issue add) and the product (earnright issues-sync: focus items, incidents); actions
        # from files (kind actions) and from decisions. Decisions and commitments are
        # append-only: never updated in place, so they are their own audit trail.
        TableSpec(
            "issues",
            {
                "issue_id": S,
                "unit_id": S,
                "title": S,
                "owner": S,
                "moment": S,
                "metric": S,
                "evidence": S,
                "customers_at_stake": F,
                "revenue_at_stake": F,
                "raised_at": _ts(),
                "origin": S,  # file | person | focus | incident
                "batch_id": INT,
            },
            ("issue_id",),
        ),
        TableSpec(
            "actions",
            {
                "action_id": S,
                "unit_id": S,
                "started_at": _ts(),
                "metric": S,
                "kind": S,
                "owner": S,
                "decided_by": S,
                "moment": S,
                "issue_id": S,
                "expected_effect": F,
                "ended_at": _ts(),
                "batch_id": INT,
            },
            ("action_id",),
        ),
        TableSpec(
            "decisions",
            {
                "decision_id": S,
                "issue_id": S,
                "action": S,
                "action_kind": S,
                "unit_id": S,
                "amount": F,
                "decided_by": S,
                "authority": S,  # own right | escalated from NAME
                "moment": S,
                "metric": S,
                "expected": S,
                "expected_effect": F,
                "show_by": _ts(),
                "commitment_id": S,
                "decided_at": _ts(),
            },
            ("decision_id",),
        ),
        TableSpec(
            "commitments",
            {"commitment_id": S, "text": S, "made_by": S, "made_at": _ts()},
            ("commitment_id",),
        ),
    ]
}


# The type of the open columns of each table that has them.
OPEN_COLUMN_TYPE: dict[str, dt.DataType] = {"feedback": F, "customers": S, "metrics": S}


@dataclass(frozen=True)
class Migration:
    """Tables to create (with their final schema from ``TABLES``) and ``columns`` (table,
    column) to add to tables an earlier migration created; a column already there (a table
    created after its spec gained it) is left alone. ``statements`` (portable SQL) then fill
    what the new tables or columns derive from existing rows."""

    version: int
    description: str
    tables: tuple[str, ...]
    columns: tuple[tuple[str, str], ...] = ()
    statements: tuple[str, ...] = ()


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "core tables, ingest batches, quarantine, open-column ledger",
        (*FIRST_KINDS, "batches", "quarantine", "open_columns"),
    ),
    Migration(
        2,
        "early warning: incidents, alerts, outbox, detector state",
        ("incidents", "alerts", "outbox", "detector_state"),
    ),
    Migration(
        3,
        "incidents: churn counts measured once per episode",
        (),
        tuple(("incidents", column) for column in CHURN_COUNT_COLUMNS),
    ),
    Migration(
        4,
        "effective-dated unit hierarchy; the key of each quarantined row",
        ("unit_history",),
        (("quarantine", "row_key"),),
        (
            "INSERT INTO unit_history (unit_id, parent_id, valid_from, valid_to, batch_id) "
            "SELECT unit_id, parent_id, CAST(NULL AS TIMESTAMP), CAST(NULL AS TIMESTAMP), "
            "batch_id FROM units",
        ),
    ),
    Migration(
        5,
        "incidents: the failure's end, measured on the segment's own series",
        (),
        (("incidents", "ended_at"),),
    ),
    Migration(
        6, "the workspace's config, for opening it from the warehouse URL", ("workspace_config",)
    ),
    Migration(7, "calls to lost customers: the reason they gave", ("loss_calls",)),
    Migration(
        8,
        "accountability: issues, actions, decisions (append-only) and commitments",
        ("issues", "actions", "decisions", "commitments"),
    ),
    Migration(
        9,
        "incidents: the basis of the customer value (lifetime value or a year of spend)",
        (),
        (("incidents", "value_basis"),),
    ),
    Migration(
        11,
        "comments: sentiment and themes of every comment, under a taxonomy version",
        ("comment_labels", "comment_themes"),
    ),
)
