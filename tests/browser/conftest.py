"""Browser tests: the real server in a subprocess, driven by Playwright on Debian's Chromium.

- ``server``: ``outbound serve`` on a free port, with a fresh SQLite data directory, the engine
  on and the built-in simulators (their latencies shortened so a test sees calls end quickly;
  an SMS outside the simulator's plan is always accepted and delivered, never answered).
  ``server.api(...)`` calls the REST API as the first admin.
- ``browser``: Chromium from ``/usr/bin/chromium`` (Debian's package; never a downloaded one).
- ``page``: a fresh browser context and page at 1280 px; ``login(page, server, user, pw)``.
- ``shoot(page, name)``: screenshots at 1280 and 390 px into ``tests/browser/screenshots/``.

Assertions use Playwright's auto-waiting ``expect``; no test sleeps.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
WIDTHS = (1280, 390)
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Simulated calls are answered and end within a few seconds instead of a minute.
FAST_DIALER = {
    "jitter": 0.0,
    "latency": {"connected": 2.0, "no_answer": 2.0, "busy": 1.0},
    "talk_seconds": 2.0,
}
# Messages are accepted and delivered within a second or two, and never answered: the fate
# of an SMS to a number outside the simulator's plan is certain, not drawn.
SURE_SMS = {
    "jitter": 0.0,
    "reject_probability": 0.0,
    "delivery_probability": 1.0,
    "reply_probability": 0.0,
    "stop_probability": 0.0,
    "submit_latency": 0.5,
    "delivery_latency": 1.0,
    "reply_latency": 2.0,
}

try:
    from playwright.sync_api import Browser, Page, Playwright, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    admin_password: str
    data_dir: Path
    _token: str | None = field(default=None, repr=False)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            answer = httpx.post(
                f"{self.url}/api/v1/auth/login",
                json={"username": "admin", "password": self.admin_password},
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, **kwargs)


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-c", "from outbound.cli import app; app()", *args],
        env=env,
        check=True,
        capture_output=True,
    )


def _fast_simulator(data_dir: Path) -> None:
    from outbound.config import Config
    from outbound.db.engine import Database
    from outbound.settings import service
    from outbound.settings.schemas import SettingsUpdate

    db = Database(Config(data_dir=data_dir).effective_database_url)
    try:
        with db.transaction() as session:
            patch = SettingsUpdate.model_validate(
                {
                    "dialer": {"kind": "simulator", "options": FAST_DIALER},
                    "sms_gateway": {"kind": "simulator", "options": SURE_SMS},
                }
            )
            service.update_settings(session, patch)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    env = {
        **os.environ,
        "OUTBOUND_DATA_DIR": str(data_dir),
        "OUTBOUND_HOST": "127.0.0.1",
        "OUTBOUND_PORT": str(port),
        "OUTBOUND_ENGINE": "true",
    }
    env.pop("OUTBOUND_DATABASE_URL", None)
    _cli(env, "migrate")  # creates the admin and its password file
    _fast_simulator(data_dir)  # channel options are read when the engine starts
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from outbound.cli import app; app()", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to ~30 s for migrations and start-up
            if process.poll() is not None:
                raise RuntimeError(
                    f"outbound serve exited: {(data_dir / 'server.log').read_text()}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("outbound serve did not answer /health")
        password = (data_dir / "initial-admin-password.txt").read_text().strip()
        yield Server(url=url, admin_password=password, data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if sync_playwright is None:
        pytest.fail("playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield found
    found.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    yield opened
    context.close()


def login(page: Page, server: Server, username: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/")


def shoot(page: Page, name: str) -> list[Path]:
    """Full-page screenshots of what the page shows now, at 1280 and at 390 px wide."""
    SCREENSHOTS.mkdir(exist_ok=True)
    original = page.viewport_size or {"width": 1280, "height": 900}
    saved = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900 if width > 500 else 844})
        # Let resize observers (Chart.js) lay the page out at the new width first.
        page.evaluate(FRAMES)
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        saved.append(path)
    page.set_viewport_size(original)
    return saved
