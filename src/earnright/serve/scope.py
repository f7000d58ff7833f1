"""What one signed-in person may see and do: the one place authorisation is decided.

A :class:`Scope` is built once per request from the user (:func:`scope_for`) and passed to
every service (:mod:`earnright.serve.services`); routes never decide visibility themselves.

============  =====================================  ==========================  =========
role          units (pages, scores, comments)        moments (incidents …)       decides
============  =====================================  ==========================  =========
admin         every unit                             every moment                yes
executive     every unit                             every moment                yes
analyst       every unit                             every moment                no
manager       their unit and every unit below it     every moment of those       yes
owner         no unit pages                          their moments, every unit   yes
============  =====================================  ==========================  =========

The analyst reads everything (as at the terminal) but records nothing through the server.
An object outside the scope is answered as if it did not exist (404), so ids cannot be probed;
a verb the role lacks (an analyst deciding) is refused (403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ROLES", "Role", "Scope", "incident_units", "scope_for"]


class Role(StrEnum):
    admin = "admin"
    executive = "executive"
    manager = "manager"
    owner = "owner"
    analyst = "analyst"


ROLES = tuple(r.value for r in Role)
WRITERS = (Role.admin, Role.executive, Role.manager, Role.owner)


@dataclass(frozen=True)
class Scope:
    """The units and moments one person sees (None: every one) and whether they decide."""

    user: str
    role: Role
    units: frozenset[str] | None
    moments: frozenset[str] | None

    @property
    def decides(self) -> bool:
        return self.role in WRITERS

    @property
    def sees_everything(self) -> bool:
        return self.units is None and self.moments is None

    def sees_unit(self, unit_id: Any) -> bool:
        """A unit's page, scores and comments (an owner sees no unit page)."""
        if self.role is Role.owner:
            return False
        return self.units is None or str(unit_id) in self.units

    def sees_moment_page(self, moment: Any) -> bool:
        """A moment's page covers every unit: for those who see every unit and that moment."""
        return self.units is None and self.sees_moment(moment)

    def sees_moment(self, moment: Any) -> bool:
        return self.moments is None or (moment is not None and str(moment) in self.moments)

    def sees_row(self, row: dict[str, Any], unit_key: str = "unit_id") -> bool:
        """A row with a unit and (maybe) a moment: a comment, an issue, a decision."""
        moment_ok = "moment" not in row or self.sees_moment(row.get("moment"))
        if self.role is Role.owner:
            return moment_ok
        return moment_ok and (self.units is None or str(row.get(unit_key)) in self.units)

    def sees_incident(self, row: dict[str, Any], levels: list[str]) -> bool:
        """An incident: a manager sees those whose segment names a unit of theirs, an owner
        those of their moments."""
        if not self.sees_moment(row.get("moment")):
            return False
        if self.units is None or self.role is Role.owner:
            return True
        named = incident_units(str(row.get("segment") or ""), levels)
        return any(u in self.units for u in named)

    def rows(self, rows: list[dict[str, Any]], unit_key: str = "unit_id") -> list[dict[str, Any]]:
        return [r for r in rows if self.sees_row(r, unit_key)]


def incident_units(segment: str, levels: list[str]) -> list[str]:
    """The unit ids an incident's segment names (``district=D1; daypart=evening``)."""
    parts = [p.strip() for p in re.split(r"[;&]", segment) if "=" in p]
    return [p.split("=", 1)[1] for p in parts if p.split("=", 1)[0] in levels]


def scope_for(user: dict[str, Any], subtree: list[str]) -> Scope:
    """The scope of ``user`` (a row of the users table); ``subtree``: their unit and every
    unit below it (a manager's)."""
    role = Role(user["role"])
    name = str(user["user_name"])
    if role is Role.manager:
        return Scope(name, role, frozenset(subtree), None)
    if role is Role.owner:
        moments = frozenset(m for m in str(user.get("moments") or "").split(",") if m)
        return Scope(name, role, None, moments)
    return Scope(name, role, None, None)
