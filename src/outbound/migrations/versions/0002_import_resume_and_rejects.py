"""import jobs: resumable state and rejected rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_rejects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("column", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_rejects_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rejects")),
    )
    with op.batch_alter_table("import_rejects", schema=None) as batch_op:
        batch_op.create_index("ix_import_rejects_job_line", ["job_id", "line"], unique=False)

    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stored_path", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("archived_path", sa.String(length=1024), nullable=True))
        batch_op.add_column(
            sa.Column("bytes_total", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("bytes_done", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("worker_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_import_jobs_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_jobs_status"))
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("worker_id")
        batch_op.drop_column("bytes_done")
        batch_op.drop_column("bytes_total")
        batch_op.drop_column("archived_path")
        batch_op.drop_column("stored_path")

    with op.batch_alter_table("import_rejects", schema=None) as batch_op:
        batch_op.drop_index("ix_import_rejects_job_line")

    op.drop_table("import_rejects")
