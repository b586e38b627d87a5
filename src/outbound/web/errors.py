"""Errors on pages answer with HTML; the API's routes keep their JSON answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from outbound.db.faults import classify, describe
from outbound.errors import DomainError
from outbound.web.auth import LoginRequired
from outbound.web.templating import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
API_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/health")
TITLES = {
    400: "Bad request",
    401: "Log-in needed",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Invalid request",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Database unavailable",
    507: "Storage full",
}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def error_page(request: Request, status: int, message: str) -> Response:
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    return render(request, "error.html", context, status_code=status)


async def _login_required(request: Request, _exc: Exception) -> Response:
    if request.headers.get("HX-Request") == "true":
        # A polled fragment: send the whole page (the one the browser shows) to the log-in.
        shown = urlsplit(request.headers.get("HX-Current-URL", ""))
        target = _login_url(shown.path, shown.query)
        return Response(status_code=204, headers={"HX-Redirect": target})
    if request.method != "GET":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_login_url(request.url.path, request.url.query), status_code=303)


def _login_url(path: str, query: str) -> str:
    if not path or path in ("/", "/login"):
        return "/login"
    return "/login?next=" + quote(path + (f"?{query}" if query else ""), safe="/")


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return error_page(request, exc.status_code, exc.message)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only path and query parameters reach here (forms are validated by the pages): an id
    # that is not a number names no page.
    return error_page(request, 404, "there is no such page")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "there is no such page" if exc.status_code == 404 else str(exc.detail)
    return error_page(request, exc.status_code, message)


async def _unexpected(request: Request, exc: Exception) -> Response:
    fault = classify(exc)
    if fault is None:
        return error_page(request, 500, "an internal error happened; it has been logged")
    status, message = describe(fault, exc)
    return error_page(request, status, message)


def _pages_first(app: FastAPI, kind: type[Exception], page_handler: Handler) -> None:
    """Pages get ``page_handler``; every other path keeps the handler the API installed."""
    api_handler = cast(Handler | None, app.exception_handlers.get(kind))
    if api_handler is None and kind is HTTPException:
        api_handler = cast(Handler, http_exception_handler)

    async def handler(request: Request, exc: Exception) -> Response:
        if is_page(request) or api_handler is None:
            return await page_handler(request, exc)
        return await api_handler(request, exc)

    app.add_exception_handler(kind, handler)


def install_page_errors(app: FastAPI) -> None:
    """Call after the API's handlers are installed: it wraps them."""
    app.add_exception_handler(LoginRequired, _login_required)
    _pages_first(app, DomainError, _domain)
    _pages_first(app, RequestValidationError, _validation)
    _pages_first(app, HTTPException, _http)
    _pages_first(app, DBAPIError, _unexpected)
    _pages_first(app, Exception, _unexpected)
