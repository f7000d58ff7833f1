"""Signed survey tokens: which invitation a link answers, and until when.

A token is ``INVITATION.EXPIRES.SIGNATURE``: the invitation id (base64url), the expiry (Unix
seconds, base 10) and an HMAC-SHA256 of both under the workspace's link secret, truncated to
128 bits (base64url). The secret is made once per warehouse (32 random bytes) and kept in the
``survey_secret`` table, never in a link or the config. A token is single-use because its
invitation takes one answer (the ``survey_answers`` table's unique index), not because the token
is remembered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from earnright.errors import SurveyLinkError
from earnright.warehouse import Warehouse

__all__ = ["link_secret", "sign_token", "verify_token"]

SECRET_NAME = "links"
SIGNATURE_BYTES = 16
_CACHE: WeakKeyDictionary[Warehouse, bytes] = WeakKeyDictionary()  # per open warehouse


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def link_secret(wh: Warehouse) -> bytes:
    """The warehouse's link secret, made on first use (two processes making it at once keep
    the first one stored)."""
    cached = _CACHE.get(wh)
    if cached is not None:
        return cached
    found = _stored_secret(wh)
    if found is None:
        made = secrets.token_hex(32)
        try:
            with wh.transaction():
                now = datetime.now(UTC).replace(tzinfo=None)
                wh.insert(
                    "survey_secret",
                    {"name": [SECRET_NAME], "secret": [made], "created_at": [now]},
                )
        except Exception:  # another process stored one first (unique index): read theirs
            pass
        found = _stored_secret(wh)
        if found is None:
            raise SurveyLinkError("the survey link secret could not be stored in the warehouse")
    _CACHE[wh] = found
    return found


def _stored_secret(wh: Warehouse) -> bytes | None:
    t = wh.table("survey_secret")
    rows = t.filter(t.name == SECRET_NAME).secret.to_pyarrow().to_pylist()
    return bytes.fromhex(rows[0]) if rows else None


def _signature(secret: bytes, invitation: str, expires: int) -> str:
    message = f"v1|{expires}|{invitation}".encode()
    return _b64(hmac.new(secret, message, hashlib.sha256).digest()[:SIGNATURE_BYTES])


def sign_token(secret: bytes, invitation_id: str, expires: datetime) -> str:
    """The token of ``invitation_id``, valid until ``expires`` (naive UTC or aware)."""
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    stamp = int(expires.timestamp())
    encoded = _b64(invitation_id.encode("utf-8"))
    return f"{encoded}.{stamp}.{_signature(secret, invitation_id, stamp)}"


def verify_token(secret: bytes, token: str, *, now: datetime | None = None) -> str:
    """The invitation id a genuine, unexpired token names; SurveyLinkError otherwise (the
    signature is checked before the expiry, so a forged expiry is never believed)."""
    parts = token.split(".")
    invalid = SurveyLinkError("this survey link is not valid: check it was copied whole")
    if len(parts) != 3 or len(token) > 1024:
        raise invalid
    try:
        invitation = _unb64(parts[0]).decode("utf-8")
        stamp = int(parts[1])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if not hmac.compare_digest(_signature(secret, invitation, stamp), parts[2]):
        raise invalid
    current = now or datetime.now(UTC)
    if current.tzinfo is None:
        current = current.replace(tzinfo=UTC)
    if current.timestamp() >= stamp:
        raise SurveyLinkError("this survey link has expired", expired=True)
    return invitation
