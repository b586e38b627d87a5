"""Exception handlers: every error leaves as JSON naming the cause (4xx for the request's
fault, 503/507 for the database's, a JSON 500 for anything unforeseen, never plain text)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from outbound.db.faults import classify, describe
from outbound.errors import DomainError, Invalid, TooManyRequests, Unauthorized

log = logging.getLogger(__name__)


def _validation_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    items = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        items.append(
            {
                "loc": loc,
                "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                "msg": err.get("msg", "invalid value"),
                "type": err.get("type", "value_error"),
            }
        )
    return items


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        status_code=422, content=jsonable_encoder({"detail": _validation_items(exc)})
    )


async def _on_domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, Invalid):
        loc = [str(p) for p in exc.loc]
        content: dict[str, Any] = {
            "detail": [
                {
                    "loc": loc,
                    "field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                    "msg": exc.message,
                    "type": "value_error",
                }
            ]
        }
    else:
        content = {"detail": exc.message}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(status_code=exc.status_code, content=content, headers=headers)


async def _on_integrity(_request: Request, _exc: Exception) -> JSONResponse:
    # Services check the rules first; this catches the race where two requests pass the
    # check together and the database's own constraint refuses the second.
    return JSONResponse(
        status_code=409,
        content={"detail": "the change conflicts with existing data; reload and try again"},
    )


async def _on_data_error(_request: Request, _exc: Exception) -> JSONResponse:
    # Schemas bound every value before it reaches SQL; this is the net under them, so that a
    # value a database cannot hold is the client's 400, never a 500.
    return JSONResponse(
        status_code=400,
        content={"detail": "a value in the request cannot be stored (out of range or invalid)"},
    )


async def _on_database(_request: Request, exc: Exception) -> JSONResponse:
    fault = classify(exc)
    if fault is None:
        return await _on_unexpected(_request, exc)
    status, detail = describe(fault, exc)
    log.warning("database fault (%s): %s", fault.value, detail)
    headers = {"Retry-After": "30"} if status == 503 else {}
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # Starlette logs the exception after this answer; the client gets JSON, as promised.
    fault = classify(exc)
    if fault is not None:
        return await _on_database(_request, exc)
    return JSONResponse(
        status_code=500,
        content={"detail": f"internal error ({type(exc).__name__}); it has been logged"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(IntegrityError, _on_integrity)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
