"""API shapes for users, log-in and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from outbound.api.schemas import Strict
from outbound.users.roles import Role

Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


class LoginIn(Strict):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_at: datetime | None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    is_active: bool
    created_at: datetime


class UserCreate(Strict):
    username: Username
    password: Password
    role: Role = Role.VIEWER


class UserUpdate(Strict):
    role: Role | None = None
    is_active: StrictBool | None = None  # "no" or 0 is a 422, never a silent False
    password: Password | None = None


class PasswordChange(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class ApiTokenCreate(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="Shown once; only a digest is stored")
