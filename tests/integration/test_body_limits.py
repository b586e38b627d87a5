"""Request bodies: the token before the body, size limits from the settings, upload files
deleted when their job ends. Over real HTTP (uvicorn) where it matters when the server
answers: a refused body is answered before the client has sent it."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.integration.test_imports import finished, upload
from tests.live import serve

API = "/api/v1"
MiB = 2**20


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[str]:
    app = create_app(Config(data_dir=tmp_path / "data", engine=False), db=db, background=False)
    with serve(app) as url:
        yield url


def _post_raw(
    url: str, path: str, headers: dict[str, str], body: Iterator[bytes]
) -> tuple[int, dict[str, Any], int]:
    """POST with ``body`` sent piece by piece, stopping as soon as the server answers.

    Returns the status, the JSON answer and how many body bytes had been sent by then."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    sent = 0
    try:
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: send no more
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < _expected_length(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    finally:
        sock.close()
    status_line, _, rest = answer.partition(b"\r\n")
    body_bytes = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body_bytes), sent


def _expected_length(answer: bytes) -> int:
    head, sep, _ = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + len(sep) + int(value)
    return 0


def _pieces(total: int, size: int = 64 * 1024, fill: bytes = b" ") -> Iterator[bytes]:
    for start in range(0, total, size):
        yield fill * min(size, total - start)


def _chunked(pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@pytest.mark.parametrize("auth", [None, "Bearer ob_not-a-real-token"])
def test_a_body_without_a_valid_token_is_refused_before_it_is_read(
    live: str, db: Database, auth: str | None
) -> None:
    campaign = make_campaign(db, "limits-a")
    size = 50 * MiB
    headers = {"Content-Type": "application/json", "Content-Length": str(size)}
    if auth:
        headers["Authorization"] = auth
    path = f"{API}/campaigns/{campaign}/imports/batch"
    status, answer, sent = _post_raw(live, path, headers, _pieces(size))
    assert status == 401, answer
    assert "token" in answer["detail"]
    assert sent < size  # answered while most of the body was still unsent


def test_a_declared_body_over_the_limit_is_413_at_once(
    live: str, client: TestClient, admin: Account, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "limits-b")
    r = client.patch(f"{API}/settings", json={"max_json_body_bytes": MiB}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["max_json_body_bytes"] == MiB
    size = 64 * MiB
    headers = {"Content-Type": "application/json", "Content-Length": str(size)}
    headers |= supervisor.headers
    path = f"{API}/campaigns/{campaign}/imports/batch"
    status, answer, sent = _post_raw(live, path, headers, _pieces(size))
    assert status == 413
    assert answer["detail"] == (
        f"the request body is larger than the limit of {MiB} bytes (setting max_json_body_bytes)"
    )
    assert sent < size


def test_an_upload_sent_in_chunks_is_cut_off_at_the_limit(
    live: str, client: TestClient, admin: Account, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "limits-c")
    limit = MiB
    r = client.patch(f"{API}/settings", json={"max_upload_bytes": limit}, headers=admin.headers)
    assert r.status_code == 200
    boundary = "b0undary"
    size = 64 * MiB  # far more than the sockets' buffers hold
    rows = b"".join(b"+1415555%04d,x\r\n" % i for i in range(4000))  # 64 KB of good rows

    def pieces() -> Iterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"'
            "\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()
        for _ in range(size // len(rows)):
            yield rows
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Transfer-Encoding": "chunked",
    } | supervisor.headers
    path = f"{API}/campaigns/{campaign}/imports"
    status, answer, sent = _post_raw(live, path, headers, _chunked(pieces()))
    assert status == 413, answer
    assert answer["detail"].endswith(f"limit of {limit} bytes (setting max_upload_bytes)")
    assert sent < size
    jobs = client.get(f"{API}/campaigns/{campaign}/imports", headers=supervisor.headers).json()
    assert jobs == []


def test_limits_are_checked_settings(client: TestClient, admin: Account) -> None:
    shown = client.get(f"{API}/settings", headers=admin.headers).json()
    assert shown["max_upload_bytes"] == 100 * MiB
    assert shown["max_json_body_bytes"] == 8 * MiB
    for field in ("max_upload_bytes", "max_json_body_bytes"):
        for bad in (0, 10, True, "1MB"):
            r = client.patch(f"{API}/settings", json={field: bad}, headers=admin.headers)
            assert r.status_code == 422, (field, bad)
            assert r.json()["detail"][0]["field"] == field


def test_an_uploaded_file_is_deleted_when_its_job_ends_and_its_report_stays(
    client: TestClient, supervisor: Account, db: Database, config: Config
) -> None:
    campaign = make_campaign(db, "limits-d")
    r = upload(client, supervisor, campaign, b"+14155550100\r\nnot-a-number\r\n")
    assert r.status_code == 202, r.text
    uploads = config.data_dir / "uploads"
    job = finished(client, supervisor, r.json()["id"])
    assert job["status"] == "completed" and job["rows_rejected"] == 1
    deadline = time.monotonic() + 30  # the import worker's next round removes it
    while list(uploads.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(uploads.iterdir()) == []
    report = client.get(f"{API}/imports/{job['id']}/rejects.csv", headers=supervisor.headers)
    assert report.status_code == 200 and "not-a-number" in report.text
