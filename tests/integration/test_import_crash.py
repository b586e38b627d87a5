"""A worker killed in the middle of a file: the import resumes, nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from outbound.db.engine import Database
from outbound.imports.runner import ImportRunner
from outbound.models import Contact, ImportJob, ImportStatus
from tests.factories import make_campaign

ROWS = 30_000
CHUNK = 1_000


def _write_file(path: Path) -> None:
    with path.open("w") as out:
        out.write("phone1,param1\n")
        for i in range(ROWS):
            out.write(f"+1 415 5{i // 10000:02d} {i % 10000:04d},row-{i}\n")


def _job(db: Database) -> ImportJob | None:
    with db.transaction() as session:
        return session.scalar(select(ImportJob).order_by(ImportJob.id.desc()).limit(1))


def test_sigkill_mid_file_then_resume_imports_every_row_once(db: Database, tmp_path: Path) -> None:
    campaign = make_campaign(db, "crash-test")
    source = tmp_path / "big.csv"
    _write_file(source)
    env = {
        **os.environ,
        "OUTBOUND_DATABASE_URL": db.url,
        "OUTBOUND_IMPORT_CHUNK_ROWS": str(CHUNK),
        "OUTBOUND_DATA_DIR": str(tmp_path / "data"),
    }
    cli = [sys.executable, "-m", "outbound.cli", "import", str(source), "--campaign", "crash-test"]
    process = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    killed_at = None
    while time.monotonic() < deadline and process.poll() is None:
        job = _job(db)
        if job is not None and job.rows_read >= 3 * CHUNK:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_at = _job(db)
            break
        time.sleep(0.01)
    assert killed_at is not None, "the import finished (or never started) before the kill"
    assert killed_at.status is ImportStatus.RUNNING
    assert 0 < killed_at.rows_read < ROWS

    with db.transaction() as session:
        committed = session.scalar(select(func.count()).where(Contact.campaign_id == campaign))
    assert committed == killed_at.rows_read  # whole chunks only: nothing half-written

    runner = ImportRunner(
        db, clock=lambda: datetime.now(UTC), stale_after=timedelta(0), chunk_rows=CHUNK
    )
    assert runner.run_pending() == 1
    job = _job(db)
    assert job is not None and job.status is ImportStatus.COMPLETED
    assert (job.rows_read, job.rows_imported, job.rows_rejected, job.rows_duplicate) == (
        ROWS,
        ROWS,
        0,
        0,
    )
    with db.transaction() as session:
        rows = session.execute(
            select(Contact.param1, Contact.import_seq).where(Contact.campaign_id == campaign)
        ).all()
    assert len(rows) == ROWS
    assert {p for p, _ in rows} == {f"row-{i}" for i in range(ROWS)}
    assert len({seq for _, seq in rows}) == ROWS
