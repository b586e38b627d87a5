"""Integrity checks of a whole database: the same on a live database and on a restored one.

- **schema**: the database is at the newest migration (alembic head);
- **keys**: no row points at a missing row, for every foreign key the models declare (and
  on SQLite, ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` are clean);
- **contacts and attempts**: each contact's ``attempt_count`` is the number of its attempts,
  its ``last_attempt_id`` names one of its own attempts, and a contact in a state that only
  an attempt can lead to (sent, connected, not connected, SMS sent…, dangling) has one.

``counts`` (rows per table, contacts per state) lets two databases be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, and_, exists, func, select, text
from sqlalchemy.sql.schema import ForeignKeyConstraint

from outbound.contacts.states import ContactState
from outbound.db.base import Base
from outbound.db.engine import Database
from outbound.db.migrate import alembic_config
from outbound.models import Attempt, Contact

ATTEMPTED_STATES = frozenset(
    {
        ContactState.SENT_TO_DIALER,
        ContactState.CONNECTED,
        ContactState.NOT_CONNECTED,
        ContactState.SMS_SENT,
        ContactState.SMS_SENT_CLOSED,
        ContactState.SMS_RESPONDED,
        ContactState.DANGLING,
    }
)


@dataclass
class Report:
    revision: str | None
    head: str
    problems: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(db: Database) -> Report:
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert head is not None
    with db.engine.connect() as conn, conn.begin():
        if db.dialect == "postgresql":  # one snapshot for every query below
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
        report = Report(revision=revision, head=head)
        if revision != head:
            report.problems.append(f"schema at {revision}, not at the newest migration {head}")
        if db.dialect == "sqlite":
            _sqlite_pragmas(conn, report)
        for table in Base.metadata.sorted_tables:
            report.tables[table.name] = conn.scalar(select(func.count()).select_from(table)) or 0
            for constraint in table.foreign_key_constraints:
                orphans = _orphans(conn, constraint)
                if orphans:
                    missing = constraint.referred_table.name
                    report.problems.append(f"{orphans} rows of {table.name} miss their {missing}")
        _contacts(conn, report)
    return report


def _sqlite_pragmas(conn: Connection, report: Report) -> None:
    verdict = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    if verdict != "ok":
        report.problems.append(f"SQLite integrity check: {verdict}")
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        report.problems.append(f"SQLite foreign key check: {len(broken)} rows, e.g. {broken[0]}")


def _orphans(conn: Connection, constraint: ForeignKeyConstraint) -> int:
    child = constraint.table
    parent = constraint.referred_table.alias("parent")  # the same table for a self-reference
    pairs = [(e.parent, parent.c[e.column.name]) for e in constraint.elements]
    present = and_(*(c.is_not(None) for c, _ in pairs))
    matched = exists().where(and_(*(p == c for c, p in pairs)))
    query = select(func.count()).select_from(child).where(present, ~matched)
    return conn.scalar(query) or 0


def _contacts(conn: Connection, report: Report) -> None:
    c, a = Contact.__table__.c, Attempt.__table__.c
    for state, count in conn.execute(select(c.state, func.count()).group_by(c.state)):
        report.states[str(state)] = count
    made = select(func.count()).where(a.contact_id == c.id).scalar_subquery()
    wrong_count = conn.scalar(select(func.count()).where(c.attempt_count != made))
    if wrong_count:
        report.problems.append(f"{wrong_count} contacts' attempt_count differs from their attempts")
    own = exists().where(a.id == c.last_attempt_id, a.contact_id == c.id)
    stray = conn.scalar(select(func.count()).where(c.last_attempt_id.is_not(None), ~own))
    if stray:
        report.problems.append(f"{stray} contacts' last_attempt_id is not one of their attempts")
    unattempted = conn.scalar(
        select(func.count()).where(
            c.state.in_([s.value for s in ATTEMPTED_STATES]), c.attempt_count < 1
        )
    )
    if unattempted:
        report.problems.append(
            f"{unattempted} contacts are in a state only an attempt leads to, with no attempt"
        )
