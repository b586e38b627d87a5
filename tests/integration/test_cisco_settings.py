"""The Cisco dialers in the settings: options checked when saved, secrets masked on read,
and "test connection" against a running simulator (real HTTP, a real results table)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outbound.settings.schemas import MASK
from tests.conftest import Account
from tests.peers.cisco.state import SimState
from tests.peers.cisco.ucce import UcceSim
from tests.peers.cisco.uccx import UccxSim

API = "/api/v1"
USER, PASSWORD = "administrator", "cisco-pw-1"


@pytest.fixture
def ucce(tmp_path: Path) -> Iterator[tuple[UcceSim, str]]:
    url = f"sqlite:///{tmp_path / 'hds.db'}"
    state = SimState(url, product="ucce")
    sim = UcceSim(state, username=USER, password=PASSWORD)
    sim.peer.start()
    yield sim, url
    sim.peer.stop()
    state.close()


@pytest.fixture
def uccx(tmp_path: Path) -> Iterator[UccxSim]:
    state = SimState(f"sqlite:///{tmp_path / 'uccx.db'}", product="uccx")
    sim = UccxSim(state, username=USER, password=PASSWORD)
    sim.peer.start()
    yield sim
    sim.peer.stop()
    state.close()


def ucce_options(sim: UcceSim, results_url: str, **more: Any) -> dict[str, Any]:
    return {
        "url": sim.url,
        "username": USER,
        "password": PASSWORD,
        "results_url": results_url,
        **more,
    }


def test_options_are_checked_when_saved_and_secrets_masked_on_read(
    client: TestClient, admin: Account, ucce: tuple[UcceSim, str]
) -> None:
    sim, results_url = ucce
    bad = {"kind": "cisco_ucce", "options": ucce_options(sim, results_url, url="ftp://cisco")}
    refused = client.patch(f"{API}/settings", json={"dialer": bad}, headers=admin.headers)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "url"

    leaky = ucce_options(sim, "postgresql://hds:pw@db/hds")
    refused = client.patch(
        f"{API}/settings",
        json={"dialer": {"kind": "cisco_ucce", "options": leaky}},
        headers=admin.headers,
    )
    assert refused.status_code == 422 and "results_password" in refused.text

    options = ucce_options(sim, results_url, results_password="db-secret", batch_size=25)
    saved = client.patch(
        f"{API}/settings",
        json={"dialer": {"kind": "cisco_ucce", "options": options}},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    shown = client.get(f"{API}/settings", headers=admin.headers).json()["dialer"]
    assert shown["kind"] == "cisco_ucce"
    assert shown["options"]["password"] == MASK
    assert shown["options"]["results_password"] == MASK
    assert shown["options"]["batch_size"] == 25
    assert PASSWORD not in str(shown) and "db-secret" not in str(shown)


def test_test_connection_reaches_ucce_and_its_results_table(
    client: TestClient, admin: Account, ucce: tuple[UcceSim, str]
) -> None:
    sim, results_url = ucce
    body = {"kind": "cisco_ucce", "options": ucce_options(sim, results_url)}
    found = client.post(f"{API}/settings/dialer/test", json=body, headers=admin.headers)
    assert found.status_code == 200, found.text
    assert found.json()["ok"] is True
    assert [c["ok"] for c in found.json()["checks"]] == [True, True]

    wrong = {"kind": "cisco_ucce", "options": ucce_options(sim, results_url, password="nope")}
    found = client.post(f"{API}/settings/dialer/test", json=wrong, headers=admin.headers).json()
    assert found["ok"] is False
    assert "credentials" in found["checks"][0]["detail"]

    no_table = {
        "kind": "cisco_ucce",
        "options": ucce_options(sim, results_url, results_table="Not_There"),
    }
    found = client.post(f"{API}/settings/dialer/test", json=no_table, headers=admin.headers).json()
    assert found["ok"] is False and found["checks"][1]["ok"] is False
    assert "Not_There" in found["checks"][1]["detail"]


def test_test_connection_uses_the_stored_secret_for_a_mask(
    client: TestClient, admin: Account, uccx: UccxSim
) -> None:
    options = {"url": uccx.url, "username": USER, "password": PASSWORD}
    saved = client.patch(
        f"{API}/settings",
        json={"dialer": {"kind": "cisco_uccx", "options": options}},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    stored = client.post(f"{API}/settings/dialer/test", headers=admin.headers).json()
    assert stored["kind"] == "cisco_uccx" and stored["ok"] is True, stored
    masked = {"kind": "cisco_uccx", "options": options | {"password": MASK}}
    found = client.post(f"{API}/settings/dialer/test", json=masked, headers=admin.headers)
    assert found.json()["ok"] is True, found.text

    uccx.peer.stop()  # Cisco's server is down
    down = client.post(f"{API}/settings/dialer/test", headers=admin.headers).json()
    assert down["ok"] is False and "cannot" in down["checks"][0]["detail"]
    uccx.peer.start()


def test_options_a_kind_refuses_fail_the_test_naming_them(
    client: TestClient, admin: Account
) -> None:
    bad = {"kind": "cisco_uccx", "options": {"url": "ftp://x", "username": "u"}}
    found = client.post(f"{API}/settings/dialer/test", json=bad, headers=admin.headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["ok"] is False and body["checks"][0]["name"] == "options"
    assert "url:" in body["checks"][0]["detail"] and "password:" in body["checks"][0]["detail"]
    flag = {
        "kind": "cisco_uccx",
        "options": {"url": "http://x", "username": "u", "password": "p", "verify_tls": 0},
    }
    found = client.post(f"{API}/settings/dialer/test", json=flag, headers=admin.headers).json()
    assert found["ok"] is False and "verify_tls" in found["checks"][0]["detail"]
    unknown = client.post(
        f"{API}/settings/dialer/test", json={"kind": "avaya"}, headers=admin.headers
    )
    assert unknown.status_code == 422
    own = client.post(
        f"{API}/settings/dialer/test", json={"kind": "simulator"}, headers=admin.headers
    )
    assert own.status_code == 200 and own.json()["ok"] is True
