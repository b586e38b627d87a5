"""The ASGI application: built by a factory, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from prometheus_client.registry import CollectorRegistry

from outbound import __version__
from outbound.api.errors import install_error_handlers
from outbound.api.limits import BodyGate
from outbound.api.methods import MethodGate
from outbound.api.router import build_v1_router
from outbound.config import Config
from outbound.db.engine import Database
from outbound.engine.service import build_engine, timing_from
from outbound.engine.worker import Engine
from outbound.health.endpoints import router as health_router
from outbound.health.supervisor import PartStatus, Supervised, off, within
from outbound.imports.folder import FolderWatcher
from outbound.imports.runner import ImportRunner
from outbound.logs.middleware import RequestContext
from outbound.metrics.database import DatabaseCollector
from outbound.metrics.endpoints import registries_of
from outbound.metrics.endpoints import router as metrics_router
from outbound.metrics.exposition import MetricsListener
from outbound.web.router import install_web
from outbound.webhooks.deliverer import Deliverer

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
        parts: list[Supervised[Any]] = []
        reports: dict[str, Callable[[], PartStatus]] = {}
        app.state.parts = reports
        app.state.import_runner = None
        db: Database = app.state.db
        if background:
            watcher = FolderWatcher(db, clock=clock)
            runner = ImportRunner(
                db,
                clock=clock,
                folder_poll=watcher.poll_once,
                chunk_rows=config.import_chunk_rows,
                uploads_dir=config.data_dir / "uploads",
            )
            app.state.import_runner = runner
            imports = Supervised("import_worker", lambda: runner)
            parts.append(imports)
            reports["import_worker"] = imports.status
            reports["folder_watcher"] = within(
                imports, "folder_watcher", lambda: runner.folder_failing
            )
        if background and config.engine:
            timing = timing_from(config)
            parts.append(
                Supervised(
                    "engine", lambda: build_engine(db, timing=timing), close=Engine.close_channels
                )
            )
            # The webhook deliverer runs wherever the engine runs (it writes the events).
            parts.append(
                Supervised("webhook_deliverer", lambda: Deliverer(db), close=Deliverer.close)
            )
            reports |= {part.name: part.status for part in parts[-2:]}
        else:
            reports |= {name: off(name) for name in ("engine", "webhook_deliverer")}
        if not background:
            reports |= {name: off(name) for name in ("import_worker", "folder_watcher")}
        for part in parts:
            part.start()
        listener = None
        if config.metrics_listen:  # the same metrics on an address of their own
            token = config.metrics_token.get_secret_value() if config.metrics_token else None
            metrics = [*registries_of(app)]
            listener = MetricsListener(
                config.metrics_listen, token=token, registries=lambda: metrics
            ).start()
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            for part in reversed(parts):
                part.stop()

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
    app.state.metrics_registry = CollectorRegistry(auto_describe=False)
    app.state.metrics_registry.register(
        DatabaseCollector(
            database,
            clock=clock,
            silent_worker=timedelta(seconds=config.worker_silent_seconds),
            min_interval=config.metrics_cache_seconds,
        )
    )
    install_error_handlers(app)
    app.add_middleware(BodyGate)  # the token and the size, before any body is read
    # Outermost: a method the path lacks is 405 before any route (or token) is looked at.
    app.add_middleware(MethodGate, api=app)
    app.add_middleware(RequestContext)  # a request id and a log line for every request
    app.include_router(build_v1_router())

    app.include_router(health_router)
    app.include_router(metrics_router)
    install_web(app)  # the web UI at /, after the API's error handlers (it wraps them)
    return app
