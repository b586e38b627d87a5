"""Contacts: one row per life cycle of a person in a campaign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.contacts.states import ContactState
from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import Timestamps, enum_column

PHONE_SLOTS = (1, 2, 3, 4, 5)
PARAM_SLOTS = tuple(range(1, 13))


class Contact(Timestamps, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        # The engine's hot query: due contacts of a campaign, in order.
        Index("ix_contacts_due", "campaign_id", "state", "next_attempt_at", "import_seq"),
        Index("ix_contacts_campaign_state_id", "campaign_id", "state", "id"),
        Index("ix_contacts_phone1", "phone1_e164"),
        # A CRM looks its contacts up by its own id (bench/contacts_paging.py).
        Index("ix_contacts_campaign_crm", "campaign_id", "crm_contact_id"),
        # The dispatcher's two claims: fresh contacts in upload order, retries by due time.
        Index(
            "ix_contacts_fresh",
            "campaign_id",
            "import_seq",
            sqlite_where=text("state = 'pending' AND attempt_count = 0"),
            postgresql_where=text("state = 'pending' AND attempt_count = 0"),
        ),
        Index(
            "ix_contacts_retry",
            "campaign_id",
            "next_attempt_at",
            sqlite_where=text("state = 'pending' AND attempt_count > 0"),
            postgresql_where=text("state = 'pending' AND attempt_count > 0"),
        ),
        # One open life cycle per Phone 1 per campaign; a closed one frees the number. Also
        # the only index on phone1_e164, so the number leads: PostgreSQL (before 17) probes
        # an index with an array of values (the import's look-up) only on its first column.
        Index(
            "uq_contacts_open_phone1",
            "phone1_e164",
            "campaign_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # The import job that brought the contact in. No foreign key: its check cost a big
    # import about 3 s per million rows, and a job is only deleted with its campaign, whose
    # contacts go too (migration 0004_import).
    import_job_id: Mapped[int | None] = mapped_column(Integer)
    import_seq: Mapped[int] = mapped_column(BigInteger)
    crm_contact_id: Mapped[str | None] = mapped_column(String(128))

    phone1: Mapped[str] = mapped_column(String(28))
    phone2: Mapped[str | None] = mapped_column(String(28))
    phone3: Mapped[str | None] = mapped_column(String(28))
    phone4: Mapped[str | None] = mapped_column(String(28))
    phone5: Mapped[str | None] = mapped_column(String(28))
    phone1_e164: Mapped[str] = mapped_column(String(16))
    phone2_e164: Mapped[str | None] = mapped_column(String(16))
    phone3_e164: Mapped[str | None] = mapped_column(String(16))
    phone4_e164: Mapped[str | None] = mapped_column(String(16))
    phone5_e164: Mapped[str | None] = mapped_column(String(16))

    param1: Mapped[str | None] = mapped_column(String(255))
    param2: Mapped[str | None] = mapped_column(String(255))
    param3: Mapped[str | None] = mapped_column(String(255))
    param4: Mapped[str | None] = mapped_column(String(255))
    param5: Mapped[str | None] = mapped_column(String(255))
    param6: Mapped[str | None] = mapped_column(String(255))
    param7: Mapped[str | None] = mapped_column(String(255))
    param8: Mapped[str | None] = mapped_column(String(255))
    param9: Mapped[str | None] = mapped_column(String(255))
    param10: Mapped[str | None] = mapped_column(String(255))
    param11: Mapped[str | None] = mapped_column(String(255))
    param12: Mapped[str | None] = mapped_column(String(255))

    state: Mapped[ContactState] = mapped_column(enum_column(ContactState, 20))
    request_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    number_to_call: Mapped[str | None] = mapped_column(String(16))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_position: Mapped[int] = mapped_column(Integer, default=1)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(24))
    # The attempt whose result the contact waits for; a result for any other is stale.
    last_attempt_id: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A callback booked (by an agent's disposition or a CRM) for this time; with an agent it
    # is personal: only that agent gets it until the campaign's grace time has passed.
    # Both are cleared when the callback is dialled or cancelled.
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    callback_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
