"""REST routes for imports: upload a file, send a JSON batch, follow a job, get its rejects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession, Supervisor, Viewer, get_config, get_database, now_utc
from outbound.api.schemas import MAX_BIG_ID, CampaignRefPath, IdPath, Page
from outbound.campaigns.repository import get_by_ref
from outbound.config import Config
from outbound.db.engine import Database
from outbound.imports import report, service
from outbound.imports.schemas import BatchIn, ImportJobOut, RejectOut
from outbound.imports.uploads import store_upload
from outbound.models import ImportSource

router = APIRouter(tags=["imports"])

CampaignRef = CampaignRefPath


@router.post(
    "/campaigns/{campaign}/imports",
    response_model=ImportJobOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def upload_file(
    campaign: CampaignRef,
    file: Annotated[UploadFile, File(description="A .csv or .txt contact file")],
    user: Supervisor,
    session: DbSession,
    request: Request,
    config: Annotated[Config, Depends(get_config)],
) -> ImportJobOut:
    """Queue a contact file; follow the job at ``GET /imports/{id}``."""
    target = get_by_ref(session, campaign)
    stored = store_upload(file, config.data_dir / "uploads")
    job = service.create_job(
        session,
        campaign=target,
        source=ImportSource.UPLOAD,
        filename=file.filename or "",
        stored_path=stored,
        created_by=user.username,
        now=now_utc(),
    )
    out = ImportJobOut.model_validate(job)
    runner = getattr(request.app.state, "import_runner", None)
    if runner is not None:
        runner.wake()  # at worst it looks before the commit and finds the job next round
    return out


@router.post(
    "/campaigns/{campaign}/imports/batch",
    response_model=ImportJobOut,
    status_code=status.HTTP_201_CREATED,
)
def import_batch(
    campaign: CampaignRef, body: BatchIn, user: Supervisor, session: DbSession
) -> ImportJobOut:
    """Import up to 10,000 contacts at once; bad ones are listed under the job's rejects."""
    target = get_by_ref(session, campaign)
    job = service.import_batch(
        session,
        target,
        [c.model_dump() for c in body.contacts],
        created_by=user.username,
        now=now_utc(),
    )
    return ImportJobOut.model_validate(job)


@router.get("/campaigns/{campaign}/imports", response_model=list[ImportJobOut])
def list_imports(
    campaign: CampaignRef,
    _user: Viewer,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ImportJobOut]:
    target = get_by_ref(session, campaign)
    return [
        ImportJobOut.model_validate(j) for j in service.list_jobs(session, target.id, limit=limit)
    ]


@router.get("/imports/{job_id}", response_model=ImportJobOut)
def get_import(job_id: IdPath, _user: Viewer, session: DbSession) -> ImportJobOut:
    return ImportJobOut.model_validate(service.get_job(session, job_id))


@router.get("/imports/{job_id}/rejects", response_model=Page[RejectOut])
def list_rejects(
    job_id: IdPath,
    _user: Viewer,
    session: DbSession,
    after: Annotated[int, Query(ge=0, le=MAX_BIG_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[RejectOut]:
    service.get_job(session, job_id)
    rows = service.rejects(session, job_id, after=after, limit=limit)
    next_after = rows[-1].id if len(rows) == limit else None
    return Page[RejectOut](items=[RejectOut.model_validate(r) for r in rows], next_after=next_after)


@router.get(
    "/imports/{job_id}/rejects.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The rejected rows as CSV"}},
)
def download_rejects(
    job_id: IdPath,
    _user: Viewer,
    session: DbSession,
    db: Annotated[Database, Depends(get_database)],
) -> StreamingResponse:
    """The rejected rows (line, column, reason, raw) as a CSV file."""
    return rejects_download(session, db, job_id)


def rejects_download(session: Session, db: Database, job_id: int) -> StreamingResponse:
    """A job's rejected rows streamed as a CSV attachment (for the API and the upload page)."""
    service.get_job(session, job_id)

    def lines() -> Iterator[str]:
        with db.transaction() as own:  # the request's session is closed while this streams
            yield from report.csv_lines(service.iter_rejects(own, job_id))

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job_id}-rejects.csv"'},
    )
