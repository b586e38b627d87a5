"""Log-in and log-out. The log-in form uses the API's service, throttle included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from outbound.api.deps import DbSession, client_address, get_config, get_throttle, now_utc
from outbound.config import Config
from outbound.errors import Forbidden, TooManyRequests, Unauthorized
from outbound.users import service as users
from outbound.users.roles import Role
from outbound.users.schemas import LoginIn
from outbound.web import forms
from outbound.web.auth import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AnyPost,
    Form,
    clear_cookie,
    new_login_nonce,
    set_cookie,
    tokens_match,
)
from outbound.web.templating import render

router = APIRouter()

FIELDS: dict[str, forms.Converter] = {"username": forms.text, "password": forms.secret}
NextPath = Annotated[str, Query(alias="next", max_length=2000)]


def _safe_next(target: str) -> str:
    """Only a path on this site: never an absolute or scheme-relative URL."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _login_page(
    request: Request, form: forms.FormState, next_path: str, *, status_code: int = 200
) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or new_login_nonce()
    context = {"form": form, "next": next_path, "login_nonce": nonce}
    response = render(request, "login.html", context, status_code=status_code)
    set_cookie(request, response, LOGIN_COOKIE, nonce, max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, next_path: NextPath = "/") -> Response:
    return _login_page(request, forms.FormState.initial(), _safe_next(next_path))


@router.post("/login")
def login(
    request: Request,
    data: Form,
    session: DbSession,
    config: Annotated[Config, Depends(get_config)],
) -> Response:
    form = forms.FormState.submitted(data, FIELDS)
    next_path = _safe_next(str(data.get("next") or "/"))
    sent = data.get(CSRF_FIELD)
    if not tokens_match(
        sent if isinstance(sent, str) else None, request.cookies.get(LOGIN_COOKIE, "")
    ):
        form.add(None, "the log-in form had expired; please try again")
        return _login_page(request, form, next_path, status_code=403)
    payload = form.bind(LoginIn, FIELDS)
    if payload is None:
        return _login_page(request, form, next_path, status_code=422)
    try:
        token, _expires = users.login(
            session,
            username=payload.username,
            password=payload.password,
            address=client_address(request),
            throttle=get_throttle(request),
            now=now_utc(),
            session_hours=config.session_hours,
        )
    except Unauthorized as exc:
        form.add(None, exc.message)
        return _login_page(request, form, next_path, status_code=401)
    except (TooManyRequests, Forbidden) as exc:
        form.add(None, exc.message)
        response = _login_page(request, form, next_path, status_code=exc.status_code)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if next_path == "/" and users.resolve_token(session, token, now=now_utc()).role is Role.AGENT:
        next_path = "/agent"  # an agent's home is the desk (the dashboard is not theirs)
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(config.session_hours * 3600))
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, caller: AnyPost, session: DbSession) -> Response:
    users.logout(session, caller.token, now=now_utc())
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
