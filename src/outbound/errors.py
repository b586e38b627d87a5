"""Errors raised by services; the API maps each class to one HTTP status."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Base class: a request that the rules of the product refuse."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The request is well formed but clashes with the current state (409).

    ``loc`` optionally names the field the clash is about (``("body", "name")`` for a taken
    name): the API still answers ``{"detail": message}``, the web forms show it by the field.
    """

    status_code = 409

    def __init__(self, message: str, *, loc: Sequence[str | int] | None = None) -> None:
        super().__init__(message)
        self.loc = tuple(loc) if loc is not None else None


class Forbidden(DomainError):
    status_code = 403


class Unauthorized(DomainError):
    status_code = 401


class TooManyRequests(DomainError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Invalid(DomainError):
    """A field-level validation failure found by a service rule (422).

    ``loc`` follows FastAPI's convention (``("body", "rules", "busy")``) so that a
    client sees one error shape whether pydantic or a service rule refused the input.
    """

    status_code = 422

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
