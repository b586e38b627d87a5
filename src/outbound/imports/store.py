"""Database side of an import: duplicate look-up and the fastest bulk insert per database.

PostgreSQL gets a binary ``COPY … FROM STDIN`` on the session's own connection (same
transaction); SQLite gets one executemany. Both run inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.imports.reader import RowError
from outbound.imports.rows import ContactRow
from outbound.models import Contact, ImportReject

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
# PostgreSQL types of CONTACT_COLUMNS, for the binary COPY (varchar takes text's format).
COPY_TYPES = (
    "int4",
    "int4",
    "int8",
    *(["text"] * (1 + 5 + 5 + 12 + 1)),
    "timestamptz",
    "int4",
    "int4",
    "timestamptz",
    "timestamptz",
    "timestamptz",
)
assert len(COPY_TYPES) == len(CONTACT_COLUMNS)
# Numbers per look-up on PostgreSQL: one array parameter, probed in the index value by value.
PG_LOOKUP_CHUNK = 50_000
# The planner settings index_probes turns off, and its mark in Session.info.
_SCAN_SETTINGS = ("enable_seqscan", "enable_bitmapscan")
_PROBING = "outbound.imports.index_probes"


def open_phone1s(session: Session, campaign_id: int, phone1s: Sequence[str]) -> set[str]:
    """Which of these Phone 1 numbers already have an open life cycle in the campaign.

    On PostgreSQL, one probe of uq_contacts_open_phone1 (campaign_id, phone1_e164, open
    rows only) per number (see index_probes).
    """
    wanted = list(set(phone1s))
    found: set[str] = set()
    if not wanted:
        return found
    if session.connection().dialect.name != "postgresql":
        query = text(
            "SELECT phone1_e164 FROM contacts WHERE campaign_id = :campaign_id"
            " AND closed_at IS NULL AND phone1_e164 IN (SELECT value FROM json_each(:numbers))"
        )
        found.update(session.scalars(query, {"campaign_id": campaign_id, "numbers": _json(wanted)}))
        return found
    query = text(
        "SELECT phone1_e164 FROM contacts WHERE campaign_id = :campaign_id"
        " AND closed_at IS NULL AND phone1_e164 = ANY(string_to_array(:numbers, ','))"
    )
    with index_probes(session):
        for numbers in _joined(wanted):
            found.update(session.scalars(query, {"campaign_id": campaign_id, "numbers": numbers}))
    return found


def dnc_listed(session: Session, campaign_id: int, numbers: Sequence[str]) -> set[str]:
    """Which of these E.164 numbers the campaign must not contact: on the global list or on
    its own.

    The rule is ``dnc.service.is_listed``'s, asked the way a big import needs: not at all
    while both lists are empty, else with the numbers in one parameter (not thousands of
    bound values) and, on PostgreSQL, one index probe a number (see index_probes).
    """
    wanted = sorted(set(numbers))
    listed: set[str] = set()
    if not wanted or not session.scalar(text("SELECT EXISTS (SELECT 1 FROM dnc_entries)")):
        return listed
    if session.connection().dialect.name != "postgresql":
        query = text(
            "SELECT number_e164 FROM dnc_entries"
            " WHERE (campaign_id IS NULL OR campaign_id = :campaign_id)"
            " AND number_e164 IN (SELECT value FROM json_each(:numbers))"
        )
        listed.update(
            session.scalars(query, {"campaign_id": campaign_id, "numbers": _json(wanted)})
        )
        return listed
    query = text(
        "SELECT number_e164 FROM dnc_entries"
        " WHERE (campaign_id IS NULL OR campaign_id = :campaign_id)"
        " AND number_e164 = ANY(string_to_array(:numbers, ','))"
    )
    with index_probes(session):
        for joined in _joined(wanted):
            found = session.execute(query, {"numbers": joined, "campaign_id": campaign_id})
            listed.update(number for (number,) in found)
    return listed


def _json(numbers: Sequence[str]) -> str:
    """Numbers as one JSON array parameter, which SQLite's json_each reads back."""
    return json.dumps(numbers, separators=(",", ":"))


def _joined(numbers: Sequence[str]) -> Iterator[str]:
    """E.164 numbers (no commas in them) as comma-joined texts of PG_LOOKUP_CHUNK numbers:
    one text parameter costs the driver far less than a list of that many strings."""
    for start in range(0, len(numbers), PG_LOOKUP_CHUNK):
        yield ",".join(numbers[start : start + PG_LOOKUP_CHUNK])


@contextmanager
def index_probes(session: Session) -> Iterator[None]:
    """PostgreSQL: inside, a ``column = ANY(:array)`` look-up is one index probe per value,
    whatever the planner's statistics say.

    Why: with statistics that lag behind (a campaign filling up during its first import,
    autovacuum not yet round), the planner judges a sequential scan cheaper, or a scan of
    the campaign's whole range of an index, and a big import turns quadratic: each chunk
    re-reads every row of the ones before. The look-ups name the leading columns of an
    index (phone1's names its campaign too), and sequential and bitmap scans are off inside (for this transaction, restored
    on the way out), so the plan is that index's probe, a few microseconds a value.
    """
    if session.info.get(_PROBING) or session.connection().dialect.name != "postgresql":
        yield  # nested (the outer block sets and restores), or nothing to set
        return
    saved = ", ".join(f"current_setting('{name}')" for name in _SCAN_SETTINGS)
    off = ", ".join(f"set_config('{name}', 'off', true)" for name in _SCAN_SETTINGS)
    # A select list is evaluated left to right: the settings are read, then turned off.
    before = session.execute(text(f"SELECT {saved}, {off}")).one()[: len(_SCAN_SETTINGS)]
    session.info[_PROBING] = True
    try:
        yield
    except BaseException:
        session.info.pop(_PROBING, None)  # the transaction is failing: it drops SET LOCALs
        raise
    session.info.pop(_PROBING, None)
    restore = ", ".join(
        f"set_config('{name}', :v{i}, true)" for i, name in enumerate(_SCAN_SETTINGS)
    )
    session.execute(text(f"SELECT {restore}"), {f"v{i}": v for i, v in enumerate(before)})


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


def contact_tuples(
    rows: Sequence[ContactRow],
    *,
    campaign_id: int,
    job_id: int,
    first_seq: int,
    listed: set[str],
    now: datetime,
) -> tuple[list[tuple[Any, ...]], int]:
    """``contact_tuple`` for a chunk's fresh rows, numbered from ``first_seq``, and how many
    are DNC listed (a number of theirs is in ``listed``). Built for speed: once per row."""
    pending: tuple[Any, ...] = (ContactState.PENDING.value, now, 1, 0, None, now, now)
    blocked: tuple[Any, ...] = (ContactState.DNC_LISTED.value, None, 1, 0, now, now, now)
    out = []
    dnc = 0
    for seq, row in enumerate(rows, first_seq):
        tail = pending
        if listed and not listed.isdisjoint(row.e164):
            tail = blocked
            dnc += 1
        out.append(
            (
                campaign_id,
                job_id,
                seq,
                row.crm_contact_id,
                *row.phones,
                *row.e164,
                *row.params,
                *tail,
            )
        )
    return out, dnc


def insert_contacts(session: Session, rows: Sequence[tuple[Any, ...]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        columns = ", ".join(CONTACT_COLUMNS)
        # Binary: about four times less Python work per row than text, and less parsing.
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY contacts ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(COPY_TYPES)
            write = copy.write_row
            for row in rows:
                write(row)
        return
    _executemany_contacts(connection, rows)


def _executemany_contacts(connection: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """One driver-level executemany (SQLite): the ORM's per-row, per-column work was most
    of the import's time there. Only the columns whose type converts a value (timestamps,
    the state) are converted, and each distinct value once: they repeat in every row."""
    dialect = connection.dialect
    table = Contact.__table__
    converters = [
        (i, processor)
        for i, name in enumerate(CONTACT_COLUMNS)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    done: list[dict[Any, Any]] = [{} for _ in converters]
    converted = []
    for row in rows:
        values = list(row)
        for (i, processor), memo in zip(converters, done, strict=True):
            value = values[i]
            try:
                values[i] = memo[value]
            except KeyError:
                values[i] = memo[value] = processor(value)
        converted.append(tuple(values))
    connection.exec_driver_sql("PRAGMA cache_size = -65536")
    connection.exec_driver_sql(_SQLITE_INSERT, converted)


# Built from the constant column names only.
_SQLITE_INSERT = "INSERT INTO contacts ({}) VALUES ({})".format(  # noqa: S608
    ", ".join(CONTACT_COLUMNS), ", ".join("?" for _ in CONTACT_COLUMNS)
)


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
