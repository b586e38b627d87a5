"""workers: each channel's free capacity as the worker last saw it

Revision ID: 0008_engine
Revises: 0007_import
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_engine"
down_revision: str | None = "0007_import"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dialer_capacity", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sms_capacity", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("sms_capacity")
        batch_op.drop_column("dialer_capacity")
