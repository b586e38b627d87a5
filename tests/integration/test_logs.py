"""Logs of the real service: ``outbound serve`` run as a process with
``OUTBOUND_LOG_FORMAT=json``, used with every kind of secret, its stderr read afterwards.

Every line is one JSON object; each request has its line with the request id it was
answered with; an upload's import job logs with the id of the request that queued it; and
no secret it was given (the admin's password, an API token, the SMPP and Kannel passwords,
Kannel's callback secret, the metrics token) appears anywhere in the output.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from outbound.logs.redact import remember
from outbound.logs.setup import configure
from tests.conftest import Account

ADMIN_NEW_PASSWORD = "Admin-new-pass-4471!"
SMPP_PASSWORD = "Sm9Pw8xZ"  # at most 8 characters in SMPP 3.4
KANNEL_PASSWORD = "kannel-pass-58217"
KANNEL_SECRET = "kannel-callback-secret-93041"
METRICS_TOKEN = "metrics-token-66190-abcdef"
API = "/api/v1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr = folder / "stderr.log"
        env = {
            **os.environ,
            "OUTBOUND_DATA_DIR": str(folder / "data"),
            "OUTBOUND_LOG_FORMAT": "json",
            "OUTBOUND_METRICS_TOKEN": METRICS_TOKEN,
        }
        env.pop("OUTBOUND_DATABASE_URL", None)
        with self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "outbound.cli", "serve", "--port", str(self.port)],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def lines(self) -> list[dict[str, Any]]:
        text = self.stderr.read_text(errors="replace")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def wait_for(self, what: str, found: Any, within: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            assert self.proc.poll() is None, self.stderr.read_text()[-3000:]
            for line in self.lines():
                if found(line):
                    return line
            assert time.monotonic() < deadline, f"no log line for {what}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    running = Service(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert running.proc.poll() is None, running.stderr.read_text()[-3000:]
            try:
                if httpx.get(f"{running.url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield running
    finally:
        running.stop()


def test_json_lines_with_request_ids_and_never_a_secret(service: Service) -> None:
    http = httpx.Client(base_url=service.url, timeout=30)
    first_password = (service.folder / "data" / "initial-admin-password.txt").read_text().strip()
    login = http.post(
        f"{API}/auth/login", json={"username": "admin", "password": first_password}
    ).json()
    session_token = login["access_token"]
    auth = {"Authorization": f"Bearer {session_token}"}
    changed = http.post(
        f"{API}/users/me/password",
        json={"current_password": first_password, "new_password": ADMIN_NEW_PASSWORD},
        headers=auth,
    )
    assert changed.status_code in (200, 204), changed.text
    login = http.post(
        f"{API}/auth/login", json={"username": "admin", "password": ADMIN_NEW_PASSWORD}
    ).json()
    auth = {"Authorization": f"Bearer {login['access_token']}"}
    made = http.post(f"{API}/users/me/tokens", json={"name": "crm"}, headers=auth)
    assert made.status_code == 201, made.text
    api_token = made.json()["token"]
    api = {"Authorization": f"Bearer {api_token}"}
    assert http.get(f"{API}/campaigns", headers=api).status_code == 200
    wrong = http.get(f"{API}/campaigns", headers={"Authorization": f"Bearer {api_token}x"})
    assert wrong.status_code == 401

    # An SMSC that is not there: the engine tries to bind (and logs that it cannot).
    closed = _free_port()
    smpp = {"host": "127.0.0.1", "port": closed, "system_id": "acme", "password": SMPP_PASSWORD}
    patched = http.patch(
        f"{API}/settings", json={"sms_gateway": {"kind": "smpp", "options": smpp}}, headers=api
    )
    assert patched.status_code == 200, patched.text
    service.wait_for("the SMPP bind", lambda line: "smpp bind to" in line["message"], within=60)
    # Kannel's sendsms (username and password in its query string) at a server that logs
    # every request: this service itself, which answers 404 (the SMS fails).
    kannel = {
        "sendsms_url": f"{service.url}/cgi-bin/sendsms",
        "username": "outbound",
        "password": KANNEL_PASSWORD,
        "callback_url": service.url,
        "secret": KANNEL_SECRET,
    }
    patched = http.patch(
        f"{API}/settings", json={"sms_gateway": {"kind": "http", "options": kannel}}, headers=api
    )
    assert patched.status_code == 200, patched.text
    _send_one_sms(http, api)
    service.wait_for(
        "the sendsms request", lambda line: line.get("path") == "/cgi-bin/sendsms", within=60
    )
    # Kannel's callbacks carry the secret in their query string.
    inbound = http.get(
        f"{API}/sms/http/inbound",
        params={"key": KANNEL_SECRET, "from": "+14155550123", "text": "hello"},
    )
    assert inbound.status_code == 200, inbound.text
    refused = http.get(f"{API}/sms/http/inbound", params={"key": KANNEL_PASSWORD, "from": "+1"})
    assert refused.status_code == 401
    metrics = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200

    # An upload queues a job; the job's lines carry the id of the request that queued it.
    campaign = _campaign(http, api, "uploads")
    upload = http.post(
        f"{API}/campaigns/{campaign}/imports",
        files={"file": ("contacts.csv", b"phone1\n+14155550199\n+14155550198\nbad\n")},
        headers={**api, "X-Request-ID": "upload-req-42"},
    )
    assert upload.status_code == 202, upload.text
    assert upload.headers["x-request-id"] == "upload-req-42"
    job = upload.json()["id"]
    done = service.wait_for(
        "the import job's end",
        lambda line: line["message"].startswith(f"import job {job} completed"),
    )
    assert done["request_id"] == "upload-req-42"
    assert "2 imported, 1 rejected" in done["message"]
    service.stop()

    text = service.stderr.read_text()
    lines = service.lines()  # every line parses as JSON (or this fails)
    assert len(lines) == len([t for t in text.splitlines() if t.strip()])
    for line in lines:
        assert {"ts", "level", "logger", "message"} <= line.keys(), line
    requests = [line for line in lines if line["logger"] == "outbound.http"]
    started = next(r for r in requests if r["path"] == f"{API}/campaigns/{campaign}/imports")
    assert (started["request_id"], started["status"], started["method"]) == (
        "upload-req-42",
        202,
        "POST",
    )
    callback = next(r for r in requests if r["path"] == f"{API}/sms/http/inbound")
    assert "?" not in callback["path"] and callback["status"] == 200
    assert len({r["request_id"] for r in requests}) == len(requests)  # one id per request
    for secret in (
        first_password,
        ADMIN_NEW_PASSWORD,
        session_token,
        api_token,
        SMPP_PASSWORD,
        KANNEL_PASSWORD,
        KANNEL_SECRET,
        METRICS_TOKEN,
    ):
        assert secret not in text, f"a secret was logged: {secret[:3]}…"


def _campaign(http: httpx.Client, api: dict[str, str], name: str) -> int:
    strategy = http.post(
        f"{API}/strategies",
        json={
            "name": f"sms-{name}",
            "max_attempts": 1,
            "attempts": [{"channel": "sms", "sms_mode": "send_and_close", "sms_template": "Hi"}],
        },
        headers=api,
    )
    assert strategy.status_code == 201, strategy.text
    schedule = http.post(
        f"{API}/schedules",
        json={
            "name": f"always-{name}",
            "time_zone": "UTC",
            "windows": [
                {"day": d, "start": "00:00", "end": "24:00"}
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ],
        },
        headers=api,
    )
    assert schedule.status_code == 201, schedule.text
    made = http.post(
        f"{API}/campaigns",
        json={
            "name": name,
            "type": "sms",
            "strategy_id": strategy.json()["id"],
            "schedule_id": schedule.json()["id"],
            "sms_template": "Hi",
        },
        headers=api,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _send_one_sms(http: httpx.Client, api: dict[str, str]) -> None:
    campaign = _campaign(http, api, "texts")
    batch = http.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": "+14155550177"}]},
        headers=api,
    )
    assert batch.status_code in (200, 201), batch.text
    assert http.post(f"{API}/campaigns/{campaign}/start", headers=api).status_code == 200


def test_what_looks_like_a_secret_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever a library puts in a message: remembered secrets, and credential shapes."""
    remember(["remembered-secret-value"])
    configure("text")
    log = logging.getLogger("tests.redaction")
    try:
        log.warning("bind failed for remembered-secret-value at smsc")
        log.warning("GET http://k:13013/cgi-bin/sendsms?username=u&password=hunter2&to=1")
        log.warning("dsn postgresql://app:pg-pass-1@db/outbound; header Bearer ob_abcdefghijkl")
        log.warning("payload {'secret': 'whsec-1', \"token\": \"tok-2\", 'key': 'k-3'}")
        try:
            raise ValueError("password=in-a-traceback")
        except ValueError:
            log.exception("failed")
    finally:
        configure("text")  # leaves one handler; drop it for the other tests
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "outbound"]:
            root.removeHandler(handler)
    err = capsys.readouterr().err
    for leaked in (
        "remembered-secret-value",
        "hunter2",
        "pg-pass-1",
        "ob_abcdefghijkl",
        "whsec-1",
        "tok-2",
        "k-3",
        "in-a-traceback",
    ):
        assert leaked not in err, (leaked, err)
    assert err.count("\n") == 5  # one line per event, the traceback's included
    assert "username=u" in err and "to=1" in err  # only the secrets go


def test_each_request_gets_an_id_echoed_and_kept_by_the_audit_log(
    client: TestClient, admin: Account
) -> None:
    fresh = client.get(f"{API}/campaigns", headers=admin.headers)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    again = client.get(f"{API}/campaigns", headers=admin.headers)
    assert again.headers["x-request-id"] != fresh.headers["x-request-id"]
    for sane in ("req-1", "0b9c4a1e-7d1f-4c55-9f0e-2d9a3c1b7e42", "lb:abc/def+1="):
        kept = client.get("/health", headers={"X-Request-ID": sane})
        assert kept.headers["x-request-id"] == sane
    for insane in ("two words", "x" * 65, "semi;colon", "<script>"):
        replaced = client.get("/health", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), insane
    refused = client.get(f"{API}/campaigns", headers={"X-Request-ID": "no-token-1"})
    assert (refused.status_code, refused.headers["x-request-id"]) == (401, "no-token-1")

    changed = client.patch(
        f"{API}/settings",
        json={"feed_batch_size": 321},
        headers={**admin.headers, "X-Request-ID": "audit-me-7"},
    )
    assert changed.status_code == 200 and changed.headers["x-request-id"] == "audit-me-7"
    entries = client.get(f"{API}/audit", params={"kind": "setting"}, headers=admin.headers)
    assert entries.status_code == 200, entries.text
    assert entries.json()["items"][0]["request_id"] == "audit-me-7"
