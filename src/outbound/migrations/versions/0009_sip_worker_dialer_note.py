"""workers: why the worker's dialer takes no calls, when the dialer says (a trunk's back-off)

Revision ID: 0009_sip_dialer_note
Revises: 0008_engine
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sip_dialer_note"
down_revision: str | None = "0008_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialer_note", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("dialer_note")
