"""Forgetting a customer (``earnright forget``): their personal data erased from every table,
in one transaction, and a record that it was done.

What happens to the customer's rows:

- every value equal to the customer id, in any text column of any table (``customer_id`` of
  customers, feedback, invitations, transactions, loss calls, and any table a later version
  adds), becomes one pseudonymous id (``anon-`` and 16 random hex digits, drawn afresh, derived
  from nothing): the rows the ledger counts stay, with their units, times and amounts, so the
  customer asset ledger's counts and values do not change, but nothing links them to the person;
- their words are erased: the comment of each of their feedback rows and what they said on each
  loss call (the free-text fields of :data:`ERASED_TEXT`) become empty;
- their attributes (customers columns) are erased where the value is shared by fewer than
  ``[privacy] forget_min_shared`` customers (a value that rare identifies them); a more common
  one (a segment, a tier) and the ``[assets] lapse_by`` attribute stay, for the ledger;
- their quarantined rows (the rows as read, which hold everything) are deleted.

The record (table ``forgotten``) says who asked, when, why, and how many rows of which tables
changed. It does not keep the id: only a salted PBKDF2 hash of it, so that forgetting the same
customer again is recognised (a no-op, saying when it was done) and an id never seen is an
error. Everything happens in one transaction: an error anywhere leaves the warehouse as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ibis
import pandas as pd

from earnright.config import Config
from earnright.errors import QueryError, WarehouseError
from earnright.warehouse import STAGE_PREFIX, Warehouse

__all__ = ["ERASED_TEXT", "FORGET_TABLE", "ForgetReport", "forget_customer", "id_hash"]

FORGET_TABLE = "forgotten"
# the free text a customer wrote or said, erased when they are forgotten
ERASED_TEXT: dict[str, tuple[str, ...]] = {
    "feedback": ("comment",),
    "loss_calls": ("outcome",),
    "survey_cases": ("comment",),  # a detractor's comment, copied to their case
}
NOT_SCANNED = {FORGET_TABLE, "schema_migrations", "quarantine"}
HASH_ROUNDS = 200_000  # PBKDF2-SHA256: about 0.1 s a guess for whoever holds the warehouse


@dataclass
class ForgetReport:
    """What forgetting one customer did: rows changed per table, and the record's fields."""

    forget_id: str
    forgotten_at: datetime
    requested_by: str
    reason: str | None
    rows: dict[str, int] = field(default_factory=dict)
    already: bool = False  # forgotten before: nothing was changed this time


def id_hash(customer_id: str, salt: str) -> str:
    """The salted, slow hash of a customer id the record keeps instead of the id."""
    digest = hashlib.pbkdf2_hmac("sha256", customer_id.encode(), bytes.fromhex(salt), HASH_ROUNDS)
    return digest.hex()


def forget_customer(
    wh: Warehouse,
    config: Config,
    customer_id: str,
    *,
    requested_by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> ForgetReport:
    """Erase ``customer_id``'s personal data from every table (module doc) in one transaction;
    a no-op report if no table holds them and they were forgotten before; QueryError if no
    table holds them and they never were."""
    cid = customer_id.strip()
    if not cid:
        raise QueryError(
            "the customer id is empty: name the customer to forget", argument="customer"
        )
    if not requested_by.strip():
        raise QueryError("name who asks for the customer to be forgotten", argument="by")
    when = now or datetime.now(UTC).replace(tzinfo=None)
    with wh.transaction():
        wh.lock("forget")
        columns = _text_columns(wh)
        found = _rows_holding(wh, columns, cid)
        quarantined = _quarantined(wh, cid)
        if not found and quarantined.empty:
            return _previous(wh, cid) or _unknown(cid)
        rows = dict(found)
        _erase_text(wh, cid)
        _erase_attributes(wh, config, cid)
        if len(quarantined):
            _delete_quarantined(wh, quarantined)
            rows["quarantine"] = len(quarantined)
        pseudonym = "anon-" + secrets.token_hex(8)
        for table, cols in columns.items():
            for col in cols:
                if found.get(table):
                    wh.update(table, {col: cid}, {col: pseudonym})
        left = _rows_holding(wh, columns, cid)
        if left:  # cannot happen unless a write failed silently: roll everything back
            raise WarehouseError(f"forgetting left the customer id in {sorted(left)}; nothing done")
        report = ForgetReport(secrets.token_hex(8), when, requested_by.strip(), reason, rows)
        _record(wh, cid, report)
    return report


def _text_columns(wh: Warehouse) -> dict[str, list[str]]:
    """Every text column of every table that may hold a customer's id."""
    out: dict[str, list[str]] = {}
    for name in sorted(wh.list_tables()):
        if name in NOT_SCANNED or name.startswith(STAGE_PREFIX):
            continue
        schema = wh.table(name).schema()
        cols = [c for c, dtype in schema.items() if dtype.is_string()]
        if cols:
            out[name] = cols
    return out


def _rows_holding(wh: Warehouse, columns: dict[str, list[str]], cid: str) -> dict[str, int]:
    """Per table, the rows with a text column equal to the customer id (tables with none left
    out)."""
    out = {}
    for name, cols in columns.items():
        t = wh.table(name)
        n = int(t.filter(ibis.or_(*[t[c] == cid for c in cols])).count().execute())
        if n:
            out[name] = n
    return out


def _erase_text(wh: Warehouse, cid: str) -> None:
    tables = set(wh.list_tables())
    for table, cols in ERASED_TEXT.items():
        if table in tables:
            wh.update(table, {"customer_id": cid}, dict.fromkeys(cols))


def _erase_attributes(wh: Warehouse, config: Config, cid: str) -> None:
    """Null the customer's attribute values that fewer than forget_min_shared customers share."""
    from earnright.customers.assets import customer_attributes

    c = wh.table("customers")
    attributes = [a for a in customer_attributes(wh) if a != config.assets.lapse_by]
    if not attributes:
        return
    mine = c.filter(c.customer_id == cid).select(*attributes).execute()
    if mine.empty:
        return
    rare = []
    for attr in attributes:
        value = mine[attr].iloc[0]
        if pd.isna(value):
            continue
        shared = int(c.filter(c[attr] == str(value)).count().execute())
        if shared < config.privacy.forget_min_shared:
            rare.append(attr)
    if rare:
        wh.update("customers", {"customer_id": cid}, dict.fromkeys(rare))


def _quarantined(wh: Warehouse, cid: str) -> pd.DataFrame:
    """The quarantined rows of the customer: keyed by their id, or naming it as a field of the
    row as read (a JSON value, or a CSV field)."""
    q = wh.table("quarantine")
    near = q.filter((q.row_key == cid) | q.raw.contains(cid))
    rows = near.select("batch_id", "kind", "source", "line", "row_key", "raw").execute()
    if rows.empty:
        return rows
    as_value = re.compile(r'(?:^|[,{\[:]\s*)"?' + re.escape(cid) + r'"?\s*(?:$|[,}\]])')
    mine = (rows.row_key == cid) | rows.raw.fillna("").map(lambda raw: bool(as_value.search(raw)))
    return rows[mine]


def _delete_quarantined(wh: Warehouse, rows: pd.DataFrame) -> None:
    for r in rows.to_dict("records"):
        key = {k: (None if pd.isna(r[k]) else r[k]) for k in ("batch_id", "kind", "source", "line")}
        wh.delete("quarantine", key)


def _previous(wh: Warehouse, cid: str) -> ForgetReport | None:
    """The record of an earlier forgetting of ``cid``, as a no-op report."""
    log = wh.table(FORGET_TABLE).execute()
    for salt in log.salt.dropna().unique():
        match = log[log.id_hash == id_hash(cid, str(salt))]
        if len(match):
            r = match.sort_values("forgotten_at").iloc[-1]
            return ForgetReport(
                str(r.forget_id), r.forgotten_at.to_pydatetime(), str(r.requested_by),
                None if pd.isna(r.reason) else str(r.reason), json.loads(r.tables), already=True,
            )  # fmt: skip
    return None


def _unknown(cid: str) -> ForgetReport:
    raise QueryError(
        f"no customer '{cid}' in any table, and none was forgotten under that id; check the id",
        argument="customer",
    )


def _record(wh: Warehouse, cid: str, report: ForgetReport) -> None:
    salts = wh.table(FORGET_TABLE).salt.min().execute()  # one salt per warehouse, once drawn
    salt = str(salts) if salts is not None and not pd.isna(salts) else secrets.token_hex(16)
    wh.insert(
        FORGET_TABLE,
        {
            "forget_id": [report.forget_id],
            "id_hash": [id_hash(cid, salt)],
            "salt": [salt],
            "reason": [report.reason],
            "requested_by": [report.requested_by],
            "forgotten_at": [report.forgotten_at],
            "tables": [json.dumps(report.rows, sort_keys=True)],
            "rows": [sum(report.rows.values())],
        },
    )
