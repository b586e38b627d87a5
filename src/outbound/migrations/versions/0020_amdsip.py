"""attempts' answering-machine detection: its time and verdict

Revision ID: 0020_amdsip
Revises: 0019_dialer
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_amdsip"
down_revision: str | None = "0019_dialer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("amd_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("amd_verdict", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("amd_verdict")
        batch.drop_column("amd_ms")
