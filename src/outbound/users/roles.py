"""Roles and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"
    AGENT = "agent"


# An agent ranks below a viewer: it reads nothing of the back office, only its own desk.
_RANK = {Role.AGENT: -1, Role.VIEWER: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
# Who may take calls (given an agent profile): agents, and supervisors and admins who also
# work the phones. A viewer may not.
AGENT_CAPABLE = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


def role_allows(role: Role, required: Role) -> bool:
    """Roles are nested: an admin may do what a supervisor may, who may do what a viewer may."""
    return _RANK[role] >= _RANK[required]


def may_act_as_agent(role: Role) -> bool:
    return role in AGENT_CAPABLE
