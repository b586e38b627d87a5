"""Shared fixtures: real SQLite and real PostgreSQL databases built by ``alembic upgrade head``.

Every test that takes ``db`` runs twice, once per backend. PostgreSQL is found at
``OUTBOUND_TEST_PG_URL`` (default: the local server, trust auth). Where it is missing the
PostgreSQL half is skipped, unless ``OUTBOUND_REQUIRE_POSTGRES`` is set (CI), where that is
a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outbound.app import create_app
from outbound.bootstrap import seed
from outbound.config import Config
from outbound.db.base import Base
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.models import ApiToken, User
from outbound.users import service as users
from outbound.users.roles import Role

PG_ADMIN_URL = os.environ.get(
    "OUTBOUND_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = bool(os.environ.get("OUTBOUND_REQUIRE_POSTGRES"))
# Users and their tokens survive between tests: hashing passwords is slow on purpose.
KEEP_TABLES = frozenset({"users", "api_tokens"})


def _pg_admin_engine() -> Any:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    name = f"outbound_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_head(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "outbound.db"
    url = f"sqlite:///{path}"
    upgrade_head(url)
    return url


@pytest.fixture(scope="session")
def _databases() -> dict[str, Database]:
    return {}


def _clean(db: Database) -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
        # Keep only the fixture accounts; users a test created go with their tokens.
        conn.execute(
            text(
                "DELETE FROM api_tokens WHERE user_id IN "
                "(SELECT id FROM users WHERE username NOT LIKE 'test-%')"
            )
        )
        conn.execute(text("DELETE FROM users WHERE username NOT LIKE 'test-%'"))
    with db.transaction() as session:
        seed(session)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, _databases: dict[str, Database]) -> Iterator[Database]:
    """A migrated, seeded database of each backend, emptied before every test."""
    backend: str = request.param
    if backend not in _databases:
        url_fixture = "sqlite_url" if backend == "sqlite" else "pg_url"
        _databases[backend] = Database(request.getfixturevalue(url_fixture))
    database = _databases[backend]
    _clean(database)
    yield database


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # The engine is driven by the tests themselves (virtual clock), never by a background thread.
    return Config(data_dir=tmp_path / "data", engine=False)


@pytest.fixture
def client(db: Database, config: Config) -> Iterator[TestClient]:
    with TestClient(create_app(config, db=db), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: Role
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _account(db: Database, role: Role) -> Account:
    username = f"test-{role.value}"
    password = f"{role.value}-password-1"
    with db.transaction() as session:
        user = session.query(User).filter_by(username=username).one_or_none()
        if user is None:
            user = users.create_user(session, username=username, password=password, role=role)
        token = session.query(ApiToken).filter_by(user_id=user.id, name="fixture").first()
        if token is not None:
            session.delete(token)
            session.flush()
        plain, _ = users.create_api_token(
            session, user, name="fixture", expires_in_days=None, now=datetime.now(UTC)
        )
    return Account(username, password, role, plain)


@pytest.fixture
def admin(db: Database) -> Account:
    return _account(db, Role.ADMIN)


@pytest.fixture
def supervisor(db: Database) -> Account:
    return _account(db, Role.SUPERVISOR)


@pytest.fixture
def viewer(db: Database) -> Account:
    return _account(db, Role.VIEWER)
