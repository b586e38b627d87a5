"""Background import work inside the service process: queued jobs, resumed jobs, the folder.

One daemon thread. Each round it runs every queued job (and every job whose worker stopped
beating, resuming it at its last committed chunk), then, when the poll interval has passed,
lets the watched-folder poller look for new files and archive finished ones.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from outbound.db.engine import Database
from outbound.imports import service
from outbound.imports.uploads import discard_finished
from outbound.logs import context as logs

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=2)


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class ImportRunner:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        folder_poll: Callable[[], float] | None = None,
        idle_seconds: float = 1.0,
        stale_after: timedelta = STALE_AFTER,
        chunk_rows: int = service.CHUNK_ROWS,
        uploads_dir: Path | None = None,
    ) -> None:
        """``folder_poll`` scans the watched folder and returns seconds until the next scan;
        the files of finished jobs uploaded into ``uploads_dir`` are deleted."""
        self.db = db
        self.clock = clock
        self.worker_id = new_worker_id()
        self._folder_poll = folder_poll
        self._idle = idle_seconds
        self._stale_after = stale_after
        self._chunk_rows = chunk_rows
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: int | None = None
        self._uploads_dir = uploads_dir
        # The last round's error (None once a round works), for the health report.
        self.failing: str | None = None
        self.folder_failing: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="imports", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: run it now rather than at the next round."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_pending(self) -> int:
        """Run every job that is waiting or abandoned; returns how many ran."""
        ran = 0
        with self.db.transaction() as session:
            pending = service.stale_jobs(session, older_than=self.clock() - self._stale_after)
        for job_id in pending:
            if self._stop.is_set():
                break
            if not service.claim_job(self.db, job_id, worker_id=self.worker_id, now=self.clock()):
                continue
            self._current = job_id
            with self.db.transaction() as session:
                request_id = service.get_job(session, job_id).request_id
            # Its lines carry the id of the request that queued it.
            with logs.bound(request_id):
                try:
                    log.info("import job %d started", job_id)
                    job = service.run_file_job(
                        self.db,
                        job_id,
                        worker_id=self.worker_id,
                        clock=self.clock,
                        should_stop=self._stop.is_set,
                        chunk_rows=self._chunk_rows,
                    )
                    log.info(
                        "import job %d %s: %d imported, %d rejected, %d duplicates, %d DNC",
                        job_id,
                        job.status.value,
                        job.rows_imported,
                        job.rows_rejected,
                        job.rows_duplicate,
                        job.rows_dnc,
                    )
                except service.LostClaim:
                    log.warning("import job %s was taken over by another worker", job_id)
                finally:
                    self._current = None
            ran += 1
        if self._uploads_dir is not None:
            with self.db.transaction() as session:
                discard_finished(session, self._uploads_dir)
        return ran

    def run(self) -> None:
        """The worker loop, until ``stop``: a failed round is reported and tried again."""
        next_folder_poll = time.monotonic()
        while not self._stop.is_set():
            if self._folder_poll is not None and time.monotonic() >= next_folder_poll:
                try:
                    next_folder_poll = time.monotonic() + self._folder_poll()
                    self.folder_failing = None
                except Exception as exc:  # the job rows say what happened to each file
                    log.exception("watched folder round failed")
                    self.folder_failing = f"{type(exc).__name__}: {exc}"[:500]
                    next_folder_poll = time.monotonic() + self._idle
            try:
                self.run_pending()
                self.failing = None
            except Exception as exc:  # keep the thread alive; the job row says what happened
                log.exception("import round failed")
                self.failing = f"{type(exc).__name__}: {exc}"[:500]
            self._wake.wait(self._idle)
            self._wake.clear()
