"""personal callbacks (contacts' callback time and agent, campaigns' grace time); preview
reservations (the contact shown, the agent's call)

Revision ID: 0021_agents2
Revises: 0020_amdsip
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_agents2"
down_revision: str | None = "0020_amdsip"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("callback_agent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_contacts_callback_agent_id_agents",
            "agents",
            ["callback_agent_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_contacts_callback_agent_id", ["callback_agent_id"])
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("agent_reservations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("dial_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_agent_reservations_contact_id_contacts",
            "contacts",
            ["contact_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint("uq_agent_reservations_contact_id", ["contact_id"])
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("callback_grace_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch_op.add_column(
            sa.Column(
                "callback_after_grace",
                sa.Enum(
                    "any_agent", "wait", name="callbackaftergrace", native_enum=False, length=12
                ),
                nullable=False,
                server_default="any_agent",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("callback_after_grace")
        batch_op.drop_column("callback_grace_minutes")
    with op.batch_alter_table("agent_reservations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_agent_reservations_contact_id", type_="unique")
        batch_op.drop_constraint("fk_agent_reservations_contact_id_contacts", type_="foreignkey")
        batch_op.drop_column("dial_requested_at")
        batch_op.drop_column("contact_id")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("handed_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_callback_agent_id")
        batch_op.drop_constraint("fk_contacts_callback_agent_id_agents", type_="foreignkey")
        batch_op.drop_column("callback_agent_id")
        batch_op.drop_column("callback_at")
