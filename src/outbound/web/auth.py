"""Who is asking for a page: the session cookie, the CSRF token, and role checks.

The session cookie carries a log-in token issued by ``users.service.login`` (the same kind
the API hands out), so log-out, expiry, deactivation and the log-in throttle work exactly as
for the API. The cookie is HttpOnly and SameSite=Lax, and Secure when the page came over
https. The CSRF token is derived from the session token (an HMAC of it), so it needs no
storage, differs per session, and cannot be computed by a page that cannot read the cookie.
Every POST must carry it, as the form field ``csrf_token`` or the header ``X-CSRF-Token``
(htmx sends the header: ``hx-headers`` on ``<body>``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from outbound.api.deps import DbSession, now_utc
from outbound.audit import capture as audit
from outbound.errors import Forbidden, Unauthorized
from outbound.models import User
from outbound.users import service as users
from outbound.users.roles import Role, may_act_as_agent, role_allows

SESSION_COOKIE = "outbound_session"
# Before log-in there is no session: the log-in form is protected by a random value kept in
# this cookie and repeated in the form (double submit).
LOGIN_COOKIE = "outbound_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the log-in form."""


class CsrfRefused(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "the form's security token is missing or stale; reload the page and try again"
        )


@dataclass(frozen=True)
class PageUser:
    """A copy of the caller's account, usable after the request's session has closed
    (error pages render after the transaction ended)."""

    id: int
    username: str
    role: Role

    @classmethod
    def of(cls, user: User) -> PageUser:
        return cls(id=user.id, username=user.username, role=user.role)


@dataclass(frozen=True)
class PageCaller:
    user: PageUser
    token: str

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)

    def can(self, role: Role | str) -> bool:
        return role_allows(self.user.role, Role(role))


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"outbound-web-csrf", hashlib.sha256).hexdigest()


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def page_caller(request: Request, session: DbSession) -> PageCaller:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        user = users.resolve_token(session, token, now=now_utc())
    except Unauthorized:
        raise LoginRequired from None
    audit.bind_request(session, request, user=user, token=token)
    caller = PageCaller(user=PageUser.of(user), token=token)
    request.state.caller = caller  # for the templates: nav, role checks, CSRF field
    return caller


async def form_data(request: Request) -> FormData:
    """The submitted form (parsed once; Starlette caches it for the endpoint)."""
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def _reader(role: Role) -> Callable[[PageCaller], PageCaller]:
    def check(caller: Annotated[PageCaller, Depends(page_caller)]) -> PageCaller:
        if not caller.can(role):
            raise Forbidden(f"this page needs the {role.value} role; you are {caller.user.role}")
        return caller

    return check


def _writer(role: Role) -> Callable[..., Coroutine[Any, Any, PageCaller]]:
    """A POST: the session, then its CSRF token, then the role (so a viewer gets 403 too)."""

    async def check(
        request: Request,
        caller: Annotated[PageCaller, Depends(page_caller)],
        form: Form,
    ) -> PageCaller:
        given = form.get(CSRF_FIELD)
        sent = given if isinstance(given, str) else request.headers.get(CSRF_HEADER)
        if not tokens_match(sent, caller.csrf):
            raise CsrfRefused
        if not caller.can(role):
            raise Forbidden(f"this needs the {role.value} role; you are {caller.user.role}")
        return caller

    return check


# Page dependencies: GETs take a *Page, POSTs a *Post (which also checks the CSRF token).
ViewerPage = Annotated[PageCaller, Depends(_reader(Role.VIEWER))]
SupervisorPage = Annotated[PageCaller, Depends(_reader(Role.SUPERVISOR))]
AdminPage = Annotated[PageCaller, Depends(_reader(Role.ADMIN))]
AnyPost = Annotated[PageCaller, Depends(_writer(Role.VIEWER))]
SupervisorPost = Annotated[PageCaller, Depends(_writer(Role.SUPERVISOR))]
AdminPost = Annotated[PageCaller, Depends(_writer(Role.ADMIN))]
_any_reader = _reader(Role.AGENT)
_any_writer = _writer(Role.AGENT)


def _desk_reader(caller: Annotated[PageCaller, Depends(_any_reader)]) -> PageCaller:
    """The agent desk: agents, and supervisors and admins who take calls; never a viewer."""
    return _may_take_calls(caller)


def _desk_writer(caller: Annotated[PageCaller, Depends(_any_writer)]) -> PageCaller:
    return _may_take_calls(caller)


def _may_take_calls(caller: PageCaller) -> PageCaller:
    if not may_act_as_agent(caller.user.role):
        raise Forbidden(f"the agent desk is for agents; you are {caller.user.role}")
    return caller


AgentPage = Annotated[PageCaller, Depends(_desk_reader)]
AgentPost = Annotated[PageCaller, Depends(_desk_writer)]
