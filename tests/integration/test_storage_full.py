"""A full disk (SQLite): every answer is JSON saying "storage full", reads still work.

The SQLite file really cannot grow: every connection the app opens has ``max_page_count``
set to the file's size, and the file's free space is filled first, so SQLite itself
answers SQLITE_FULL ("database or disk is full") as it would on a full disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from outbound.app import create_app
from outbound.bootstrap import seed
from outbound.config import Config
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.users import service as users
from outbound.users.roles import Role

API = "/api/v1"


def _fill(path: Path) -> int:
    """Fill the file's free pages and cap its size; returns the page count it is held to."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (blob BLOB)")
    conn.commit()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (4000, 1000, 200, 50, 10, 1):
        while True:
            try:
                conn.execute("INSERT INTO filler VALUES (randomblob(?))", (size,))
                conn.commit()
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                conn.rollback()
                break
    conn.close()
    return int(pages)


@pytest.fixture
def full_db(tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "full.db"
    url = f"sqlite:///{path}"
    upgrade_head(url)
    db = Database(url)
    with db.transaction() as session:
        seed(session)
        users.create_user(session, username="admin", password="admin-password", role=Role.ADMIN)
    db.dispose()
    pages = _fill(path)
    full = Database(url)

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(full.engine, "connect", cap)
    yield full
    full.dispose()


def _assert_storage_full(response: Any) -> None:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["detail"].startswith("storage full:")


def test_full_storage_gives_clear_json_errors_and_reads_still_work(
    full_db: Database, tmp_path: Path
) -> None:
    config = Config(data_dir=tmp_path / "data", engine=False)
    app = create_app(config, db=full_db, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        # Each log-in stores a session token: they succeed while the last page has room,
        # then the answer is a clear storage-full error, never a plain-text 500.
        token = None
        for _ in range(200):
            login = client.post(
                f"{API}/auth/login", json={"username": "admin", "password": "admin-password"}
            )
            if login.status_code != 200:
                break
            token = login.json()["access_token"]
        _assert_storage_full(login)
        assert token is not None, "the first log-in needs no new page"
        headers = {"Authorization": f"Bearer {token}"}
        # Reads still work; writes are refused with the same clear error.
        listed = client.get(f"{API}/campaigns", headers=headers)
        assert listed.status_code == 200, listed.text
        created = client.post(
            f"{API}/dnc/bulk",
            json={"numbers": [f"+1650253{i:04d}" for i in range(2000)]},
            headers=headers,
        )
        _assert_storage_full(created)
        assert client.get(f"{API}/dnc", headers=headers).json()["items"] == []
