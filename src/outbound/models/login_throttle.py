"""Failed log-ins counted per account and per client address, for the log-in throttle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, UTCDateTime


class LoginThrottle(Base):
    """One row per key (``user:<id>`` or ``addr:<client address>``), counted atomically."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
