"""Engine workers: each process registers and beats; a silent one's claims are recovered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, UTCDateTime
from outbound.models._columns import utcnow


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What each channel could take when the worker last beat (0: down or full; NULL: not
    # known). "Why idle" names a channel no live worker can use as the reason.
    dialer_capacity: Mapped[int | None] = mapped_column(Integer)
    sms_capacity: Mapped[int | None] = mapped_column(Integer)
    # Why the dialer takes nothing, when it knows (a trunk asked for a pause): for "why idle".
    dialer_note: Mapped[str | None] = mapped_column(String(255))
