"""What an SMS gateway's callbacks brought in (receipts, customer replies), waiting for the
engine: the API writes a row, the gateway's ``poll`` takes it, in whichever process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import utcnow


class SmsInbox(Base):
    __tablename__ = "sms_inbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # A result names its attempt and outcome; an inbound message has a number and a text.
    attempt_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    outcome: Mapped[str | None] = mapped_column(String(24))
    raw: Mapped[str] = mapped_column(String(255), default="")
    number: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
