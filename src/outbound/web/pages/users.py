"""Users and API tokens (admin only): create, change role, reset password, disable; tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession, now_utc
from outbound.api.schemas import IdPath
from outbound.models import User
from outbound.users import service
from outbound.users.roles import Role
from outbound.users.schemas import ApiTokenCreate, UserCreate, UserUpdate
from outbound.web import forms
from outbound.web.auth import AdminPage, AdminPost, Form
from outbound.web.templating import render, see_other

router = APIRouter()

CREATE_FIELDS: dict[str, forms.Converter] = {
    "username": forms.text,
    "password": forms.secret,
    "role": forms.choice,
}
PASSWORD_FIELDS: dict[str, forms.Converter] = {"password": forms.secret}
ROLE_FIELDS: dict[str, forms.Converter] = {"role": forms.choice}
TOKEN_FIELDS: dict[str, forms.Converter] = {
    "name": forms.text,
    "expires_in_days": forms.optional_integer,
}
ROLES = [
    (r.value, r.value.capitalize()) for r in (Role.AGENT, Role.VIEWER, Role.SUPERVISOR, Role.ADMIN)
]
DONE = {
    "created": "User created.",
    "password": "Password changed; the user's sessions stay open until they log out.",
    "disabled": "User disabled; their sessions and tokens are revoked.",
    "enabled": "User enabled.",
    "role": "Role changed.",
    "revoked": "Token revoked.",
}


def _users_page(
    request: Request,
    session: Session,
    *,
    forms_by_id: dict[str, forms.FormState] | None = None,
    status_code: int = 200,
) -> Response:
    shown = forms_by_id or {}
    context: dict[str, Any] = {
        "users": service.list_users(session),
        "roles": ROLES,
        "create": shown.get("create") or forms.FormState.initial({"role": "viewer"}, prefix="new"),
        "row_forms": shown,
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "users/list.html", context, status_code=status_code)


@router.get("/users")
def users_page(request: Request, _caller: AdminPage, session: DbSession) -> Response:
    return _users_page(request, session)


@router.post("/users")
def create_user(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, CREATE_FIELDS, prefix="new")
    payload = form.bind(UserCreate, CREATE_FIELDS)
    if payload is not None:
        with form.catching(session):
            service.create_user(
                session, username=payload.username, password=payload.password, role=payload.role
            )
            return see_other(request, "/users?done=created")
    return _users_page(request, session, forms_by_id={"create": form}, status_code=422)


def _update(
    request: Request,
    session: Session,
    caller_id: int,
    user_id: int,
    form: forms.FormState,
    fields: dict[str, forms.Converter],
    done: str,
    **fixed: Any,
) -> Response:
    target = service.get_user(session, user_id)
    payload = form.bind(UserUpdate, fields) if fields else UserUpdate(**fixed)
    if payload is not None:
        with form.catching(session):
            service.update_user(
                session,
                target,
                actor=service.get_user(session, caller_id),
                role=payload.role,
                is_active=payload.is_active,
                password=payload.password,
                now=now_utc(),
            )
            return see_other(request, f"/users?done={done}")
    return _users_page(request, session, forms_by_id={form.prefix: form}, status_code=422)


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request, user_id: IdPath, caller: AdminPost, data: Form, session: DbSession
) -> Response:
    form = forms.FormState.submitted(data, PASSWORD_FIELDS, prefix=f"pw{user_id}")
    return _update(request, session, caller.user.id, user_id, form, PASSWORD_FIELDS, "password")


@router.post("/users/{user_id}/role")
def change_role(
    request: Request, user_id: IdPath, caller: AdminPost, data: Form, session: DbSession
) -> Response:
    form = forms.FormState.submitted(data, ROLE_FIELDS, prefix=f"role{user_id}")
    return _update(request, session, caller.user.id, user_id, form, ROLE_FIELDS, "role")


@router.post("/users/{user_id}/disable")
def disable(request: Request, user_id: IdPath, caller: AdminPost, session: DbSession) -> Response:
    form = forms.FormState(prefix=f"act{user_id}")
    return _update(request, session, caller.user.id, user_id, form, {}, "disabled", is_active=False)


@router.post("/users/{user_id}/enable")
def enable(request: Request, user_id: IdPath, caller: AdminPost, session: DbSession) -> Response:
    form = forms.FormState(prefix=f"act{user_id}")
    return _update(request, session, caller.user.id, user_id, form, {}, "enabled", is_active=True)


# --- API tokens of a user --------------------------------------------------------------


def _tokens_page(
    request: Request,
    session: Session,
    owner: User,
    *,
    form: forms.FormState | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "owner": owner,
        "users": service.list_users(session),
        "tokens": service.list_api_tokens(session, owner),
        "form": form or forms.FormState.initial(prefix="tok"),
        "new_token": new_token,
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "users/tokens.html", context, status_code=status_code)


@router.get("/tokens")
def my_tokens(request: Request, caller: AdminPage) -> Response:
    return see_other(request, f"/users/{caller.user.id}/tokens")


@router.get("/users/{user_id}/tokens")
def tokens_page(
    request: Request, user_id: IdPath, _caller: AdminPage, session: DbSession
) -> Response:
    return _tokens_page(request, session, service.get_user(session, user_id))


@router.post("/users/{user_id}/tokens")
def create_token(
    request: Request, user_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    """The new token is shown in this answer only: just its digest is stored."""
    owner = service.get_user(session, user_id)
    form = forms.FormState.submitted(data, TOKEN_FIELDS, prefix="tok")
    payload = form.bind(ApiTokenCreate, TOKEN_FIELDS)
    if payload is not None:
        plain, _token = service.create_api_token(
            session,
            owner,
            name=payload.name,
            expires_in_days=payload.expires_in_days,
            now=now_utc(),
        )
        return _tokens_page(request, session, owner, new_token=plain)
    return _tokens_page(request, session, owner, form=form, status_code=422)


@router.post("/users/{user_id}/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, user_id: IdPath, token_id: IdPath, _caller: AdminPost, session: DbSession
) -> Response:
    owner = service.get_user(session, user_id)
    service.revoke_api_token(session, owner, token_id, now=now_utc())
    return see_other(request, f"/users/{user_id}/tokens?done=revoked")
