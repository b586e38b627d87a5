"""The settings page with a Cisco dialer: the password is shown masked and kept when the
mask is saved back, and "Test dialer connection" reaches a running UCCX simulator."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outbound.settings.schemas import MASK
from tests.conftest import Account
from tests.peers.cisco.state import SimState
from tests.peers.cisco.uccx import UccxSim
from tests.web.test_web_settings import form

Login = Callable[[Account], str]
USER, PASSWORD = "administrator", "cisco-pw-1"


@pytest.fixture
def uccx(tmp_path: Path) -> Iterator[UccxSim]:
    state = SimState(f"sqlite:///{tmp_path / 'uccx.db'}", product="uccx")
    sim = UccxSim(state, username=USER, password=PASSWORD)
    sim.peer.start()
    yield sim
    sim.peer.stop()
    state.close()


def test_the_page_masks_the_password_and_tests_the_connection(
    client: TestClient, admin: Account, login: Login, uccx: UccxSim
) -> None:
    token = login(admin)
    options = {"url": uccx.url, "username": USER, "password": PASSWORD}
    fields = {"dialer.kind": "cisco_uccx", "dialer.options": json.dumps(options)}
    saved = client.post("/settings", data=form(token, **fields), follow_redirects=False)
    assert saved.status_code == 303, saved.text

    page = client.get("/settings").text
    assert PASSWORD not in page and MASK in page

    # The page's own options (masked) go back: saving keeps the stored password and the
    # test uses it.
    masked = {
        "dialer.kind": "cisco_uccx",
        "dialer.options": json.dumps(options | {"password": MASK}),
    }
    tested = client.post("/settings/dialer/test", data=form(token, **masked))
    assert tested.status_code == 200, tested.text
    assert 'data-testid="dialer-test-result"' in tested.text
    assert "connection works" in tested.text
    again = client.post("/settings", data=form(token, **masked), follow_redirects=False)
    assert again.status_code == 303
    stored = client.post("/api/v1/settings/dialer/test", headers=admin.headers).json()
    assert stored["ok"] is True

    wrong = {"dialer.kind": "cisco_uccx", "dialer.options": json.dumps(options | {"password": "x"})}
    failed = client.post("/settings/dialer/test", data=form(token, **wrong))
    assert "connection fails" in failed.text and "credentials" in failed.text
    bad = {"dialer.kind": "cisco_uccx", "dialer.options": json.dumps({"url": "ftp://x"})}
    refused = client.post("/settings/dialer/test", data=form(token, **bad))
    assert refused.status_code == 200 and "connection fails" in refused.text
    assert "url:" in refused.text
