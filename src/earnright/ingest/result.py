"""What one ingest did: the counts of its batch, for the summary paragraph and JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["IngestResult"]


@dataclass
class IngestResult:
    """What one ingest did, for the summary paragraph and ``--format json``."""

    kind: str
    source: str
    batch_id: int | None = None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0  # rows whose key was already in the warehouse: skipped
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    already_ingested_as: int | None = None
    seconds: float = 0.0
    updated: int = 0  # units: existing units renamed or moved (see changes)
    changes: list[str] = field(default_factory=list)
    unknown_customers: int = 0  # accepted rows naming a customer not in customers

    def summary(self) -> str:
        name = Path(self.source).name
        if self.already_ingested_as is not None:
            return (
                f"{name}: these exact bytes were already ingested as {self.kind} batch "
                f"{self.already_ingested_as}; nothing was added. Pass `force` to re-read it."
            )
        reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.quarantine_reasons.items()))
        parts = [
            f"{name}: read {self.rows_read:,} {self.kind} rows in {self.seconds:.1f} s",
            f"accepted {self.accepted:,} as batch {self.batch_id}",
            f"quarantined {self.quarantined:,}" + (f" ({reasons})" if reasons else ""),
        ]
        if self.kind == "units":
            parts.append(f"updated {self.updated:,}" + _listed(self.changes))
            parts.append(f"skipped {self.duplicates:,} unchanged")
        else:
            parts.append(f"skipped {self.duplicates:,} already in the warehouse")
        if self.unknown_customers:
            parts.append(
                f"{self.unknown_customers:,} accepted rows name a customer_id not in customers "
                "(kept; ingest those customers to link them)"
            )
        tail = " See them with `earnright status`." if self.quarantined else ""
        return "; ".join(parts) + "." + tail


def _listed(changes: list[str], most: int = 20) -> str:
    if not changes:
        return ""
    more = f"; … {len(changes) - most:,} more" if len(changes) > most else ""
    return " (" + "; ".join(changes[:most]) + more + ")"
