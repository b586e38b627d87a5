"""Do-not-call entries: global (campaign_id NULL) or for one campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import utcnow


class DncEntry(Base):
    __tablename__ = "dnc_entries"
    __table_args__ = (
        Index(
            "uq_dnc_entries_global",
            "number_e164",
            unique=True,
            sqlite_where=text("campaign_id IS NULL"),
            postgresql_where=text("campaign_id IS NULL"),
        ),
        Index(
            "uq_dnc_entries_campaign",
            "campaign_id",
            "number_e164",
            unique=True,
            sqlite_where=text("campaign_id IS NOT NULL"),
            postgresql_where=text("campaign_id IS NOT NULL"),
        ),
        Index("ix_dnc_entries_number", "number_e164"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number_e164: Mapped[str] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(String(28))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16), default="manual")
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
