"""What the Cisco dialers fed to Cisco: one row an attempt, kept in the dialer's own table.

The dialer writes the row (``queued``) when the engine hands it the attempt, marks it
``feeding`` just before the request that carries it and ``fed`` once Cisco took it, and
``done`` when its result is read (``lost`` when none came in time). After a restart of our
service the rows say what is still waiting in Cisco, what was never sent, and what must not
be sent again (a ``feeding`` row whose request may have reached Cisco).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime


class CiscoFeed(Base):
    __tablename__ = "cisco_feed"
    __table_args__ = (
        UniqueConstraint("product", "account", name="uq_cisco_feed_account"),
        Index("ix_cisco_feed_product_state", "product", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    product: Mapped[str] = mapped_column(String(8))  # "uccx" or "ucce"
    attempt_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    campaign: Mapped[str] = mapped_column(String(64))  # the Cisco campaign's id
    account: Mapped[str] = mapped_column(String(30))  # the AccountNumber Cisco reports back
    phone: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(8))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
