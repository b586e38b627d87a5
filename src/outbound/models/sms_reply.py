"""Every message a customer sent back, on the contact whose SMS it answers.

The attempt's outcome says what the reply decided (``sms_reply``, ``sms_stop``); this keeps
the message itself, whole, and also the replies that decided nothing: one after the SMS
expiry, or a second one after the first closed the contact (``late``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime


class SmsReply(Base):
    __tablename__ = "sms_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("contacts.id", ondelete="CASCADE"),
        index=True,
    )
    # The SMS attempt it answers: the newest one to this number when it came.
    attempt_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("attempts.id", ondelete="SET NULL"),
    )
    phone_number: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opt_out: Mapped[bool] = mapped_column(Boolean())
    # The contact no longer waited for a reply to this attempt: recorded, decided nothing.
    late: Mapped[bool] = mapped_column(Boolean())
