"""engine state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_attempt_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "ix_contacts_fresh",
            ["campaign_id", "import_seq"],
            unique=False,
            sqlite_where=sa.text("state = 'pending' AND attempt_count = 0"),
            postgresql_where=sa.text("state = 'pending' AND attempt_count = 0"),
        )
        batch_op.create_index(
            "ix_contacts_retry",
            ["campaign_id", "next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("state = 'pending' AND attempt_count > 0"),
            postgresql_where=sa.text("state = 'pending' AND attempt_count > 0"),
        )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_open",
            ["sent_at"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attempts_phone_number"), ["phone_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attempts_worker_id"), ["worker_id"], unique=False)

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_flight", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rate_tokens", sa.Float(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("rate_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_open")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_retry")
        batch_op.drop_index("ix_contacts_fresh")
        batch_op.drop_column("last_attempt_id")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("rate_at")
        batch_op.drop_column("rate_tokens")
        batch_op.drop_column("in_flight")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempts_worker_id"))
        batch_op.drop_index(batch_op.f("ix_attempts_phone_number"))

    op.drop_table("workers")
