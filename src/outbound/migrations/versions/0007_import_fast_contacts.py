"""contacts: leaner writes for big imports

The import writes a million contacts at a time; every constraint and index on contacts is
paid once per row. One bought nothing, one was in the wrong order:

- the foreign key ``import_job_id`` -> ``import_jobs`` (ON DELETE SET NULL): an import job is
  only ever deleted with its campaign, whose contacts go with it (campaign_id's cascade), so
  the SET NULL never ran; its check cost about 3 s per million rows. The column stays.
- ``uq_contacts_open_phone1`` now lists phone1_e164 before campaign_id (same rule): the
  import's duplicate look-up probes it with an array of values (``= ANY``), which PostgreSQL
  before 17 does only on an index's first column. (``ix_contacts_phone1`` stays: the
  contacts search finds closed life cycles by number through it.)

Revision ID: 0007_import
Revises: 0006_smpp
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_import"
down_revision: str | None = "0006_smpp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_contacts_import_job_id_import_jobs", type_="foreignkey")
        batch_op.drop_index("uq_contacts_open_phone1")
        batch_op.create_index(
            "uq_contacts_open_phone1",
            ["phone1_e164", "campaign_id"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("uq_contacts_open_phone1")
        batch_op.create_index(
            "uq_contacts_open_phone1",
            ["campaign_id", "phone1_e164"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.create_foreign_key(
            "fk_contacts_import_job_id_import_jobs",
            "import_jobs",
            ["import_job_id"],
            ["id"],
            ondelete="SET NULL",
        )
