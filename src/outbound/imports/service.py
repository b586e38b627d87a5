"""The import service: one pipeline for uploads, JSON batches, the CLI and the watched folder.

A file is imported in chunks. Each chunk's contacts, its rejected rows and the job's
counters and resume point (``rows_read``) are committed in one transaction, so a crash
loses nothing and imports nothing twice: the next run skips the rows already committed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, count
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outbound.campaigns.repository import get_by_ref
from outbound.db.engine import Database
from outbound.errors import NotFound
from outbound.imports import store
from outbound.imports.ahead import read_ahead
from outbound.imports.block import (
    DUPLICATE,
    DUPLICATE_CRM,
    DUPLICATE_MARK,
    Block,
    block_from_records,
    block_from_rows,
)
from outbound.imports.reader import (
    ContactFileReader,
    FileRejected,
    Record,
    RowError,
    make_record,
)
from outbound.logs import context as logs
from outbound.models import Campaign, ImportJob, ImportReject, ImportSource, ImportStatus
from outbound.settings.service import get_settings
from outbound.webhooks import outbox

CHUNK_ROWS = 20_000
Clock = Callable[[], datetime]


@dataclass
class ChunkResult:
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    dnc: int = 0


def create_job(
    session: Session,
    *,
    campaign: Campaign,
    source: ImportSource,
    filename: str,
    stored_path: Path | None,
    created_by: str | None,
    now: datetime,
) -> ImportJob:
    job = ImportJob(
        campaign_id=campaign.id,
        source=source,
        filename=filename[:255],
        status=ImportStatus.QUEUED,
        stored_path=str(stored_path) if stored_path else None,
        bytes_total=stored_path.stat().st_size if stored_path else 0,
        created_by=created_by,
        created_at=now,
        request_id=logs.current(),
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"import job {job_id} not found")
    return job


def import_chunk(
    session: Session,
    job: ImportJob,
    items: Sequence[Record | RowError],
    *,
    default_region: str,
    now: datetime,
) -> ChunkResult:
    """Validate, de-duplicate, check DNC and insert one chunk, in the caller's transaction."""
    copy_text = session.connection().dialect.name == "postgresql"
    block = block_from_records(items, default_region=default_region, copy_text=copy_text)
    return _store_chunk(session, job, block, now=now)


def _store_chunk(session: Session, job: ImportJob, block: Block, *, now: datetime) -> ChunkResult:
    """De-duplicate, check DNC and insert a validated block, in the caller's transaction.

    The campaign is locked for writing first (``store.lock_campaign``), so two imports into
    one campaign (the CLI and the service, say) take their turns: each sees the other's
    committed contacts, and a Phone 1 or CRM id they share is a duplicate, not a conflict.
    """
    store.lock_campaign(session, job.campaign_id)
    campaign = get_by_ref(session, str(job.campaign_id), for_update=True)
    _drop_open(session, campaign.id, block)
    listed = store.dnc_listed(session, campaign.id, block.numbers) if block.numbers else set()
    errors = block.errors
    duplicates = sum(error.reason.startswith(DUPLICATE_MARK) for error in errors)
    first_seq = campaign.import_seq + 1
    campaign.import_seq += len(block)
    dnc = store.insert_block(
        session,
        block,
        campaign_id=campaign.id,
        job_id=job.id,
        first_seq=first_seq,
        listed=listed,
        now=now,
    )
    if dnc:  # created closed as DNC Listed: a state change a CRM is told of
        last_seq = first_seq + len(block) - 1
        outbox.imported_closed(
            session, campaign_id=campaign.id, seqs=(first_seq, last_seq), now=now
        )
    errors.sort(key=lambda e: e.line)  # the report reads in file order
    store.insert_rejects(session, job.id, errors)
    result = ChunkResult(
        imported=len(block) - dnc,
        rejected=len(errors) - duplicates,
        duplicates=duplicates,
        dnc=dnc,
    )
    job.rows_read += block.items
    job.rows_imported += result.imported
    job.rows_rejected += result.rejected
    job.rows_duplicate += result.duplicates
    job.rows_dnc += result.dnc
    return result


def _drop_open(session: Session, campaign_id: int, block: Block) -> None:
    """Reject the rows whose Phone 1, or CRM contact id, has an open life cycle already."""
    existing = store.open_phone1s(session, campaign_id, block.phone1)
    if existing:
        taken = list(compress(count(), map(existing.__contains__, block.phone1)))
        block.errors.extend(
            RowError(block.lines[i], "phone1", DUPLICATE, block.raw(i)) for i in taken
        )
        block.drop(taken)
    crm_ids = block.values.get("crm_contact_id")
    known = store.open_crm_ids(session, campaign_id, [c for c in crm_ids if c]) if crm_ids else ()
    if known:
        taken = [i for i, crm_id in enumerate(crm_ids or ()) if crm_id in known]
        block.errors.extend(
            RowError(block.lines[i], "crm_contact_id", DUPLICATE_CRM, block.raw(i)) for i in taken
        )
        block.drop(taken)


def _prepared_blocks(
    reader: ContactFileReader, size: int, skip: int, default_region: str, stream: BinaryIO
) -> Iterator[Block]:
    """Blocks read and validated, in ``read_ahead``'s thread."""
    for rows, starts, errors, raws in reader.raw_chunks(size, skip=skip):
        block = block_from_rows(
            rows,
            starts,
            errors,
            columns=reader.columns,
            limits=reader.limits,
            default_region=default_region,
            copy_text=True,
            raws=raws,
        )
        block.bytes_done = stream.tell()
        yield block


def claim_job(db: Database, job_id: int, *, worker_id: str, now: datetime) -> bool:
    """Take a queued job, or resume one whose worker is gone; False if another has it."""
    with db.transaction() as session:
        job = session.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return False
        job.status = ImportStatus.RUNNING
        job.worker_id = worker_id
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        return True


def run_file_job(
    db: Database,
    job_id: int,
    *,
    worker_id: str,
    clock: Clock,
    chunk_rows: int = CHUNK_ROWS,
    on_progress: Callable[[ImportJob], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ImportJob:
    """Import (or resume) a claimed file job to its end; returns the job.

    If ``should_stop`` turns true between chunks, the job goes back to the queue, to be
    resumed from its last committed chunk.
    """
    with db.transaction() as session:
        job = get_job(session, job_id)
        region = get_settings(session).default_region
        path, skip = Path(job.stored_path or ""), job.rows_read
    try:
        # O_NOFOLLOW: a file that became a symbolic link is refused, not followed.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as stream:
            reader = ContactFileReader(stream)
            if reader.warnings:
                with db.transaction() as session:
                    _owned(session, job_id, worker_id).warnings = "\n".join(reader.warnings)
            blocks = _prepared_blocks(reader, chunk_rows, skip, region, stream)
            with read_ahead(blocks) as chunks:
                for chunk in chunks:
                    if should_stop():
                        release(db, job_id, worker_id)
                        with db.transaction() as session:
                            return get_job(session, job_id)
                    with db.transaction() as session:
                        job = _owned(session, job_id, worker_id)
                        _store_chunk(session, job, chunk, now=clock())
                        job.bytes_done = min(chunk.bytes_done, job.bytes_total)
                        job.heartbeat_at = clock()
                    if on_progress is not None:
                        on_progress(job)
    except FileRejected as exc:
        return _finish(db, job_id, worker_id, clock(), error=str(exc))
    except FileNotFoundError:
        return _finish(db, job_id, worker_id, clock(), error=f"the file {path.name} is gone")
    except OSError as exc:  # unreadable: retrying for ever would not help
        return _finish(db, job_id, worker_id, clock(), error=f"the file cannot be read: {exc}")
    return _finish(db, job_id, worker_id, clock(), error=None)


class LostClaim(Exception):
    """Another worker took the job over (this one was presumed dead): stop at once."""


def _owned(session: Session, job_id: int, worker_id: str) -> ImportJob:
    job = session.get(ImportJob, job_id, with_for_update=True)
    if job is None or job.worker_id != worker_id or job.status is not ImportStatus.RUNNING:
        raise LostClaim(f"import job {job_id} is no longer this worker's")
    return job


def _finish(
    db: Database, job_id: int, worker_id: str, now: datetime, *, error: str | None
) -> ImportJob:
    with db.transaction() as session:
        job = _owned(session, job_id, worker_id)
        usable = job.rows_imported + job.rows_duplicate + job.rows_dnc
        if error is None and usable == 0:
            error = (
                "the file has no usable row"
                if job.rows_rejected == 0
                else f"the file has no usable row: all {job.rows_rejected} rows were rejected"
            )
        job.status = ImportStatus.FAILED if error else ImportStatus.COMPLETED
        job.error = error[:1000] if error else None
        job.bytes_done = job.bytes_total
        job.finished_at = now
        job.heartbeat_at = now
        return job


def stale_jobs(session: Session, *, older_than: datetime) -> list[int]:
    """Jobs waiting to run, or running on a worker that stopped beating."""
    query = select(ImportJob.id).where(
        (ImportJob.status == ImportStatus.QUEUED)
        | (
            (ImportJob.status == ImportStatus.RUNNING)
            & ((ImportJob.heartbeat_at.is_(None)) | (ImportJob.heartbeat_at < older_than))
        )
    )
    return list(session.scalars(query.order_by(ImportJob.id)))


def release(db: Database, job_id: int, worker_id: str) -> None:
    """Hand a running job back to the queue (on shutdown), so another start resumes it."""
    with db.transaction() as session:
        session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == job_id,
                ImportJob.worker_id == worker_id,
                ImportJob.status == ImportStatus.RUNNING,
            )
            .values(status=ImportStatus.QUEUED, worker_id=None)
        )


def import_batch(
    session: Session,
    campaign: Campaign,
    contacts: Sequence[dict[str, str | None]],
    *,
    created_by: str | None,
    now: datetime,
) -> ImportJob:
    """A JSON batch, imported at once in the caller's transaction (index = 'line')."""
    job = create_job(
        session,
        campaign=campaign,
        source=ImportSource.JSON,
        filename="",
        stored_path=None,
        created_by=created_by,
        now=now,
    )
    items = [
        make_record(index, ((k, v) for k, v in item.items() if v is not None), _raw(item))
        for index, item in enumerate(contacts)
    ]
    region = get_settings(session).default_region
    import_chunk(session, job, items, default_region=region, now=now)
    usable = job.rows_imported + job.rows_duplicate + job.rows_dnc
    job.status = ImportStatus.COMPLETED if usable else ImportStatus.FAILED
    job.error = None if usable else "the batch has no usable contact"
    job.started_at = job.finished_at = now
    session.flush()
    return job


def _raw(item: dict[str, str | None]) -> str:
    return ",".join(v or "" for v in item.values())[:500]


def list_jobs(session: Session, campaign_id: int, *, limit: int) -> list[ImportJob]:
    query = (
        select(ImportJob)
        .where(ImportJob.campaign_id == campaign_id)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def recent_jobs(session: Session, *, limit: int) -> list[tuple[ImportJob, str]]:
    """The latest jobs of every campaign, newest first, each with its campaign's name."""
    query = (
        select(ImportJob, Campaign.name)
        .join(Campaign, Campaign.id == ImportJob.campaign_id)
        .order_by(ImportJob.id.desc())
        .limit(limit)
    )
    return [(job, name) for job, name in session.execute(query).all()]


def rejects(session: Session, job_id: int, *, after: int, limit: int) -> list[ImportReject]:
    query = (
        select(ImportReject)
        .where(ImportReject.job_id == job_id, ImportReject.id > after)
        .order_by(ImportReject.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def iter_rejects(session: Session, job_id: int, *, batch: int = 5000) -> Iterator[ImportReject]:
    """Every rejected row of a job, in order, a batch at a time."""
    after = 0
    while rows := rejects(session, job_id, after=after, limit=batch):
        yield from rows
        after = rows[-1].id
