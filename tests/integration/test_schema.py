"""The migrations build exactly the schema the ORM models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import outbound.models  # noqa: F401
from outbound.db.base import Base
from outbound.db.engine import Database


def test_alembic_head_matches_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_engine_hot_query_index_exists(db: Database) -> None:
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("contacts")}
    due = indexes["ix_contacts_due"]
    assert due["column_names"] == ["campaign_id", "state", "next_attempt_at", "import_seq"]
    assert indexes["uq_contacts_open_phone1"]["unique"]
