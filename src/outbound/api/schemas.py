"""Schema pieces shared by every domain's API."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Strict(BaseModel):
    """Input bodies: unknown fields are refused (422 naming the field), never ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated listing; pass ``next_after`` as ``after`` for the next."""

    items: list[T]
    next_after: int | None


class ErrorOut(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str]
    field: str
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[FieldError]


# Documented on every v1 route, so clients (and the schema fuzzer) know the error shapes.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Malformed request"},
    401: {"model": ErrorOut, "description": "Missing, unknown, expired or revoked token"},
    403: {"model": ErrorOut, "description": "The caller's role does not allow this"},
    404: {"model": ErrorOut, "description": "No such resource"},
    409: {"model": ErrorOut, "description": "Conflicts with the current state"},
    422: {"model": ValidationErrorOut, "description": "A field is invalid; `field` names it"},
    429: {"model": ErrorOut, "description": "Too many failed log-ins; see Retry-After"},
}
