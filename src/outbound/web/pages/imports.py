"""Import pages: upload a contact file, follow its job live, download its rejected rows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from outbound.api.deps import DbSession, get_config, get_database, now_utc
from outbound.api.schemas import IdPath
from outbound.campaigns import service as campaigns
from outbound.config import Config
from outbound.db.engine import Database
from outbound.imports import service
from outbound.imports.endpoints import rejects_download
from outbound.imports.schemas import ImportJobOut
from outbound.imports.uploads import store_upload
from outbound.models import ImportSource, ImportStatus
from outbound.web import forms
from outbound.web.auth import Form, SupervisorPost, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

RECENT = 50
SHOWN_REJECTS = 20
FINISHED = (ImportStatus.COMPLETED, ImportStatus.FAILED)


def _campaign_choices(session: Session) -> list[tuple[str, str]]:
    return [(str(c.id), c.name) for c in campaigns.list_campaigns(session)]


def _list(
    request: Request, session: Session, form: forms.FormState, *, status_code: int = 200
) -> Response:
    context = {
        "form": form,
        "campaigns": _campaign_choices(session),
        "jobs": service.recent_jobs(session, limit=RECENT),
    }
    return render(request, "imports/list.html", context, status_code=status_code)


@router.get("/imports")
def imports(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    chosen = request.query_params.get("campaign", "")
    return _list(request, session, forms.FormState.initial({"campaign_id": chosen}))


@router.post("/imports")
def upload(
    request: Request,
    caller: SupervisorPost,
    data: Form,
    session: DbSession,
    config: Annotated[Config, Depends(get_config)],
) -> Response:
    """The same path as ``POST /api/v1/campaigns/{c}/imports``: store, queue, wake the runner."""
    form = forms.FormState.submitted(data, {"campaign_id": forms.choice})
    chosen = form.value("campaign_id")
    file = data.get("file")
    if not chosen:
        form.add("campaign_id", "choose the campaign the contacts go to")
    if not isinstance(file, UploadFile) or not file.filename:
        form.add("file", "choose a .csv or .txt file")
    if form.ok:
        assert isinstance(file, UploadFile)
        with form.catching(session):
            target = campaigns.get_campaign(session, chosen)
            stored = store_upload(file, config.data_dir / "uploads")
            job = service.create_job(
                session,
                campaign=target,
                source=ImportSource.UPLOAD,
                filename=file.filename or "",
                stored_path=stored,
                created_by=caller.user.username,
                now=now_utc(),
            )
            runner = getattr(request.app.state, "import_runner", None)
            if runner is not None:
                runner.wake()  # at worst it looks before the commit: found next round
            return see_other(request, f"/imports/{job.id}")
        if form.errors.pop("", None):  # a campaign that vanished meanwhile
            form.add("campaign_id", "that campaign no longer exists")
    return _list(request, session, form, status_code=422)


def _job_context(session: Session, job_id: int) -> dict[str, Any]:
    job = service.get_job(session, job_id)
    campaign = campaigns.get_campaign(session, str(job.campaign_id))
    return {
        "job": ImportJobOut.model_validate(job),
        "campaign": campaign,
        "finished": job.status in FINISHED,
        "rejects": service.rejects(session, job_id, after=0, limit=SHOWN_REJECTS),
    }


@router.get("/imports/{job_id}")
def job_page(request: Request, job_id: IdPath, _caller: ViewerPage, session: DbSession) -> Response:
    return render(request, "imports/job.html", _job_context(session, job_id))


@router.get("/imports/{job_id}/progress")
def job_progress(
    request: Request, job_id: IdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    """The live part of a job's page, polled by htmx until the job ends."""
    return render(request, "imports/_progress.html", _job_context(session, job_id))


@router.get("/imports/{job_id}/rejects.csv")
def rejects_csv(
    job_id: IdPath,
    _caller: ViewerPage,
    session: DbSession,
    db: Annotated[Database, Depends(get_database)],
) -> StreamingResponse:
    """The rejected rows (line, column, reason, raw): the API's report, for the browser."""
    return rejects_download(session, db, job_id)
