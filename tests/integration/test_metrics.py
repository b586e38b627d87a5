"""``/metrics`` through the real app on both databases: who may read it, and the database's
figures against what the test itself put there.

Without ``OUTBOUND_METRICS_TOKEN`` the route is 404 to everyone (an admin's token too); with
it, a missing, wrong or user token is 401 and the right one gets the Prometheus text format,
read back with prometheus_client's own parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from outbound.metrics.exposition import MetricsConfigError, MetricsListener
from outbound.metrics.series import REGISTRY
from outbound.users.roles import Role
from tests.conftest import Account, _account
from tests.factories import make_campaign

API = "/api/v1"
TOKEN = "metrics-token-for-the-test-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /, **labels: str
) -> float:
    return scrape[(metric, frozenset(labels.items()))]


@pytest.fixture
def metered(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        data_dir=tmp_path / "data", engine=False, metrics_token=TOKEN, metrics_cache_seconds=0
    )
    with TestClient(create_app(config, db=db), raise_server_exceptions=False) as test_client:
        yield test_client


def test_without_a_token_configured_metrics_are_not_there(
    client: TestClient, admin: Account
) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=admin.headers).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_only_the_metrics_token_opens_them(metered: TestClient, admin: Account) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        admin.headers,  # a user's token, even an admin's, is not the metrics token
    ):
        refused = metered.get("/metrics", headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "outbound_" not in refused.text
    opened = metered.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert opened.status_code == 200
    assert opened.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(opened.text)}
    assert {
        "outbound_attempts",
        "outbound_attempt_results",
        "outbound_dispatch_delay_seconds",
        "outbound_engine_steps",
        "outbound_engine_errors",
        "outbound_webhook_deliveries",
        "outbound_contacts_due",
        "outbound_in_flight",
        "outbound_agents",
        "outbound_webhook_backlog",
        "outbound_import_rows",
        "outbound_metrics_database_up",
    } <= names


def test_the_database_figures_are_what_was_put_there(
    metered: TestClient, db: Database, admin: Account
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    campaign = make_campaign(db, "metered")
    idle = make_campaign(db, "idle")
    rows = [{"phone1": f"+1415555{n:04d}"} for n in range(7)]
    rows += [{"phone1": "not a number"}, {"phone1": "+1"}, {"phone1": "+14155550000"}]
    batch = metered.post(
        f"{API}/campaigns/{campaign}/imports/batch", json={"contacts": rows}, headers=admin.headers
    ).json()
    assert (batch["rows_imported"], batch["rows_rejected"], batch["rows_duplicate"]) == (7, 2, 1)
    started = metered.post(f"{API}/campaigns/{campaign}/start", headers=admin.headers)
    assert started.status_code == 200, started.text

    agent_user = _account(db, Role.AGENT)
    users = metered.get(f"{API}/users", headers=admin.headers).json()
    user_id = next(u["id"] for u in users if u["username"] == agent_user.username)
    profile = {"user_id": user_id, "sip_address": "sip:a@pbx.example.com", "campaign_ids": []}
    assert metered.post(f"{API}/agents", json=profile, headers=admin.headers).status_code == 201
    logged_in = metered.post(
        f"{API}/agents/me/state", json={"state": "not_ready"}, headers=agent_user.headers
    )
    assert logged_in.status_code == 200, logged_in.text

    hook = {"url": "http://127.0.0.1:9/hook", "name": "crm"}
    made = metered.post(f"{API}/webhooks", json=hook, headers=admin.headers).json()
    for _ in range(3):
        metered.post(f"{API}/webhooks/{made['id']}/ping", headers=admin.headers)

    scrape = samples(metered.get("/metrics", headers=auth).text)
    assert value(scrape, "outbound_metrics_database_up") == 1
    assert value(scrape, "outbound_contacts_due", campaign=str(campaign)) == 7
    assert ("outbound_contacts_due", frozenset({("campaign", str(idle))})) not in scrape
    info = {"campaign": str(campaign), "name": "metered", "running": "true"}
    assert value(scrape, "outbound_campaign_info", **info) == 1
    assert value(scrape, "outbound_import_rows_total", result="imported") == 7
    assert value(scrape, "outbound_import_rows_total", result="rejected") == 2
    assert value(scrape, "outbound_import_rows_total", result="duplicate") == 1
    assert value(scrape, "outbound_agents", state="not_ready") == 1
    assert value(scrape, "outbound_agents", state="ready") == 0
    assert value(scrape, "outbound_webhook_backlog") == 3
    assert value(scrape, "outbound_in_flight", channel="voice") == 0
    assert value(scrape, "outbound_engine_workers_alive") == 0

    metered.post(f"{API}/campaigns/{campaign}/stop", headers=admin.headers)
    scrape = samples(metered.get("/metrics", headers=auth).text)
    assert ("outbound_contacts_due", frozenset({("campaign", str(campaign))})) not in scrape


def test_a_listener_elsewhere_than_loopback_needs_the_token() -> None:
    with pytest.raises(MetricsConfigError, match="OUTBOUND_METRICS_TOKEN"):
        MetricsListener("0.0.0.0:0", token=None, registries=lambda: [REGISTRY])
    with pytest.raises(MetricsConfigError, match="host:port"):
        MetricsListener("9464", token=TOKEN, registries=lambda: [REGISTRY])


def test_a_process_listener_takes_the_token_when_one_is_set() -> None:
    listener = MetricsListener("127.0.0.1:0", token=TOKEN, registries=lambda: [REGISTRY]).start()
    try:
        assert httpx.get(listener.url).status_code == 401
        assert httpx.get(listener.url, headers={"Authorization": "Bearer nope"}).status_code == 401
        opened = httpx.get(listener.url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert opened.status_code == 200
        names = {f.name for f in text_string_to_metric_families(opened.text)}
        assert "outbound_attempts" in names
        assert "outbound_contacts_due" not in names  # the database's figures: from serve
        assert httpx.get(listener.url.replace("/metrics", "/other")).status_code == 404
    finally:
        listener.stop()
    open_listener = MetricsListener("127.0.0.1:0", token=None, registries=lambda: [REGISTRY])
    open_listener.start()
    try:
        assert httpx.get(open_listener.url).status_code == 200  # loopback: the operator's choice
    finally:
        open_listener.stop()
