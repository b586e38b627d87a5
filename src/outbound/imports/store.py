"""Database side of an import: duplicate look-up and the fastest bulk insert per database.

PostgreSQL gets a text-format ``COPY … FROM STDIN`` (lines the block built by whole columns)
on the session's own connection; SQLite gets one executemany. Both run inside the caller's
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import compress, count
from typing import Any

from sqlalchemy import Connection, insert, text
from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.imports.block import Block
from outbound.imports.reader import RowError
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
# Numbers per look-up on PostgreSQL: one array parameter, probed in the index value by value.
PG_LOOKUP_CHUNK = 50_000
# The planner settings index_probes turns off, and its mark in Session.info.
_SCAN_SETTINGS = ("enable_seqscan", "enable_bitmapscan")
_PROBING = "outbound.imports.index_probes"


def open_phone1s(session: Session, campaign_id: int, phone1s: Sequence[str]) -> set[str]:
    """Which of these Phone 1 numbers already have an open life cycle in the campaign.

    On PostgreSQL, one probe of uq_contacts_open_phone1 (phone1_e164, campaign_id, open
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
    # ``campaign_id + 0``: not an index condition, so the only plan left is the probe by
    # number. Without it, while the statistics still say the campaign is small (it fills up
    # during its first import), the plan read the campaign's whole range of an index and
    # compared each row with every number: seconds a chunk, growing with the campaign
    # (a 30,000-row import in chunks of 1,500 took 78 s, now 3 s).
    query = text(
        "SELECT phone1_e164 FROM contacts WHERE phone1_e164 = ANY(string_to_array(:numbers, ','))"
        " AND campaign_id + 0 = :campaign_id AND closed_at IS NULL"
    )
    with index_probes(session):
        for numbers in _joined(wanted):
            found.update(session.scalars(query, {"campaign_id": campaign_id, "numbers": numbers}))
    return found


def lock_campaign(session: Session, campaign_id: int) -> None:
    """Take the campaign's write lock before anything of the chunk is read.

    On PostgreSQL it locks the campaign row until the transaction ends. On SQLite it is the
    first write of the transaction, so it takes the database's write lock (waiting out a
    concurrent import's chunk) before the duplicate look-ups run: without it the look-ups
    ran before the lock, missed the other import's contacts committed meanwhile, and the
    insert failed on uq_contacts_open_phone1.
    """
    session.execute(
        text("UPDATE campaigns SET import_seq = import_seq WHERE id = :id"), {"id": campaign_id}
    )


def open_crm_ids(session: Session, campaign_id: int, crm_ids: Sequence[str]) -> set[str]:
    """Which of these CRM contact ids already have an open life cycle in the campaign (a
    probe of ix_contacts_campaign_crm per id)."""
    wanted = list(set(crm_ids))
    found: set[str] = set()
    if not wanted:
        return found
    postgres = session.connection().dialect.name == "postgresql"
    query = text(
        "SELECT crm_contact_id FROM contacts WHERE campaign_id = :campaign_id"
        " AND closed_at IS NULL AND crm_contact_id = ANY(:ids)"
        if postgres
        else "SELECT crm_contact_id FROM contacts WHERE campaign_id = :campaign_id"
        " AND closed_at IS NULL AND crm_contact_id IN (SELECT value FROM json_each(:ids))"
    )
    for start in range(0, len(wanted), PG_LOOKUP_CHUNK):
        part = wanted[start : start + PG_LOOKUP_CHUNK]
        ids = part if postgres else _json(part)
        found.update(session.scalars(query, {"campaign_id": campaign_id, "ids": ids}))
    return found


def dnc_listed(session: Session, campaign_id: int, numbers: Sequence[str]) -> set[str]:
    """Which of these E.164 numbers the campaign must not contact: on the global list or on
    its own.

    The rule is ``dnc.service.is_listed``'s, asked the way a big import needs: not at all
    while both lists are empty, else with the numbers in one parameter (not thousands of
    bound values) and, on PostgreSQL, one index probe a number (see index_probes).
    """
    wanted = list(set(numbers))
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
    # The planner picks: a hash of the list (a small list: one pass over it) or an index
    # probe a number (a big one). Table sizes, which it reads live, decide; no index_probes.
    query = text(
        "SELECT n FROM unnest(string_to_array(:numbers, ',')) AS n WHERE n IN ("
        "SELECT number_e164 FROM dnc_entries"
        " WHERE campaign_id IS NULL OR campaign_id = :campaign_id)"
    )
    for joined in _joined(wanted):
        found = session.scalars(query, {"numbers": joined, "campaign_id": campaign_id})
        listed.update(found)
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
    re-reads every row of the ones before. The look-ups name the leading column of an
    index, and sequential and bitmap scans are off inside (for this transaction, restored
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


# COPY's columns before a block's own: the same for every row of a state, then the number.
_HEAD_COLUMNS = (
    "campaign_id",
    "import_job_id",
    "state",
    "next_attempt_at",
    "next_position",
    "attempt_count",
    "closed_at",
    "created_at",
    "updated_at",
    "import_seq",
)


def insert_block(
    session: Session,
    block: Block,
    *,
    campaign_id: int,
    job_id: int,
    first_seq: int,
    listed: set[str],
    now: datetime,
) -> int:
    """Insert a block's rows as contacts numbered from ``first_seq``; DNC listed (a number of
    theirs is in ``listed``) ones closed at once. Returns how many were DNC listed."""
    if not len(block):
        return 0
    blocked: set[int] = set()
    for column in block.e164.values() if listed else ():
        blocked.update(compress(count(), map(listed.__contains__, column)))
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        _executemany_contacts(
            connection, _contact_tuples(block, campaign_id, job_id, first_seq, blocked, now)
        )
        return len(blocked)
    assert block.copy_lines is not None
    stamp = now.isoformat()
    pending = (
        f"{campaign_id}\t{job_id}\t{ContactState.PENDING.value}\t{stamp}\t1\t0\t\\N"
        f"\t{stamp}\t{stamp}"
    )
    closed = (
        f"{campaign_id}\t{job_id}\t{ContactState.DNC_LISTED.value}\t\\N\t1\t0\t{stamp}"
        f"\t{stamp}\t{stamp}"
    )
    heads = [pending] * len(block)
    for i in blocked:
        heads[i] = closed
    numbers = map(str, range(first_seq, first_seq + len(block)))
    lines = map("\t".join, zip(heads, numbers, block.copy_lines, strict=False))
    data = "\n".join(lines).encode() + b"\n"
    columns = ", ".join((*_HEAD_COLUMNS, *block.copy_columns))
    driver = connection.connection.driver_connection
    assert driver is not None
    # COPY's text format, built by whole columns (see block.py): less Python work per row
    # than the binary format, which needs a call per row.
    with driver.cursor() as cursor, cursor.copy(f"COPY contacts ({columns}) FROM STDIN") as copy:
        copy.write(data)
    return len(blocked)


def _contact_tuples(
    block: Block, campaign_id: int, job_id: int, first_seq: int, blocked: set[int], now: datetime
) -> list[tuple[Any, ...]]:
    """A block's rows in CONTACT_COLUMNS's order (SQLite)."""
    pending: tuple[Any, ...] = (ContactState.PENDING.value, now, 1, 0, None, now, now)
    closed: tuple[Any, ...] = (ContactState.DNC_LISTED.value, None, 1, 0, now, now, now)
    size = len(block)

    def column(name: str) -> list[Any]:
        values = block.e164.get(name[:-5]) if name.endswith("_e164") else block.values.get(name)
        if values is None:
            return [None] * size
        return [value or None for value in values]

    middle = zip(*(column(name) for name in CONTACT_COLUMNS[3:-7]), strict=True)
    return [
        (campaign_id, job_id, first_seq + i, *values, *(closed if i in blocked else pending))
        for i, values in enumerate(middle)
    ]


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
    if not errors:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # A COPY: a few thousand rejects a million rows, the ORM's executemany took seconds.
        driver = connection.connection.driver_connection
        assert driver is not None
        query = 'COPY import_rejects (job_id, line, "column", reason, raw) FROM STDIN'
        with driver.cursor() as cursor, cursor.copy(query) as copy:
            for e in errors:
                copy.write_row((job_id, e.line, e.column, e.reason, e.raw.replace("\x00", "")))
        return
    session.execute(
        insert(ImportReject),
        [
            {"job_id": job_id, "line": e.line, "column": e.column, "reason": e.reason, "raw": e.raw}
            for e in errors
        ],
    )
