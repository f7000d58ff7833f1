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

__all__ = ["DATA_KINDS", "OPEN_COLUMN_TYPE", "TABLES", "TableSpec"]


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
            {
                "invitation_id": S,
                "unit_id": S,
                "customer_id": S,
                "sent_at": _ts(),
                "batch_id": INT,
                # migration 14: the journey moment the invitation asks about (its survey form)
                "moment": S,
            },
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
                "origin": S,  # file | person | focus | incident | loss | theme
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
        # migration 13: the server's people, their API tokens and sessions (hashes only), and
        # the audit log of sign-ins and of decisions recorded through the server
        TableSpec(
            "users",
            {
                "user_name": S,
                "role": S,  # admin | executive | manager | owner | analyst
                "unit_id": S,  # a manager's unit (they see its subtree)
                "moments": S,  # an owner's moments, comma-separated
                "password_hash": S,  # argon2id
                "disabled_at": _ts(),
                "created_at": _ts(),
            },
            ("user_name",),
        ),
        TableSpec(
            "api_tokens",
            {
                "token_id": S,
                "user_name": S,
                "token_hash": S,
                "created_at": _ts(),
                "revoked_at": _ts(),
            },
            ("token_id",),
        ),
        TableSpec(
            "sessions",
            {
                "session_hash": S,
                "user_name": S,
                "csrf": S,
                "created_at": _ts(),
                "expires_at": _ts(),
            },
            ("session_hash",),
        ),
        TableSpec(
            "audit_log",
            {"at": _ts(), "user_name": S, "event": S, "object": S, "detail": S, "address": S},
            ("at", "user_name", "event"),
        ),
        TableSpec(
            "commitments",
            {"commitment_id": S, "text": S, "made_by": S, "made_at": _ts()},
            ("commitment_id",),
        ),
        # The survey (migration 14): the secret links are signed with; one answer per
        # invitation (a unique index makes a second one fail, whoever sends it); reminders
        # sent; detractors' cases and their follow-ups (append-only).
        TableSpec("survey_secret", {"name": S, "secret": S, "created_at": _ts()}, ("name",)),
        TableSpec(
            "survey_answers",
            {
                "invitation_id": S,
                "response_id": S,
                "channel": S,  # form | api
                "answered_at": _ts(),
                "batch_id": INT,
            },
            ("invitation_id",),
        ),
        TableSpec(
            "survey_reminders",
            {"reminder_id": S, "invitation_id": S, "sent_at": _ts(), "messages": INT},
            ("reminder_id",),
        ),
        TableSpec(
            "survey_cases",
            {
                "case_id": S,
                "invitation_id": S,
                "response_id": S,
                "unit_id": S,
                "moment": S,
                "customer_id": S,
                "ltr": F,
                "comment": S,
                "manager": S,  # the [owners] team alerted
                "opened_at": _ts(),
                "answer_by": _ts(),
            },
            ("case_id",),
        ),
        TableSpec(
            "survey_followups",
            {"case_id": S, "note": S, "noted_by": S, "noted_at": _ts(), "closes": INT},
            ("case_id", "noted_at"),
        ),
        # migration 12: the maturity figures of each monthly pack, so the next pack can say
        # what changed since (earnright pack)
        TableSpec(
            "packs",
            {"unit_id": S, "period": S, "figures": S, "made_at": _ts()},
            ("unit_id", "period"),
        ),
        # migration 10: customers forgotten (earnright forget): who asked, when, why, what was
        # changed where. The customer id is not kept: only a salted, slow hash of it, so that
        # forgetting the same customer again is recognised.
        TableSpec(
            "forgotten",
            {
                "forget_id": S,
                "id_hash": S,
                "salt": S,
                "reason": S,
                "requested_by": S,
                "forgotten_at": _ts(),
                "tables": S,  # JSON: table -> rows changed
                "rows": INT,
            },
            ("forget_id",),
        ),
    ]
}


# The type of the open columns of each table that has them.
OPEN_COLUMN_TYPE: dict[str, dt.DataType] = {"feedback": F, "customers": S, "metrics": S}
