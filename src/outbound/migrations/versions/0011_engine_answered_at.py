"""attempts: when the call was answered; "open" (the dangling sweep) means no result at all

A voice call's outcome is recorded when it is answered (``answered_at``); its end follows in
``ended_at``. The dangling sweep looks for attempts with neither, so its partial index now
leaves answered calls out.

Revision ID: 0011_engine_answered
Revises: 0010_sms_replies
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_engine_answered"
down_revision: str | None = "0010_sms_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNANSWERED = "ended_at IS NULL AND answered_at IS NULL"


def upgrade() -> None:
    op.add_column("attempts", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_attempts_open", table_name="attempts")
    op.create_index(
        "ix_attempts_open",
        "attempts",
        ["sent_at"],
        unique=False,
        sqlite_where=sa.text(UNANSWERED),
        postgresql_where=sa.text(UNANSWERED),
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_open", table_name="attempts")
    op.create_index(
        "ix_attempts_open",
        "attempts",
        ["sent_at"],
        unique=False,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("answered_at")
