"""Campaign naming rules, pure so the API, the UI and the CLI give the same answer.

Each check returns the reason a value is refused, or None when it is acceptable.
"""

from __future__ import annotations

import re

NAME_MIN = 4
NAME_MAX = 64
CRM_ID_MAX = 128

_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]")


def name_problem(name: str) -> str | None:
    """Names go to dialers and file names: ASCII letters, digits, "_" and "-", 4 to 64 long."""
    if len(name) < NAME_MIN:
        return f"name must be at least {NAME_MIN} characters long"
    if len(name) > NAME_MAX:
        return f"name must be at most {NAME_MAX} characters long"
    bad = sorted({c for c in name if not _NAME_CHARS.fullmatch(c)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return f"name may contain only letters A-Z/a-z, digits, '_' and '-'; found {shown}"
    return None


def crm_id_problem(crm_id: str) -> str | None:
    """A CRM id is used in URLs as ``crm:<id>``: no whitespace, control characters or "/"."""
    if not 1 <= len(crm_id) <= CRM_ID_MAX:
        return f"crm_campaign_id must be 1 to {CRM_ID_MAX} characters long"
    if any(c.isspace() or not c.isprintable() for c in crm_id):
        return "crm_campaign_id may not contain spaces or control characters"
    if "/" in crm_id:
        return "crm_campaign_id may not contain '/' (it is used in URLs as crm:<id>)"
    return None
