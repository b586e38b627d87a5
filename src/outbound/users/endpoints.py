"""REST routes: log-in/log-out, users (admin), the caller's own account and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from outbound.api.deps import (
    Admin,
    CurrentUser,
    DbSession,
    bearer_scheme,
    client_address,
    get_config,
    get_throttle,
    now_utc,
)
from outbound.api.schemas import IdPath
from outbound.config import Config
from outbound.users import service
from outbound.users.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenOut,
    LoginIn,
    PasswordChange,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)

auth_router = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/users", tags=["users"])


@auth_router.post("/login", response_model=TokenOut)
def login(
    body: LoginIn,
    session: DbSession,
    request: Request,
    config: Annotated[Config, Depends(get_config)],
) -> TokenOut:
    """Exchange a user name and password for a bearer token valid for a working day.

    Failed log-ins are counted per account and per client address; past the free ones the
    answer is 429 with ``Retry-After`` (seconds) and a detail saying how long to wait."""
    token, expires = service.login(
        session,
        username=body.username,
        password=body.password,
        address=client_address(request),
        throttle=get_throttle(request),
        now=now_utc(),
        session_hours=config.session_hours,
    )
    return TokenOut(access_token=token, expires_at=expires)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    _user: CurrentUser,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Response:
    """Revoke the token this request carries."""
    assert credentials is not None
    service.logout(session, credentials.credentials, now=now_utc())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, user: CurrentUser, session: DbSession) -> Response:
    service.change_own_password(session, user, current=body.current_password, new=body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/tokens", response_model=list[ApiTokenOut])
def my_tokens(user: CurrentUser, session: DbSession) -> list[ApiTokenOut]:
    return [ApiTokenOut.model_validate(t) for t in service.list_api_tokens(session, user)]


@router.post("/me/tokens", response_model=ApiTokenCreated, status_code=201)
def create_my_token(body: ApiTokenCreate, user: CurrentUser, session: DbSession) -> ApiTokenCreated:
    """A long-lived token for a CRM or script, acting as this user with this user's role."""
    plain, token = service.create_api_token(
        session, user, name=body.name, expires_in_days=body.expires_in_days, now=now_utc()
    )
    return ApiTokenCreated(token=plain, **ApiTokenOut.model_validate(token).model_dump())


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(token_id: IdPath, user: CurrentUser, session: DbSession) -> Response:
    service.revoke_api_token(session, user, token_id, now=now_utc())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[UserOut])
def list_users(_admin: Admin, session: DbSession) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in service.list_users(session)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, _admin: Admin, session: DbSession) -> UserOut:
    user = service.create_user(
        session, username=body.username, password=body.password, role=body.role
    )
    return UserOut.model_validate(user)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: IdPath, _admin: Admin, session: DbSession) -> UserOut:
    return UserOut.model_validate(service.get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: IdPath, body: UserUpdate, admin: Admin, session: DbSession) -> UserOut:
    user = service.update_user(
        session,
        service.get_user(session, user_id),
        actor=admin,
        role=body.role,
        is_active=body.is_active,
        password=body.password,
        now=now_utc(),
    )
    return UserOut.model_validate(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: IdPath, admin: Admin, session: DbSession) -> Response:
    service.delete_user(session, service.get_user(session, user_id), actor=admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
