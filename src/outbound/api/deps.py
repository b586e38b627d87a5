"""Request dependencies: the transaction, the caller, and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from outbound.audit import capture as audit
from outbound.config import Config
from outbound.db.engine import Database
from outbound.errors import Forbidden, Unauthorized
from outbound.models import User
from outbound.users import service as users
from outbound.users.roles import Role, may_act_as_agent, role_allows
from outbound.users.throttle import Policy, Throttle

bearer_scheme = HTTPBearer(auto_error=False, description="A log-in or API token")


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_config(request: Request) -> Config:
    config: Config = request.app.state.config
    return config


def get_throttle(request: Request) -> Throttle:
    """The log-in throttle, with the limits of the process configuration."""
    config = get_config(request)
    policy = Policy(
        user_free=config.login_free_failures,
        address_free=config.login_address_free_failures,
        max_delay=config.login_max_delay_seconds,
    )
    return Throttle(get_database(request), policy)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def get_session(db: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """One transaction per request, committed before the response leaves.

    Services never commit; if the endpoint raises, everything it wrote is rolled back.
    """
    with db.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def now_utc() -> datetime:
    return datetime.now(UTC)


def current_user(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    user = users.resolve_token(session, credentials.credentials, now=now_utc())
    audit.bind_request(session, request, user=user, token=credentials.credentials)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(role: Role) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if not role_allows(user.role, role):
            raise Forbidden(f"this needs the {role.value} role; you are {user.role.value}")
        return user

    return check


Viewer = Annotated[User, Depends(require(Role.VIEWER))]
Supervisor = Annotated[User, Depends(require(Role.SUPERVISOR))]
Admin = Annotated[User, Depends(require(Role.ADMIN))]


def require_agent_role(user: CurrentUser) -> User:
    """Agents, and supervisors and admins who also take calls; never a viewer."""
    if not may_act_as_agent(user.role):
        raise Forbidden(
            f"this needs the agent role (or supervisor, admin); you are {user.role.value}"
        )
    return user


AgentUser = Annotated[User, Depends(require_agent_role)]
