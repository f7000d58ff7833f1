"""The ``[privacy]`` table: which identifiers are masked out of free text on ingest, and what
``earnright forget`` keeps of a forgotten customer's attributes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from earnright.config.values import _Model

__all__ = ["IdentifierKind", "Privacy"]

IdentifierKind = Literal["email", "url", "iban", "card", "ssn", "ip", "phone"]


def _every_kind() -> list[IdentifierKind]:
    return ["email", "url", "iban", "card", "ssn", "ip", "phone"]


class Privacy(_Model):
    """Masking of identifiers in free text, and forgetting customers (docs/privacy.md)."""

    mask_comments: bool = True
    """Mask identifiers in every free-text field on ingest (feedback comments, loss-call
    outcomes, issue titles and evidence, quarantined rows): the raw text is never stored."""
    identifiers: list[IdentifierKind] = Field(default_factory=_every_kind)
    """The kinds of identifier masked, each replaced by its placeholder ([EMAIL] …): email,
    url (with a path or query), iban (checksum), card (Luhn), ssn, ip, phone."""
    forget_min_shared: int = Field(default=5, ge=1, le=1_000_000)
    """When a customer is forgotten, an attribute value (a customers column) shared by fewer
    customers than this is erased (it identifies them); a more common one, and the assets
    lapse_by attribute, is kept so the ledger keeps its numbers."""
