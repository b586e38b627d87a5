"""agent desktop: campaign dispositions, the campaigns an agent works now, and the
disposition and form values in attempt-result webhook events

Revision ID: 0018_desktop
Revises: 0017_amd
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_desktop"
down_revision: str | None = "0017_amd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default list at the time of this migration (campaigns.dispositions.DEFAULTS).
DEFAULTS = [
    {"code": "completed", "label": "Completed", "outcome": "connected"},
    {"code": "not_interested", "label": "Not interested", "outcome": "connected"},
    {"code": "wrong_person", "label": "Wrong person", "outcome": "wrong_person"},
    {"code": "callback", "label": "Callback requested", "outcome": "callback_requested"},
    {"code": "answering_machine", "label": "Answering machine", "outcome": "answering_machine"},
    {"code": "do_not_call", "label": "Do not call", "outcome": "do_not_call"},
]


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dispositions", sa.JSON(), server_default=json.dumps(DEFAULTS), nullable=False
            )
        )
    with op.batch_alter_table("agent_campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposition", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("form_values", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("form_values")
        batch_op.drop_column("disposition")
    with op.batch_alter_table("agent_campaigns", schema=None) as batch_op:
        batch_op.drop_column("active")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("dispositions")
