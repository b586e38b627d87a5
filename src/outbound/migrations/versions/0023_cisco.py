"""cisco_feed: what the Cisco dialers (UCCX, UCCE) fed to Cisco, one row an attempt

Revision ID: 0023_cisco
Revises: 0022_metrics
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_cisco"
down_revision: str | None = "0022_metrics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cisco_feed",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product", sa.String(length=8), nullable=False),
        sa.Column(
            "attempt_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=30), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cisco_feed")),
        sa.UniqueConstraint("product", "account", name="uq_cisco_feed_account"),
    )
    op.create_index("ix_cisco_feed_product_state", "cisco_feed", ["product", "state"])


def downgrade() -> None:
    op.drop_index("ix_cisco_feed_product_state", table_name="cisco_feed")
    op.drop_table("cisco_feed")
