"""The CLI and the REST API importing one file into one campaign at the same time.

On main the second import's duplicate look-up ran before it held the campaign's write lock
(SQLite takes it at the first write): it missed the rows the other import had committed
meanwhile, its insert failed on the open-Phone-1 unique index (an IntegrityError in
imports/store.py) and the REST job hung as "running" until its heartbeat went stale.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from outbound.imports import service
from outbound.models import Campaign, Contact, ImportJob, ImportSource
from tests.conftest import Account
from tests.factories import make_campaign

API = "/api/v1"
ROWS = 30_000
CHUNK = 500
RACE_ROWS = 4_000
RACE_CHUNK = 200


@pytest.fixture
def small_chunks_client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    config = Config(data_dir=tmp_path / "data", engine=False, import_chunk_rows=CHUNK)
    with TestClient(create_app(config, db=db), raise_server_exceptions=False) as client:
        yield client


def _job(db: Database, source: ImportSource) -> ImportJob | None:
    with db.transaction() as session:
        return session.scalar(select(ImportJob).where(ImportJob.source == source))


def _wait(what: str, condition: Any, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_imports_racing_chunk_for_chunk_import_each_number_once(
    db: Database, tmp_path: Path
) -> None:
    """Deterministic: after each chunk, each import waits for the other's, so every chunk of
    one is read while the other's is being stored."""
    campaign = make_campaign(db, "racing")
    rows = [f"+1 415 5{i // 10000:02d} {i % 10000:04d},row-{i}\n" for i in range(RACE_ROWS)]
    paths = [tmp_path / "in-order.csv", tmp_path / "shuffled.csv"]
    paths[0].write_text("phone1,param1\n" + "".join(rows))
    random.Random(3).shuffle(rows)
    paths[1].write_text("phone1,param1\n" + "".join(rows))
    with db.transaction() as session:
        target = session.get(Campaign, campaign)
        assert target is not None
        job_ids = [
            service.create_job(
                session,
                campaign=target,
                source=source,
                filename=path.name,
                stored_path=path,
                created_by=None,
                now=datetime.now(UTC),
            ).id
            for source, path in zip((ImportSource.CLI, ImportSource.UPLOAD), paths, strict=True)
        ]
    barrier = threading.Barrier(2, timeout=60)
    failures: list[BaseException] = []

    def run(job_id: int) -> None:
        worker = f"w{job_id}"
        try:
            assert service.claim_job(db, job_id, worker_id=worker, now=datetime.now(UTC))
            service.run_file_job(
                db,
                job_id,
                worker_id=worker,
                clock=lambda: datetime.now(UTC),
                chunk_rows=RACE_CHUNK,
                on_progress=lambda _job: barrier.wait(),
            )
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(job_id,)) for job_id in job_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with db.transaction() as session:
        jobs = [session.get(ImportJob, job_id) for job_id in job_ids]
        total = session.scalar(select(func.count()).where(Contact.campaign_id == campaign))
    assert [j.status.value for j in jobs if j is not None] == ["completed", "completed"]
    assert sum(j.rows_imported for j in jobs if j is not None) == total == RACE_ROWS
    assert sum(j.rows_duplicate for j in jobs if j is not None) == RACE_ROWS


def test_cli_and_rest_imports_into_one_campaign_both_finish_each_row_once(
    db: Database, tmp_path: Path, small_chunks_client: TestClient, supervisor: Account
) -> None:
    campaign = make_campaign(db, "both-ways")
    rows = [f"+1 415 5{i // 10000:02d} {i % 10000:04d},row-{i}\n" for i in range(ROWS)]
    source = tmp_path / "same.csv"
    source.write_text("phone1,param1\n" + "".join(rows))
    # The REST file has the same rows shuffled: each of its chunks holds numbers of every
    # chunk of the CLI's, so the two imports keep inserting numbers the other is about to.
    random.Random(7).shuffle(rows)
    shuffled = "phone1,param1\n" + "".join(rows)
    env = {
        **os.environ,
        "OUTBOUND_DATABASE_URL": db.url,
        "OUTBOUND_IMPORT_CHUNK_ROWS": str(CHUNK),
        "OUTBOUND_DATA_DIR": str(tmp_path / "cli-data"),
    }
    cli = [sys.executable, "-m", "outbound.cli", "import", str(source), "--campaign", "both-ways"]
    process = subprocess.Popen(cli, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait("the CLI's first chunk", lambda: (j := _job(db, ImportSource.CLI)) and j.rows_read)
        response = small_chunks_client.post(
            f"{API}/campaigns/{campaign}/imports",
            files={"file": ("shuffled.csv", shuffled.encode(), "text/csv")},
            headers=supervisor.headers,
        )
        assert response.status_code == 202
        _wait("the REST job's first chunk", lambda: _job(db, ImportSource.UPLOAD).rows_read)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    cli_job = _job(db, ImportSource.CLI)
    assert cli_job is not None and cli_job.finished_at is not None
    rest_job = _wait(
        "the REST job to end",
        lambda: (j := _job(db, ImportSource.UPLOAD)) and j.finished_at and j,
    )
    assert process.returncode == 0, output.decode()
    assert (cli_job.status.value, rest_job.status.value) == ("completed", "completed")
    jobs = (cli_job, rest_job)
    assert sum(j.rows_imported for j in jobs) == ROWS
    assert sum(j.rows_duplicate for j in jobs) == ROWS
    assert all(j.rows_read == ROWS and j.rows_rejected == 0 for j in jobs)
    with db.transaction() as session:
        stored = session.scalar(
            select(func.count(func.distinct(Contact.phone1_e164))).where(
                Contact.campaign_id == campaign
            )
        )
        total = session.scalar(select(func.count()).where(Contact.campaign_id == campaign))
    assert stored == total == ROWS
