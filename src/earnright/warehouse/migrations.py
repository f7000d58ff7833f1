"""The warehouse's migrations, in order: each creates tables (with their final schema from
:data:`earnright.warehouse.schema.TABLES`) or adds columns, and is recorded once applied."""

from __future__ import annotations

from dataclasses import dataclass

from earnright.warehouse.schema import CHURN_COUNT_COLUMNS, FIRST_KINDS

__all__ = ["MIGRATIONS", "Migration"]


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
    Migration(10, "customers forgotten: the record of each erasure", ("forgotten",)),
    Migration(
        11,
        "comments: sentiment and themes of every comment, under a taxonomy version",
        ("comment_labels", "comment_themes"),
    ),
    Migration(12, "the monthly pack's maturity figures, for the next pack's trend", ("packs",)),
    Migration(
        13,
        "serve: users, API tokens, sessions and the audit log",
        ("users", "api_tokens", "sessions", "audit_log"),
    ),
    Migration(
        14,
        "the survey: link secret, one answer per invitation, reminders, detractors' cases",
        ("survey_secret", "survey_answers", "survey_reminders", "survey_cases", "survey_followups"),
        (("invitations", "moment"),),
        (
            "CREATE UNIQUE INDEX IF NOT EXISTS survey_answers_once "
            "ON survey_answers (invitation_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS survey_reminders_once "
            "ON survey_reminders (reminder_id)",
            "CREATE UNIQUE INDEX IF NOT EXISTS survey_secret_once ON survey_secret (name)",
        ),
    ),
)
