"""agent reservations; attempts' reservation and abandon mark; campaigns' abandon message

Revision ID: 0019_dialer
Revises: 0018_desktop
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_dialer"
down_revision: str | None = "0018_desktop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_reservations_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name="fk_agent_reservations_campaign_id_campaigns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agent_reservations"),
        sa.UniqueConstraint("agent_id", name="uq_agent_reservations_agent_id"),
    )
    op.create_index("ix_agent_reservations_campaign_id", "agent_reservations", ["campaign_id"])
    op.create_index("ix_agent_reservations_lease_until", "agent_reservations", ["lease_until"])
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reservation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_attempts_reservation_id", ["reservation_id"])
        batch_op.create_index("ix_attempts_campaign_abandoned", ["campaign_id", "abandoned_at"])
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("abandon_message", sa.String(length=1024), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("opt_out_digit", sa.String(length=1), nullable=False, server_default="9")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("opt_out_digit")
        batch_op.drop_column("abandon_message")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_campaign_abandoned")
        batch_op.drop_index("ix_attempts_reservation_id")
        batch_op.drop_column("abandoned_at")
        batch_op.drop_column("reservation_id")
    op.drop_index("ix_agent_reservations_lease_until", table_name="agent_reservations")
    op.drop_index("ix_agent_reservations_campaign_id", table_name="agent_reservations")
    op.drop_table("agent_reservations")
