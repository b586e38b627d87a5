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
