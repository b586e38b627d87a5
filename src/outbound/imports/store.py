"""Database side of an import: duplicate look-up and the fastest bulk insert per database.

PostgreSQL gets ``COPY … FROM STDIN`` on the session's own connection (same transaction);
SQLite gets one multi-row executemany. Both run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.imports.reader import RowError
from outbound.imports.rows import ContactRow
from outbound.models import Contact, ImportReject

IN_CHUNK = 5000

CONTACT_COLUMNS = (
    "campaign_id",
    "import_job_id",
    "import_seq",
    "crm_contact_id",
    *(f"phone{i}" for i in range(1, 6)),
    *(f"phone{i}_e164" for i in range(1, 6)),
    *(f"param{i}" for i in range(1, 13)),
    "state",
    "next_attempt_at",
    "next_position",
    "attempt_count",
    "closed_at",
    "created_at",
    "updated_at",
)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def open_phone1s(session: Session, campaign_id: int, phone1s: Sequence[str]) -> set[str]:
    """Which of these Phone 1 numbers already have an open life cycle in the campaign."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(phone1s))):
        query = select(Contact.phone1_e164).where(
            Contact.campaign_id == campaign_id,
            Contact.closed_at.is_(None),
            Contact.phone1_e164.in_(chunk),
        )
        found.update(session.scalars(query))
    return found


def contact_tuple(
    row: ContactRow,
    *,
    campaign_id: int,
    job_id: int,
    seq: int,
    dnc: bool,
    now: datetime,
) -> tuple[Any, ...]:
    state = ContactState.DNC_LISTED if dnc else ContactState.PENDING
    return (
        campaign_id,
        job_id,
        seq,
        row.crm_contact_id,
        *row.phones,
        *row.e164,
        *row.params,
        state.value,
        None if dnc else now,
        1,
        0,
        now if dnc else None,
        now,
        now,
    )


def insert_contacts(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        columns = ", ".join(CONTACT_COLUMNS)
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY contacts ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    session.execute(insert(Contact), [dict(zip(CONTACT_COLUMNS, r, strict=True)) for r in rows])


def insert_rejects(session: Session, job_id: int, errors: Sequence[RowError]) -> None:
    if errors:
        session.execute(
            insert(ImportReject),
            [
                {
                    "job_id": job_id,
                    "line": e.line,
                    "column": e.column,
                    "reason": e.reason,
                    "raw": e.raw,
                }
                for e in errors
            ],
        )
