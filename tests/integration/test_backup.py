"""``outbound backup`` and ``outbound restore`` on SQLite and PostgreSQL, while the engine and
a writer keep changing the database: the restored database passes the same integrity checks
as the live one and holds every contact committed before the backup started."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from outbound.cli import app
from outbound.contacts.schemas import ContactCreate
from outbound.contacts.service import add_contact
from outbound.db import integrity
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.models import Attempt, Contact
from tests.conftest import PG_ADMIN_URL, Account, _pg_admin_engine
from tests.integration.test_engine_flow import START, make_engine, setup_campaign

# Voice, then SMS: connected, busy, no answer, never answers; calls and messages pile up.
STRATEGY = {
    "name": "call then text",
    "attempts": [{"channel": "voice"}, {"channel": "sms", "sms_template": "Hello"}],
}
ENDINGS = ("200", "486", "480", "999")
# Far above what a healthy run needs; only a hang ends here (then the test fails, naming it).
HANG_GUARD_SECONDS = 300


@pytest.fixture
def empty_url(db: Database, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the same backend as ``db``, dropped after the test."""
    if db.dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"outbound_restore_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def cli(url: str, *args: str) -> tuple[int, str]:
    ran = CliRunner().invoke(app, list(args), env={"OUTBOUND_DATABASE_URL": url})
    return ran.exit_code, ran.output


class Background:
    """Runs ``work`` over and over in a thread until stopped; counts the rounds."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work
        self.rounds = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self._changed = threading.Condition()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        try:
            while not self.stop.is_set():
                self.work()
                with self._changed:
                    self.rounds += 1
                    self._changed.notify_all()
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc
            with self._changed:
                self._changed.notify_all()

    def wait_rounds(self, count: int) -> None:
        with self._changed:
            done = self._changed.wait_for(
                lambda: self.rounds >= count or self.error is not None, HANG_GUARD_SECONDS
            )
        assert self.error is None, self.error
        assert done, f"no {count} rounds within {HANG_GUARD_SECONDS} s"

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()
        assert self.error is None, self.error


def test_round_trip_while_the_engine_runs(
    client: TestClient, admin: Account, db: Database, empty_url: str, tmp_path: Path
) -> None:
    phones = [f"+14155{n:03d}{ENDINGS[n % 4]}" for n in range(40)]
    campaign = setup_campaign(client, admin, strategy=STRATEGY, phones=phones)

    clock = VirtualClock(START)
    engine = make_engine(db, clock)
    engine.register()

    def engine_step() -> None:
        clock.sleep_until(min(engine.step(), clock.now() + timedelta(seconds=5)))

    committed: list[int] = []
    serial = iter(range(100_000))

    def add_one() -> None:
        with db.transaction() as session:
            body = ContactCreate(phone1=f"+1650555{next(serial):04d}")
            added = add_contact(session, str(campaign), body, now=datetime.now(UTC))
            contact_id = added.contact.id
        committed.append(contact_id)  # only once its transaction committed

    running, writing = Background(engine_step), Background(add_one)
    running.thread.start()
    writing.thread.start()
    try:
        running.wait_rounds(30)
        writing.wait_rounds(20)
        before_backup = set(committed)
        steps_at_backup = running.rounds
        code, output = cli(db.url, "backup", str(tmp_path / "outbound.backup"))
        assert code == 0, output
        assert "Backup written to" in output
        # The engine and the writer went on while (and after) the backup ran.
        running.wait_rounds(steps_at_backup + 10)
        writing.wait_rounds(len(before_backup) + 5)
    finally:
        running.stop.set()
        writing.stop.set()
        running.thread.join()
        writing.thread.join()
        engine.close_channels()
    running.finish()
    writing.finish()

    code, output = cli(empty_url, "restore", str(tmp_path / "outbound.backup"))
    assert code == 0, output
    assert "schema migrated" in output
    code, output = cli(empty_url, "check-db")
    assert code == 0 and "integrity: ok" in output, output

    live = integrity.check(db)
    restored_db = Database(empty_url)
    try:
        restored = integrity.check(restored_db)
        with restored_db.transaction() as session:
            restored_ids = set(session.scalars(select(Contact.id)))
            restored_attempts = session.scalar(select(Attempt.id).limit(1))
    finally:
        restored_db.dispose()
    assert live.problems == [] and restored.problems == []
    assert restored.revision == restored.head == live.revision
    assert before_backup <= restored_ids, sorted(before_backup - restored_ids)[:10]
    assert restored_ids <= set(committed) | _contact_ids(db)
    assert restored_attempts is not None  # the engine's work is in the backup too
    assert (
        live.tables["contacts"] >= restored.tables["contacts"] >= len(phones) + len(before_backup)
    )

    # Restoring again into the now non-empty database is refused, naming why.
    code, output = cli(empty_url, "restore", str(tmp_path / "outbound.backup"))
    assert code == 1
    assert "is not empty" in output and "restore only into an empty database" in output


def _contact_ids(db: Database) -> set[int]:
    with db.transaction() as session:
        return set(session.scalars(select(Contact.id)))


def test_restore_refuses_a_database_in_use(db: Database, tmp_path: Path) -> None:
    code, output = cli(db.url, "backup", str(tmp_path / "b"))
    assert code == 0, output
    code, output = cli(db.url, "restore", str(tmp_path / "b"))
    assert code == 1
    assert "the database to restore into is not empty" in output


def test_a_backup_of_the_other_kind_or_no_backup_is_refused(
    db: Database, empty_url: str, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.write_bytes(b"PGDMP..." if db.dialect == "sqlite" else b"SQLite format 3\x00....")
    code, output = cli(empty_url, "restore", str(other))
    assert code == 1 and "backup and the database is" in output
    junk = tmp_path / "junk"
    junk.write_text("hello")
    code, output = cli(empty_url, "restore", str(junk))
    assert code == 1 and "neither an SQLite backup nor a pg_dump" in output


def test_without_pg_dump_the_message_says_what_to_install(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("pg_dump is for PostgreSQL only")
    monkeypatch.setenv("OUTBOUND_PG_BIN", str(tmp_path))  # a folder with no pg_dump in it
    target = tmp_path / "b"
    code, output = cli(db.url, "backup", str(target))
    assert code == 1
    assert "pg_dump is not installed" in output and "postgresql-client" in output
    assert not target.exists()


def test_the_integrity_checks_find_what_they_look_for(
    client: TestClient, admin: Account, db: Database
) -> None:
    """Each check, shown failing on a database broken on purpose (so a clean report means
    something)."""
    setup_campaign(client, admin, strategy=STRATEGY, phones=["+14155550200"])
    assert integrity.check(db).problems == []
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers
        conn.execute(text("UPDATE contacts SET attempt_count = 2, state = 'connected'"))
        conn.execute(text("UPDATE contacts SET last_attempt_id = 999"))
        conn.execute(text("UPDATE campaigns SET schedule_id = 999"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001_initial_schema'"))
    try:
        problems = "\n".join(integrity.check(db).problems)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM contacts"))
            conn.execute(text("UPDATE campaigns SET schedule_id = (SELECT min(id) FROM schedules)"))
            head = integrity.check(db).head
            conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert "not at the newest migration" in problems
    assert "rows of campaigns miss their schedules" in problems
    assert "attempt_count differs from their attempts" in problems
    assert "last_attempt_id is not one of their attempts" in problems
    assert cli(db.url, "check-db")[0] == 0  # repaired
