"""The watched shared folder: files dropped in ``<watch>/<campaign name>/`` become import jobs.

The life of a file, and why each step sits where it does:

1. It is *ready* once its size and mtime have stayed the same for a whole poll interval (by
   the watcher's clock) and no local process holds it open for writing, so a half-written
   file is never read.
2. It is claimed by an atomic rename into ``<watch>/.processing/<campaign>/<uuid>-<name>``
   and only then given its job. Renaming first means no file is claimed twice; a crash
   between the rename and the job leaves an *orphan*, which the next round adopts.
3. The import runner imports it in resumable chunks (``service.run_file_job``).
4. An ended job's file moves to the archive (or to ``failed/``) beside its report. The
   destination is committed to the job first, the report is written before the file moves
   and ``stored_path`` is cleared last; every step can be redone, so whichever step a crash
   interrupts, the next round completes the sequence.

A file that cannot become a job (no such campaign, a link, not a regular file, unreadable)
goes to ``failed/`` with a reason file. Links are never followed: they are refused unread.
The file-system side (names, link checks, atomic writes and moves) is in ``folder_files``.
"""

from __future__ import annotations

import csv
import errno
import logging
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.db.engine import Database
from outbound.imports import service
from outbound.imports.folder_files import (
    FAILED,
    PROCESSING,
    Folders,
    being_written,
    beside,
    cell,
    ends_a_line,
    entries,
    file_problem,
    fit,
    folder_problem,
    free_name,
    in_progress,
    is_candidate,
    move,
    not_imported,
    own_dir,
    safe_name,
    subdirs,
    unreadable,
    write_atomic,
)
from outbound.models import Campaign, ImportJob, ImportReject, ImportSource, ImportStatus
from outbound.settings.service import get_settings

log = logging.getLogger(__name__)

CREATED_BY = "watched-folder"
CLAIMED_NAME = re.compile(r"[0-9a-f]{32}-")
ENDED = (ImportStatus.COMPLETED, ImportStatus.FAILED)
# Poll intervals a file whose last line has no line break must stay unchanged to be taken.
SETTLE_INTERVALS = 10

Clock = Callable[[], datetime]


class FolderWatcher:
    """Polls the watched folder; meant to be the runner's ``folder_poll``."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # Last (size, mtime_ns) seen per path and since when: the ready rule's memory.
        self._seen: dict[str, tuple[int, int, datetime]] = {}
        self._problem: str | None = None
        self._links_warned: set[str] = set()

    def poll_once(self) -> float:
        """One full round; returns the poll interval in seconds."""
        with self.db.transaction() as session:
            settings = get_settings(session)
        interval = float(settings.poll_interval_seconds)
        folders = self._folders(settings.watch_folder, settings.archive_folder)
        if folders is not None:
            self._finish_ended(folders.archive)
            self._adopt_orphans(folders)
            self._scan(folders, timedelta(seconds=interval))
        return interval

    def _folders(self, watch: str | None, archive: str | None) -> Folders | None:
        if not watch or not archive:
            return None
        # Real paths: an alias of the same folder must not make claimed files look orphaned.
        folders = Folders(Path(os.path.realpath(watch)), Path(os.path.realpath(archive)))
        problem = folder_problem(folders)
        if problem != self._problem and problem is not None:
            log.warning("watched folder not polled: %s", problem)
        self._problem = problem
        return None if problem else folders

    # -- ended jobs: file to the archive --------------------------------------------------

    def _finish_ended(self, archive: Path) -> None:
        with self.db.transaction() as session:
            ids = list(
                session.scalars(
                    select(ImportJob.id)
                    .where(
                        ImportJob.source == ImportSource.FOLDER,
                        ImportJob.status.in_(ENDED),
                        ImportJob.stored_path.is_not(None),
                    )
                    .order_by(ImportJob.id)
                )
            )
        for job_id in ids:
            try:
                self._choose_destination(job_id, archive)
                self._archive(job_id)
            except Exception:  # one stuck file must not stop the others
                log.exception("could not archive the file of import job %s", job_id)

    def _choose_destination(self, job_id: int, archive: Path) -> None:
        """Commit where the file will go before moving it, so a retry moves it to the same
        place rather than archiving it twice."""
        with self.db.transaction() as session:
            job = session.get(ImportJob, job_id, with_for_update=True)
            if job is None or job.stored_path is None or job.archived_path is not None:
                return
            source = Path(job.stored_path)
            if source.parent.parent.name != PROCESSING:
                raise RuntimeError(f"{source} is not in a processing area; left alone")
            failed = job.status is ImportStatus.FAILED
            parts = (FAILED, source.parent.name) if failed else (source.parent.name,)
            folder = own_dir(archive, *parts)
            stamp = job.finished_at or self.clock()
            job.archived_path = str(free_name(folder, stamp, job.filename, pending(session)))

    def _archive(self, job_id: int) -> None:
        """Report, then move, then clear ``stored_path``; the job row stays locked meanwhile
        so that two watchers never archive one file."""
        with self.db.transaction() as session:
            job = session.get(ImportJob, job_id, with_for_update=True)
            if job is None or job.stored_path is None or job.archived_path is None:
                return
            source, dest = Path(job.stored_path), Path(job.archived_path)
            if not os.path.lexists(source) and not os.path.lexists(dest):
                log.warning("import job %s: its file %s has disappeared", job.id, source)
                job.archived_path = None
            else:
                write_reports(session, job, dest)
                move(source, dest)
                log.info("import job %s %s: file archived as %s", job.id, job.status, dest)
            job.stored_path = None

    # -- orphans: claimed files whose job was never created -------------------------------

    def _adopt_orphans(self, folders: Folders) -> None:
        root = folders.processing
        if not root.is_dir():
            return
        with self.db.transaction() as session:
            known = set(
                session.scalars(
                    select(ImportJob.stored_path).where(ImportJob.stored_path.is_not(None))
                )
            )
        for directory in subdirs(root):
            for entry in entries(directory):
                if entry.path in known or entry.is_dir(follow_symlinks=False):
                    continue
                name = entry.name
                original = name[33:] if CLAIMED_NAME.match(name) and len(name) > 33 else name
                try:
                    self._register(
                        Path(entry.path), directory.name, safe_name(original), folders.archive
                    )
                except Exception:
                    log.exception("could not adopt %s", entry.path)

    def _register(self, path: Path, campaign_dir: str, original: str, archive: Path) -> None:
        """Give a claimed file its job unless it already has one (a retry, another watcher)."""
        problem = file_problem(path)
        if problem is None and safe_name(path.name) != path.name:
            problem = "the file name is not valid UTF-8 text"
        if problem is None:
            with self.db.transaction() as session:
                campaign = session.scalar(
                    select(Campaign).where(Campaign.name == campaign_dir).with_for_update()
                )
                if campaign is not None:
                    taken = session.scalar(
                        select(ImportJob.id).where(ImportJob.stored_path == str(path))
                    )
                    if taken is None and os.path.lexists(path):
                        job = service.create_job(
                            session,
                            campaign=campaign,
                            source=ImportSource.FOLDER,
                            filename=original,
                            stored_path=path,
                            created_by=CREATED_BY,
                            now=self.clock(),
                        )
                        log.info("import job %s queued for %s", job.id, path)
                    return
            problem = f"no campaign named {campaign_dir!r}"
        self._refuse(path, campaign_dir, original, problem, archive)

    # -- new files ------------------------------------------------------------------------

    def _scan(self, folders: Folders, interval: timedelta) -> None:
        now = self.clock()
        seen: dict[str, tuple[int, int, datetime]] = {}
        top = ("", folders.watch)  # files beside the campaign folders: no campaign
        for campaign_dir, directory in [top, *self._campaign_dirs(folders.watch)]:
            for entry in entries(directory):
                if in_progress(entry.name) or entry.is_dir(follow_symlinks=False):
                    continue
                if not campaign_dir and entry.is_symlink():
                    continue  # a link beside the campaign folders: warned of, left alone
                try:
                    info = entry.stat(follow_symlinks=False)
                    state = (info.st_size, info.st_mtime_ns)
                    last = self._seen.get(entry.path)
                    since = last[2] if last is not None and last[:2] == state else now
                    seen[entry.path] = (*state, since)
                    path = Path(entry.path)
                    if self._ready(path, now - since, interval):
                        self._dispatch(path, campaign_dir, entry.name, folders)
                        del seen[entry.path]
                except Exception:
                    log.exception("could not take %s", entry.path)
        self._seen = seen

    def _campaign_dirs(self, watch: Path) -> Iterable[tuple[str, Path]]:
        for entry in entries(watch):
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                if entry.path not in self._links_warned:
                    log.warning("%s is a link: refused, its files are not read", entry.path)
                    self._links_warned.add(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                yield entry.name, Path(entry.path)

    @staticmethod
    def _ready(path: Path, stable: timedelta, interval: timedelta) -> bool:
        """Whole, as far as can be told: unchanged for an interval, not open for writing
        here, and ending a line; a file whose last line has no line break is given
        SETTLE_INTERVALS intervals (a writer paused mid-row leaves exactly that)."""
        if stable < interval or being_written(path):
            return False
        return ends_a_line(path) or stable >= interval * SETTLE_INTERVALS

    def _dispatch(self, path: Path, campaign_dir: str, name: str, folders: Folders) -> None:
        """Take a contact file; refuse, with a reason file in ``failed/``, anything else."""
        if not campaign_dir:
            reason = (
                "not in a campaign folder: drop contact files in <watched folder>/<campaign name>/"
            )
            self._refuse(path, "", safe_name(name), reason, folders.archive)
        elif not is_candidate(name):
            self._refuse(path, campaign_dir, safe_name(name), not_imported(name), folders.archive)
        else:
            self._take(path, campaign_dir, folders)

    def _take(self, path: Path, campaign_dir: str, folders: Folders) -> None:
        original = safe_name(path.name)
        problem = file_problem(path) or unreadable(path)
        if problem is None:
            with self.db.transaction() as session:
                known = (
                    None
                    if safe_name(campaign_dir) != campaign_dir
                    else session.scalar(select(Campaign.id).where(Campaign.name == campaign_dir))
                )
            if known is None:
                problem = f"no campaign named {campaign_dir!r}"
        if problem is not None:
            self._refuse(path, campaign_dir, original, problem, folders.archive)
            return
        folder = own_dir(folders.watch, PROCESSING, campaign_dir, private=True)
        claimed = folder / f"{uuid.uuid4().hex}-{fit(original)}"
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            return  # another watcher claimed it first
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            log.error("%s is on another file system than %s: not claimed", path, folder)
            return
        self._register(claimed, campaign_dir, original, folders.archive)

    def _refuse(
        self, path: Path, campaign_dir: str, original: str, reason: str, archive: Path
    ) -> None:
        """Move a file that gets no job to ``failed/`` beside a file saying why."""
        with self.db.transaction() as session:
            taken = pending(session)
        folder = own_dir(archive, FAILED, campaign_dir)
        dest = free_name(folder, self.clock(), original, taken)
        note = beside(dest, ".reason.txt")
        write_atomic(
            note,
            lambda out: out.write(
                f"file: {original}\nfolder: {safe_name(campaign_dir) or '(none)'}\n"
                f"reason: {reason}\n"
            ),
        )
        try:
            info = path.lstat()
            move(path, dest, copy=stat.S_ISREG(info.st_mode) and info.st_nlink == 1)
        except FileNotFoundError:
            note.unlink(missing_ok=True)
            return
        log.warning("%s refused (%s): moved to %s", path, reason, dest)


def pending(session: Session) -> set[str]:
    """Archive names chosen by jobs whose file has not moved there yet."""
    query = select(ImportJob.archived_path).where(
        ImportJob.stored_path.is_not(None), ImportJob.archived_path.is_not(None)
    )
    return {p for p in session.scalars(query) if p is not None}


def write_reports(session: Session, job: ImportJob, dest: Path) -> None:
    """The rejected-rows CSV (if any row was rejected) and, for a failed job, the reason."""
    report = beside(dest, ".rejected.csv")
    has_rejects = (
        session.scalar(select(ImportReject.id).where(ImportReject.job_id == job.id).limit(1))
        is not None
    )
    if has_rejects:
        rows = session.execute(
            select(ImportReject.line, ImportReject.column, ImportReject.reason, ImportReject.raw)
            .where(ImportReject.job_id == job.id)
            .order_by(ImportReject.line, ImportReject.id)
            .execution_options(yield_per=5000)
        )

        def write_rows(out: TextIO) -> None:
            writer = csv.writer(out)
            writer.writerow(["line", "column", "reason", "raw"])
            for line, column, reason, raw in rows:
                writer.writerow([line, cell(column or ""), cell(reason), cell(raw)])

        write_atomic(report, write_rows)
    if job.status is ImportStatus.FAILED:
        lines = [
            f"file: {job.filename}",
            f"campaign: {dest.parent.name}",
            f"import job: {job.id}",
            f"reason: {job.error or 'unknown'}",
            f"rows read: {job.rows_read}, imported: {job.rows_imported}, "
            f"duplicates: {job.rows_duplicate}, DNC: {job.rows_dnc}, "
            f"rejected: {job.rows_rejected}",
        ]
        if has_rejects:
            lines.append(f"rejected rows: {report.name}")
        write_atomic(beside(dest, ".reason.txt"), lambda out: out.write("\n".join(lines) + "\n"))
