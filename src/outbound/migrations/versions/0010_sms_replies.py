"""sms replies: every customer reply kept on its contact, late ones included

Revision ID: 0010_sms_replies
Revises: 0009_sip_dialer_note
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_sms_replies"
down_revision: str | None = "0009_sip_dialer_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sms_replies",
        sa.Column("id", BIG, nullable=False),
        sa.Column("contact_id", BIG, nullable=False),
        sa.Column("attempt_id", BIG, nullable=True),
        sa.Column("phone_number", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_sms_replies_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_sms_replies_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_replies")),
    )
    op.create_index(op.f("ix_sms_replies_contact_id"), "sms_replies", ["contact_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_replies_contact_id"), table_name="sms_replies")
    op.drop_table("sms_replies")
