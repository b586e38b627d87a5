"""The ASGI application: built by a factory, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from outbound import __version__
from outbound.api.errors import install_error_handlers
from outbound.api.limits import BodyGate
from outbound.api.router import build_v1_router
from outbound.config import Config
from outbound.db.engine import Database
from outbound.engine.service import EngineThread, timing_from
from outbound.imports.folder import FolderWatcher
from outbound.imports.runner import ImportRunner
from outbound.web.router import install_web
from outbound.webhooks.deliverer import DelivererThread

DESCRIPTION = """
Outbound campaign manager for contact centres.

Authenticate with `POST /api/v1/auth/login` (user name and password) or a long-lived API
token from `POST /api/v1/users/me/tokens`, then send `Authorization: Bearer <token>`.
Campaigns can be addressed by id or by CRM id: `/api/v1/campaigns/crm:<crm_campaign_id>`.
"""


def clock() -> datetime:
    return datetime.now(UTC)


def _lifespan(
    config: Config, background: bool
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = None
        if background:
            watcher = FolderWatcher(app.state.db, clock=clock)
            runner = ImportRunner(
                app.state.db,
                clock=clock,
                folder_poll=watcher.poll_once,
                chunk_rows=config.import_chunk_rows,
                uploads_dir=config.data_dir / "uploads",
            )
            runner.start()
        app.state.import_runner = runner
        engine = (
            EngineThread(app.state.db, timing=timing_from(config))
            if background and config.engine
            else None
        )
        # The webhook deliverer runs wherever the engine runs (it writes the events).
        deliverer = DelivererThread(app.state.db) if engine is not None else None
        if engine is not None:
            engine.start()
        if deliverer is not None:
            deliverer.start()
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.stop()
            if engine is not None:
                engine.stop()
            if runner is not None:
                runner.stop()

    return lifespan


def create_app(
    config: Config | None = None, *, db: Database | None = None, background: bool = True
) -> FastAPI:
    """The web service; ``background`` runs the import worker (and later the engine) too."""
    config = config or Config()
    database = db or Database(config.effective_database_url)
    app = FastAPI(
        title="outbound",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(config, background),
    )
    app.state.config = config
    app.state.db = database
    install_error_handlers(app)
    app.add_middleware(BodyGate)  # the token and the size, before any body is read
    app.include_router(build_v1_router())

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness and database reachability; needs no token."""
        with database.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": database.dialect, "version": __version__}

    install_web(app)  # the web UI at /, after the API's error handlers (it wraps them)
    return app
