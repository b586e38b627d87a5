"""``/health`` (liveness: the database and every background part) and ``/ready``
(readiness for an orchestrator: the database answers, is migrated and takes writes).

Both need no token. Each answers 503 when something is wrong, with the reason in JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from outbound import __version__
from outbound.db.engine import Database
from outbound.health.probes import database_problem, readiness_problems
from outbound.health.supervisor import PartStatus

router = APIRouter(tags=["health"])
Reports = dict[str, Callable[[], PartStatus]]


def _parts(request: Request) -> Reports:
    reports: Reports = getattr(request.app.state, "parts", {})
    return reports


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """The database and each background part (engine, import worker, watched folder,
    webhook deliverer): 200 when all are up, 503 naming what is down."""
    db: Database = request.app.state.db
    problem = await anyio.to_thread.run_sync(database_problem, db)
    parts = {name: report() for name, report in _parts(request).items()}
    down = sorted(name for name, part in parts.items() if part.down)
    if problem is not None:
        down.insert(0, "database")
    body: dict[str, Any] = {
        "status": "degraded" if down else "ok",
        "database": db.dialect,
        "database_error": problem,
        "version": __version__,
        "down": down,
        "parts": {name: part.as_dict() for name, part in parts.items()},
    }
    return JSONResponse(body, status_code=503 if down else 200)


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, is at the newest migration and takes writes."""
    db: Database = request.app.state.db
    problems = await anyio.to_thread.run_sync(readiness_problems, db)
    body = {"ready": not problems, "problems": problems}
    return JSONResponse(body, status_code=503 if problems else 200)
