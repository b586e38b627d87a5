"""attempts: the agent a call was handed to, the agent's disposition and form values

Revision ID: 0015_attempt_agent
Revises: 0014_agents
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_attempt_agent"
down_revision: str | None = "0014_agents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disposition", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("form_values", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            "fk_attempts_agent_id_agents", "agents", ["agent_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_attempts_agent_id", ["agent_id"])


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_agent_id")
        batch_op.drop_constraint("fk_attempts_agent_id_agents", type_="foreignkey")
        for column in ("form_values", "disposition", "agent_id"):
            batch_op.drop_column(column)
