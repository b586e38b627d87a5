"""Background parts against a database that refuses writes: reported down (503), restarted
with backoff, and back up by themselves once the database takes writes again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from tests.conftest import PG_ADMIN_URL

PARTS = {"engine", "import_worker", "folder_watcher", "webhook_deliverer"}


def _wait(client: TestClient, path: str, done: Callable[[int, Any], bool]) -> Any:
    deadline = time.monotonic() + 90
    while True:
        r = client.get(path)
        if done(r.status_code, r.json()):
            return r.status_code, r.json()
        assert time.monotonic() < deadline, f"{path} never got there: {r.status_code} {r.text}"
        time.sleep(0.1)


def _config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data", engine=True)


def test_health_reports_every_part_and_ready_checks_writes(
    client: TestClient,
) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert set(r.json()["parts"]) == PARTS
    assert r.json()["parts"]["import_worker"]["state"] in {"starting", "running"}
    assert r.json()["parts"]["engine"]["state"] == "off"  # the tests drive the engine
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": []}


def test_read_only_sqlite_file_engine_is_down_and_retried(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    upgrade_head(f"sqlite:///{path}")
    db = Database(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with TestClient(create_app(_config(tmp_path), db=db), raise_server_exceptions=False) as c:
            status, body = _wait(c, "/health", lambda _s, b: b["parts"]["engine"]["restarts"] >= 2)
            assert status == 503 and body["status"] == "degraded"
            assert "engine" in body["down"]
            engine = body["parts"]["engine"]
            assert engine["state"] == "down" and "readonly" in engine["error"]
            assert engine["retry_at"] is not None
            ready = c.get("/ready")
            assert ready.status_code == 503 and ready.json()["ready"] is False
            assert any("refuses writes" in p for p in ready.json()["problems"])
    finally:
        db.dispose()


@pytest.fixture
def pg_read_only(pg_url: str) -> Iterator[Callable[[bool], None]]:
    """Switch the test database's new sessions to read-only and back, as a failover would."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = make_url(pg_url).database

    def switch(on: bool) -> None:
        with admin.connect() as conn:
            value = "on" if on else "off"
            conn.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
            )

    try:
        yield switch
    finally:
        switch(False)
        admin.dispose()


def test_postgresql_read_only_then_writable_parts_recover_by_themselves(
    pg_url: str, pg_read_only: Callable[[bool], None], tmp_path: Path
) -> None:
    pg_read_only(True)
    db = Database(pg_url)
    try:
        with TestClient(create_app(_config(tmp_path), db=db), raise_server_exceptions=False) as c:
            status, body = _wait(c, "/health", lambda _s, b: b["parts"]["engine"]["restarts"] >= 1)
            assert status == 503 and "engine" in body["down"]
            assert "read-only" in body["parts"]["engine"]["error"]
            assert c.get("/ready").status_code == 503
            pg_read_only(False)
            status, body = _wait(c, "/health", lambda s, _b: s == 200)
            assert body["status"] == "ok" and body["parts"]["engine"]["state"] == "running"
            assert body["parts"]["webhook_deliverer"]["state"] == "running"
            ready = c.get("/ready")
            assert ready.status_code == 200, ready.text
    finally:
        db.dispose()
