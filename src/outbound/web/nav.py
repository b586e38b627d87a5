"""The navigation bar: one entry per built page, shown to the roles that may open it.

To add a page to the bar, append a ``NavItem`` here (and nothing else): the base template
draws the list, hides the entries the user's role may not open, and marks the current one.
"""

from __future__ import annotations

from dataclasses import dataclass

from outbound.users.roles import Role, may_act_as_agent, role_allows


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    role: Role = Role.VIEWER
    # Paths that belong to this entry (it is marked current on them); default: ``path``.
    prefixes: tuple[str, ...] = ()
    # Shown only to those who may take calls (the agent desk): not to a viewer.
    agents_only: bool = False

    def match(self, path: str) -> int:
        """How closely ``path`` belongs to this entry: the longest matching prefix, or -1."""
        best = -1
        for prefix in self.prefixes or (self.path,):
            if path == prefix or (prefix != "/" and path.startswith(prefix.rstrip("/") + "/")):
                best = max(best, len(prefix))
        return best


NAV: list[NavItem] = [
    NavItem("Desk", "/agent", Role.AGENT, agents_only=True),
    NavItem("Campaigns", "/", prefixes=("/", "/campaigns")),
    NavItem("Strategies", "/strategies"),
    NavItem("Schedules", "/schedules"),
    NavItem("Imports", "/imports"),
    NavItem("Do not call", "/dnc"),
    NavItem("Settings", "/settings"),
    NavItem("Agents", "/agents", Role.SUPERVISOR),
    NavItem("Users", "/users", Role.ADMIN),
    NavItem("API tokens", "/tokens", Role.ADMIN),
    NavItem("Audit log", "/audit", Role.ADMIN),
]


def nav_for(role: Role, path: str) -> list[tuple[NavItem, bool]]:
    """The entries this role may open, each with whether it is the current page."""
    items = [
        item
        for item in NAV
        if role_allows(role, item.role) and (may_act_as_agent(role) or not item.agents_only)
    ]
    scores = [item.match(path) for item in items]
    top = max(scores, default=-1)
    return [(item, top >= 0 and score == top) for item, score in zip(items, scores, strict=True)]
