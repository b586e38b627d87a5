"""The audit log: one row per change a user made to an audited object. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime


class AuditEntry(Base):
    """Who changed what, when and from where; ``changes`` is a list of
    ``{"field", "before", "after"}`` with secrets masked.

    No foreign keys on purpose: an entry outlives the user and the object it names, and no
    cascade may ever change or delete it.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_kind_object", "kind", "object_id"),
        Index("ix_audit_log_username", "username"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    # The API token's name when the change came with a long-lived token (None: a log-in).
    token_name: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_name: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(8))
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
