"""agents: profiles, campaigns served, not-ready reasons, state history; dialing modes

Revision ID: 0014_agents
Revises: 0013_imports
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014_agents"
down_revision: str | None = "0013_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATE = sa.Enum(
    "logged_out",
    "not_ready",
    "ready",
    "reserved",
    "talking",
    "wrap_up",
    name="agentstate",
    native_enum=False,
    length=12,
)
REASONS = [("Break", False), ("Lunch", False), ("Training", False), ("Meeting", False)]


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    reasons = op.create_table(
        "agent_reasons",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("system", sa.Boolean(), nullable=False),
        _at("created_at"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("sip_address", sa.String(length=255), nullable=False),
        sa.Column("state", STATE, nullable=False),
        _at("state_since"),
        sa.Column(
            "reason_id",
            sa.Integer(),
            sa.ForeignKey("agent_reasons.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _at("last_heartbeat_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_agents_state", "agents", ["state"])
    op.create_table(
        "agent_campaigns",
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_agent_campaigns_campaign_id", "agent_campaigns", ["campaign_id"])
    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "agent_id",
            sa.Integer(),
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", STATE, nullable=False),
        sa.Column("to_state", STATE, nullable=False),
        sa.Column(
            "reason_id",
            sa.Integer(),
            sa.ForeignKey("agent_reasons.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("reason", sa.String(length=64), nullable=True),
        _at("at"),
        sa.Column(
            "by_user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("by", sa.String(length=64), nullable=False),
    )
    op.create_index(
        "ix_agent_state_changes_agent_at", "agent_state_changes", ["agent_id", "at", "id"]
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dialing_mode",
                sa.Enum(
                    "fixed",
                    "preview",
                    "progressive",
                    "predictive",
                    name="dialingmode",
                    native_enum=False,
                    length=12,
                ),
                nullable=False,
                server_default="fixed",
            )
        )
        batch_op.add_column(
            sa.Column("lines_per_agent", sa.Float(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("wrap_up_seconds", sa.Integer(), nullable=False, server_default="60")
        )
        batch_op.add_column(
            sa.Column(
                "after_wrap_up",
                sa.Enum("ready", "not_ready", name="afterwrapup", native_enum=False, length=12),
                nullable=False,
                server_default="ready",
            )
        )
    now = datetime.now(UTC)
    op.bulk_insert(
        reasons,
        [
            {"name": n, "system": s, "created_at": now}
            for n, s in [*REASONS, ("Disconnected", True)]
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        for column in ("after_wrap_up", "wrap_up_seconds", "lines_per_agent", "dialing_mode"):
            batch_op.drop_column(column)
    op.drop_index("ix_agent_state_changes_agent_at", table_name="agent_state_changes")
    op.drop_table("agent_state_changes")
    op.drop_index("ix_agent_campaigns_campaign_id", table_name="agent_campaigns")
    op.drop_table("agent_campaigns")
    op.drop_index("ix_agents_state", table_name="agents")
    op.drop_table("agents")
    op.drop_table("agent_reasons")
