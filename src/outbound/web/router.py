"""The web UI: pages at ``/``, static files at ``/static``, HTML error pages.

To add a page family: write ``outbound/web/pages/<name>.py`` exposing ``router`` and list it
in ``PAGES`` below (and, for the nav bar, in ``outbound/web/nav.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from outbound.web.errors import install_page_errors
from outbound.web.pages import (
    agents,
    audit,
    campaigns,
    contacts,
    desk,
    dnc,
    imports,
    login,
    schedules,
    settings,
    strategies,
    users,
)
from outbound.web.templating import HERE

PAGES = (
    login.router,
    campaigns.router,
    users.router,
    contacts.router,
    imports.router,
    dnc.router,
    settings.router,
    strategies.router,
    schedules.router,
    audit.router,
    desk.router,
    agents.router,
)


def build_web_router() -> APIRouter:
    web = APIRouter(include_in_schema=False)
    for router in PAGES:
        web.include_router(router)
    return web


def install_web(app: FastAPI) -> None:
    """Mount the pages on an app whose API routes and error handlers are in place."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    app.include_router(build_web_router())
    install_page_errors(app)


def _favicon() -> FileResponse:
    """Browsers ask for /favicon.ico on every site whatever the page links: answer, not 404."""
    return FileResponse(
        HERE / "static" / "img" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )
