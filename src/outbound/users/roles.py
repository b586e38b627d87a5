"""Roles and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


_RANK = {Role.VIEWER: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


def role_allows(role: Role, required: Role) -> bool:
    """Roles are nested: an admin may do what a supervisor may, who may do what a viewer may."""
    return _RANK[role] >= _RANK[required]
