"""Rendering: one Jinja2 environment, and the context every page gets."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from outbound import __version__
from outbound.strategies import outcomes
from outbound.web.auth import CSRF_FIELD, CSRF_HEADER, PageCaller
from outbound.web.nav import nav_for

HERE = Path(__file__).parent
# No inline script runs: the pages' own code is /static/js/app.js, chart data travel as JSON
# in <script type="application/json">. Styles may be inline (bar widths, Chart.js canvases).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _percent(part: float, whole: float) -> int:
    return int(100 * part / whole) if whole else 0


@cache
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.filters["when"] = _when
    found.env.filters["outcome"] = outcomes.label  # a key as people read it
    found.env.globals["percent"] = _percent
    found.env.globals["CSRF_FIELD"] = CSRF_FIELD
    found.env.globals["CSRF_HEADER"] = CSRF_HEADER
    found.env.globals["version"] = __version__
    return found


def caller_of(request: Request) -> PageCaller | None:
    caller: PageCaller | None = getattr(request.state, "caller", None)
    return caller


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page or fragment, with the caller, the navigation and the CSRF token in its context."""
    caller = caller_of(request)
    ctx: dict[str, Any] = {
        "caller": caller,
        "user": caller.user if caller else None,
        "csrf_token": caller.csrf if caller else "",
        "nav": nav_for(caller.user.role, request.url.path) if caller else [],
        "can": caller.can if caller else (lambda _role: False),
        "htmx": request.headers.get("HX-Request") == "true",
    }
    ctx.update(context or {})
    response = templates().TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def see_other(request: Request, url: str) -> Response:
    """After a successful POST: a plain redirect, or HX-Redirect for an htmx request."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
