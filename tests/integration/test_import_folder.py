"""The watched shared folder, end to end: real files in tmp_path, real databases, a fake clock.

A crash is reproduced by leaving the database and the folders exactly as the interrupted
step would have left them, then letting a new watcher (and runner) take over.
"""

from __future__ import annotations

import csv
import fcntl
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outbound.db.engine import Database
from outbound.imports import service
from outbound.imports.folder import SETTLE_INTERVALS, FolderWatcher
from outbound.imports.runner import ImportRunner
from outbound.models import Contact, ImportJob, ImportReject, ImportStatus, Setting
from outbound.settings.schemas import SettingsUpdate
from outbound.settings.service import update_settings
from tests.factories import make_campaign

START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
INTERVAL = 10
GOOD_AND_BAD = (
    "Phone 1,Business Parameter 1\n"
    "+1 650 253 0001,alice\n"
    "+1 650 253 0002,bob\n"
    "=2+3,evil\n"
    "+1 650 253 0003,carol\n"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Env:
    db: Database
    watch: Path
    archive: Path
    clock: FakeClock
    campaign_id: int
    watcher: FolderWatcher
    runner: ImportRunner

    @property
    def inbox(self) -> Path:
        return self.watch / "Sales"

    def poll(self) -> None:
        assert self.watcher.poll_once() == INTERVAL

    def claim(self) -> None:
        """Two rounds an interval apart: the file is seen, then found stable and claimed."""
        self.poll()
        self.clock.advance(INTERVAL)
        self.poll()

    def import_all(self) -> None:
        self.claim()
        self.runner.run_pending()
        self.clock.advance(INTERVAL)
        self.poll()

    def restart(self, *, after: timedelta = timedelta(0)) -> None:
        self.clock.advance(after.total_seconds())
        self.watcher = FolderWatcher(self.db, clock=self.clock)
        self.runner = ImportRunner(self.db, clock=self.clock, folder_poll=self.watcher.poll_once)


def configure(db: Database, **values: object) -> None:
    with db.transaction() as session:
        update_settings(session, SettingsUpdate.model_validate(values))


@pytest.fixture
def env(db: Database, tmp_path: Path) -> Env:
    tmp_path = tmp_path.resolve()
    watch, archive = tmp_path / "in", tmp_path / "archive"
    (watch / "Sales").mkdir(parents=True)
    archive.mkdir()
    campaign_id = make_campaign(db, "Sales")
    configure(
        db, watch_folder=str(watch), archive_folder=str(archive), poll_interval_seconds=INTERVAL
    )
    clock = FakeClock()
    watcher = FolderWatcher(db, clock=clock)
    runner = ImportRunner(db, clock=clock, folder_poll=watcher.poll_once)
    return Env(db, watch, archive, clock, campaign_id, watcher, runner)


def jobs(db: Database) -> list[ImportJob]:
    with db.transaction() as session:
        return list(session.scalars(select(ImportJob).order_by(ImportJob.id)))


def phones(db: Database) -> list[str]:
    with db.transaction() as session:
        return sorted(session.scalars(select(Contact.phone1_e164)))  # type: ignore[arg-type]


def contact_count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Contact)) or 0


def stamp(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def contacts_csv(count: int, first: int = 1) -> str:
    rows = "".join(f"+1 650 253 {i:04d},p{i}\n" for i in range(first, first + count))
    return "Phone 1,Business Parameter 1\n" + rows


def stored_reason(db: Database, line: int) -> str:
    """The reason the service gave for a rejected line (the report must copy it)."""
    with db.transaction() as session:
        reason = session.scalar(select(ImportReject.reason).where(ImportReject.line == line))
    assert reason is not None
    return reason


def test_stable_file_is_imported_once_then_archived_with_its_rejected_rows(env: Env) -> None:
    (env.inbox / "list.csv").write_text(GOOD_AND_BAD)
    env.poll()
    assert names(env.inbox) == ["list.csv"]  # seen once: not yet known to be complete
    env.import_all()

    finished = START + timedelta(seconds=INTERVAL)
    archived = env.archive / "Sales" / f"{stamp(finished)}-list.csv"
    assert names(env.archive / "Sales") == [archived.name, f"{archived.name}.rejected.csv"]
    assert archived.read_text() == GOOD_AND_BAD
    assert read_csv(archived.with_name(f"{archived.name}.rejected.csv")) == [
        ["line", "column", "reason", "raw"],
        ["4", "phone1", stored_reason(env.db, 4), "'=2+3,evil"],
    ]
    assert names(env.inbox) == []
    assert names(env.watch / ".processing" / "Sales") == []
    [job] = jobs(env.db)
    assert (job.status, job.filename, job.rows_imported, job.rows_rejected) == (
        ImportStatus.COMPLETED,
        "list.csv",
        3,
        1,
    )
    assert (job.stored_path, job.archived_path) == (None, str(archived))
    assert phones(env.db) == ["+16502530001", "+16502530002", "+16502530003"]

    for _ in range(3):  # later rounds change nothing
        env.clock.advance(INTERVAL)
        env.poll()
        env.runner.run_pending()
    assert len(jobs(env.db)) == 1
    assert contact_count(env.db) == 3
    assert len(names(env.archive / "Sales")) == 2


def test_a_growing_file_is_not_read_until_its_size_stays_put_for_an_interval(env: Env) -> None:
    target = env.inbox / "growing.csv"
    target.write_text(contacts_csv(2))
    env.poll()
    env.clock.advance(INTERVAL)
    with target.open("a") as handle:  # the writer is still at it
        handle.write("+1 650 253 0003,p3\n")
    env.poll()
    assert names(env.inbox) == ["growing.csv"]
    env.clock.advance(INTERVAL / 2)
    env.poll()  # unchanged, but not for a whole interval yet
    assert names(env.inbox) == ["growing.csv"]
    assert jobs(env.db) == []
    env.clock.advance(INTERVAL / 2)
    env.poll()
    assert names(env.inbox) == []
    env.runner.run_pending()
    assert contact_count(env.db) == 3


@pytest.mark.skipif(not hasattr(fcntl, "F_SETLEASE"), reason="Linux file leases only")
def test_a_file_still_open_for_writing_here_is_left_alone(env: Env) -> None:
    target = env.inbox / "open.csv"
    target.write_text(contacts_csv(2))
    with target.open("a"):
        for _ in range(3):
            env.poll()
            env.clock.advance(INTERVAL)
        assert names(env.inbox) == ["open.csv"]
    env.poll()
    assert names(env.inbox) == []
    assert len(jobs(env.db)) == 1


def test_bad_and_ignored_files_go_to_failed_with_a_reason_partial_names_are_waited_for(
    env: Env,
) -> None:
    """On main an .xlsx, a hidden file or a file beside the campaign folders stayed where it
    was, with nothing saying why it was not imported."""
    (env.inbox / "junk.csv").write_bytes(b"\x00\xff\xfe binary \x00 junk\n")
    (env.inbox / "EMPTY.TXT").write_bytes(b"")
    (env.watch / "Nobody").mkdir()
    (env.watch / "Nobody" / "x.csv").write_text(contacts_csv(1))
    (env.watch / "loose.csv").write_text(contacts_csv(1))
    for name in ("notes.xlsx", ".hidden.csv"):
        (env.inbox / name).write_text(contacts_csv(1))
    waiting = ["big.csv.part", "dl.csv.crdownload", "w.tmp"]
    for name in waiting:
        (env.inbox / name).write_text(contacts_csv(1))
    (env.inbox / "folder.csv").mkdir()
    env.import_all()

    ts = stamp(START + timedelta(seconds=INTERVAL))
    failed = env.archive / "failed"
    reasons = {
        "EMPTY.TXT": "no usable row",
        "junk.csv": "not text",
        "notes.xlsx": "only .csv and .txt files are imported",
        ".hidden.csv": "a hidden file",
    }
    assert names(failed / "Sales") == sorted(
        name for file in reasons for name in (f"{ts}-{file}", f"{ts}-{file}.reason.txt")
    )
    for file, reason in reasons.items():
        assert reason in (failed / "Sales" / f"{ts}-{file}.reason.txt").read_text(), file
    assert (failed / "Sales" / f"{ts}-junk.csv").read_bytes().startswith(b"\x00\xff")
    assert names(failed / "Nobody") == [f"{ts}-x.csv", f"{ts}-x.csv.reason.txt"]
    reason = (failed / "Nobody" / f"{ts}-x.csv.reason.txt").read_text()
    assert "no campaign named 'Nobody'" in reason
    assert f"{ts}-loose.csv" in names(failed)
    assert "not in a campaign folder" in (failed / f"{ts}-loose.csv.reason.txt").read_text()
    assert names(env.inbox) == sorted([*waiting, "folder.csv"])
    assert names(env.archive / "Sales") == []
    assert sorted((j.filename, j.status) for j in jobs(env.db)) == [
        ("EMPTY.TXT", ImportStatus.FAILED),
        ("junk.csv", ImportStatus.FAILED),
    ]
    assert all(j.stored_path is None for j in jobs(env.db))
    assert contact_count(env.db) == 0


def test_a_writer_paused_mid_row_gets_its_file_imported_whole(env: Env) -> None:
    """On main the first part was taken after one quiet interval: a cut last row, and the
    rest, written later under the same name, imported as a file without a header."""
    whole = contacts_csv(6)
    cut = whole.index("+1 650 253 0004") + 6  # in the middle of a row
    target = env.inbox / "slow.csv"
    target.write_text(whole[:cut])
    for _ in range(4):  # the writer is quiet for several intervals
        env.poll()
        env.clock.advance(INTERVAL)
    env.poll()
    env.runner.run_pending()
    assert names(env.inbox) == ["slow.csv"] and jobs(env.db) == []
    with target.open("a") as handle:
        handle.write(whole[cut:])
    env.import_all()
    [job] = jobs(env.db)
    assert (job.status, job.rows_imported, job.rows_rejected) == (ImportStatus.COMPLETED, 6, 0)
    assert contact_count(env.db) == 6


def test_a_file_without_a_final_line_break_is_taken_once_it_has_settled(env: Env) -> None:
    target = env.inbox / "no-newline.csv"
    target.write_text(contacts_csv(2).rstrip("\n"))
    env.poll()
    env.clock.advance(INTERVAL * (SETTLE_INTERVALS - 1))
    env.poll()
    assert names(env.inbox) == ["no-newline.csv"]
    env.clock.advance(INTERVAL)
    env.poll()
    env.runner.run_pending()
    assert names(env.inbox) == []
    assert contact_count(env.db) == 2


def test_links_are_refused_and_what_they_point_to_is_untouched(env: Env, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text(contacts_csv(2))
    (env.inbox / "link.csv").symlink_to(secret)
    other = tmp_path / "other.csv"
    other.write_text(contacts_csv(2, first=10))
    os.link(other, env.inbox / "hard.csv")
    make_campaign(env.db, "Alias")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.csv").write_text(contacts_csv(2, first=20))
    (env.watch / "Alias").symlink_to(outside, target_is_directory=True)
    env.import_all()

    ts = stamp(START + timedelta(seconds=INTERVAL))
    failed = env.archive / "failed" / "Sales"
    assert names(failed) == sorted(
        [
            f"{ts}-hard.csv",
            f"{ts}-hard.csv.reason.txt",
            f"{ts}-link.csv",
            f"{ts}-link.csv.reason.txt",
        ]
    )
    assert (failed / f"{ts}-link.csv").is_symlink()
    assert "symbolic link" in (failed / f"{ts}-link.csv.reason.txt").read_text()
    assert "hard link" in (failed / f"{ts}-hard.csv.reason.txt").read_text()
    assert secret.read_text() == contacts_csv(2)
    assert other.read_text() == contacts_csv(2, first=10)
    assert names(outside) == ["a.csv"]
    assert names(env.archive / "failed") == ["Sales"]
    assert jobs(env.db) == []
    assert contact_count(env.db) == 0


class Crash(Exception):
    pass


@pytest.mark.parametrize("how", ["crash", "graceful stop"])
def test_a_restart_in_the_middle_of_a_file_imports_every_row_exactly_once(
    env: Env, how: str
) -> None:
    (env.inbox / "big.csv").write_text(contacts_csv(25))
    env.claim()
    [job] = jobs(env.db)
    assert service.claim_job(env.db, job.id, worker_id="old", now=env.clock())
    stops = iter([False, True])
    if how == "crash":

        def blow_up(_job: ImportJob) -> None:
            raise Crash

        with pytest.raises(Crash):
            service.run_file_job(
                env.db,
                job.id,
                worker_id="old",
                clock=env.clock,
                chunk_rows=10,
                on_progress=blow_up,
            )
    else:
        service.run_file_job(
            env.db,
            job.id,
            worker_id="old",
            clock=env.clock,
            chunk_rows=10,
            should_stop=lambda: next(stops),
        )
    [job] = jobs(env.db)
    assert (job.status, job.rows_read, contact_count(env.db)) == (
        ImportStatus.RUNNING if how == "crash" else ImportStatus.QUEUED,
        10,
        10,
    )
    env.poll()  # the old watcher goes on polling: a running file stays put
    assert job.stored_path is not None and Path(job.stored_path).exists()

    env.restart(after=timedelta(minutes=3))
    env.poll()
    assert env.runner.run_pending() == 1
    env.clock.advance(INTERVAL)
    env.poll()

    expected = [f"+1650253{i:04d}" for i in range(1, 26)]
    assert phones(env.db) == expected
    [job] = jobs(env.db)
    assert (job.status, job.rows_read, job.rows_imported) == (ImportStatus.COMPLETED, 25, 25)
    assert names(env.archive / "Sales") == [Path(job.archived_path or "").name]
    assert names(env.watch / ".processing" / "Sales") == []


def test_a_file_claimed_just_before_a_crash_is_adopted_once(env: Env) -> None:
    processing = env.watch / ".processing"
    (processing / "Sales").mkdir(parents=True)
    orphan = processing / "Sales" / f"{uuid.uuid4().hex}-orphan.csv"
    orphan.write_text(contacts_csv(3))
    (processing / "Ghost").mkdir()
    (processing / "Ghost" / f"{uuid.uuid4().hex}-lost.csv").write_text(contacts_csv(1))

    env.poll()
    [job] = jobs(env.db)
    assert (job.filename, job.stored_path, job.status) == (
        "orphan.csv",
        str(orphan),
        ImportStatus.QUEUED,
    )
    alias = env.watch.with_name("alias")
    alias.symlink_to(env.watch, target_is_directory=True)
    configure(env.db, watch_folder=str(alias))  # the same folder by another path
    env.restart()
    env.poll()
    assert len(jobs(env.db)) == 1
    env.runner.run_pending()
    env.clock.advance(INTERVAL)
    env.poll()

    assert contact_count(env.db) == 3
    assert names(env.archive / "Sales") == [f"{stamp(START)}-orphan.csv"]
    assert names(env.archive / "failed" / "Ghost") == [
        f"{stamp(START)}-lost.csv",
        f"{stamp(START)}-lost.csv.reason.txt",
    ]
    assert names(processing / "Sales") == names(processing / "Ghost") == []


@pytest.mark.parametrize("point", ["destination chosen", "report half written", "file moved"])
def test_a_crash_between_the_end_of_a_job_and_its_archiving_is_finished_next_round(
    env: Env, point: str
) -> None:
    (env.inbox / "list.csv").write_text(GOOD_AND_BAD)
    env.claim()
    env.runner.run_pending()
    [job] = jobs(env.db)
    assert job.status is ImportStatus.COMPLETED and job.stored_path is not None
    dest = env.archive / "Sales" / f"{stamp(env.clock())}-list.csv"
    report = dest.with_name(f"{dest.name}.rejected.csv")
    dest.parent.mkdir()
    with env.db.transaction() as session:
        session.get_one(ImportJob, job.id).archived_path = str(dest)
    if point == "report half written":
        report.write_text("line,col")
    if point == "file moved":
        os.rename(job.stored_path, dest)

    env.restart(after=timedelta(seconds=INTERVAL))
    env.poll()
    env.poll()

    [job] = jobs(env.db)
    assert (job.stored_path, job.archived_path) == (None, str(dest))
    assert names(env.archive / "Sales") == [dest.name, report.name]
    assert dest.read_text() == GOOD_AND_BAD
    assert read_csv(report)[1][3] == "'=2+3,evil"
    assert names(env.watch / ".processing" / "Sales") == []
    assert contact_count(env.db) == 3


def test_the_same_name_dropped_again_is_a_new_import_archived_under_its_own_name(
    env: Env,
) -> None:
    (env.inbox / "list.csv").write_text(GOOD_AND_BAD)
    env.claim()
    (env.inbox / "list.csv").write_text(GOOD_AND_BAD)  # dropped again before the first ran
    env.claim()
    env.runner.run_pending()  # both end at the same second: their archive names would clash
    env.clock.advance(INTERVAL)
    env.poll()

    first, second = jobs(env.db)
    assert (first.rows_imported, first.rows_duplicate) == (3, 0)
    assert (second.rows_imported, second.rows_duplicate) == (0, 3)  # life cycles still open
    ts = stamp(START + timedelta(seconds=2 * INTERVAL))
    assert Path(first.archived_path or "").name == f"{ts}-list.csv"
    assert Path(second.archived_path or "").name == f"{ts}-list-2.csv"
    assert names(env.archive / "Sales") == sorted(
        [
            f"{ts}-list.csv",
            f"{ts}-list.csv.rejected.csv",
            f"{ts}-list-2.csv",
            f"{ts}-list-2.csv.rejected.csv",
        ]
    )
    duplicates = read_csv(env.archive / "Sales" / f"{ts}-list-2.csv.rejected.csv")[1:]
    assert [row[0] for row in duplicates] == ["2", "3", "4", "5"]
    assert contact_count(env.db) == 3


@pytest.mark.parametrize(
    "layout",
    [
        lambda watch, archive: {},
        lambda watch, archive: {"watch_folder": str(watch)},
        lambda watch, archive: {"watch_folder": str(watch), "archive_folder": str(watch / "a")},
        lambda watch, archive: {"watch_folder": str(watch), "archive_folder": str(archive / "x")},
    ],
    ids=["unset", "no archive", "archive inside watch", "archive missing"],
)
def test_nothing_moves_without_two_usable_separate_folders(
    db: Database, tmp_path: Path, layout: Callable[[Path, Path], dict[str, str]]
) -> None:
    watch, archive = tmp_path / "in", tmp_path / "archive"
    (watch / "Sales").mkdir(parents=True)
    (watch / "a").mkdir()
    archive.mkdir()
    make_campaign(db, "Sales")
    (watch / "Sales" / "list.csv").write_text(contacts_csv(2))
    # Stored as they are: the settings API refuses nested folders, but a database edited by
    # hand (or written before that check) must not make the watcher move anything either.
    with db.transaction() as session:
        for key, value in layout(watch, archive).items():
            session.merge(Setting(key=key, value=value))
    clock = FakeClock()
    watcher = FolderWatcher(db, clock=clock)
    for _ in range(3):
        assert watcher.poll_once() == 30
        clock.advance(30)
    assert names(watch / "Sales") == ["list.csv"]
    assert jobs(db) == []
