"""The subscriptions API: secrets shown once, validation, roles, the delivery log,
redelivery of a failed event and the test ping, against a real loopback receiver."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.webhooks import signing
from outbound.webhooks.deliverer import Deliverer, Policy
from tests.conftest import Account
from tests.factories import make_campaign
from tests.integration.webhook_receiver import receiving

API = "/api/v1/webhooks"
TWO_TRIES = Policy(timeout=5, base=timedelta(seconds=1), cap=timedelta(seconds=2), max_tries=2)


def deliver(db: Database, clock: VirtualClock, rounds: int = 6) -> None:
    deliverer = Deliverer(db, clock=clock, policy=TWO_TRIES, seed=1)
    try:
        for _ in range(rounds):
            deliverer.step()
            clock.advance(TWO_TRIES.cap)
    finally:
        deliverer.close()


def test_the_secret_is_shown_once_and_never_again(client: TestClient, admin: Account) -> None:
    created = client.post(API, json={"url": "https://crm.example.com/hook"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 30
    assert body["events"] == ["contact.state_changed", "attempt.result"]
    assert body["campaign_id"] is None and body["active"] is True
    one = client.get(f"{API}/{body['id']}", headers=admin.headers).json()
    listed = client.get(API, headers=admin.headers).json()
    assert "secret" not in one and all("secret" not in s for s in listed)
    changed = client.patch(
        f"{API}/{body['id']}",
        json={"secret": "a-new-secret-of-enough-length", "events": ["attempt.result"]},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert "secret" not in changed.json() and changed.json()["events"] == ["attempt.result"]


def test_admins_write_viewers_read(client: TestClient, admin: Account, viewer: Account) -> None:
    body = {"url": "http://127.0.0.1:9/hook"}
    assert client.post(API, json=body, headers=viewer.headers).status_code == 403
    made = client.post(API, json=body, headers=admin.headers).json()
    assert client.get(API, headers=viewer.headers).status_code == 200
    assert client.get(f"{API}/{made['id']}/deliveries", headers=viewer.headers).status_code == 200
    assert client.delete(f"{API}/{made['id']}", headers=viewer.headers).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://crm.example.com/hook"}, "url"),
        ({"url": "http://"}, "url"),
        ({"url": "https://user:pw@crm.example.com/"}, "url"),
        ({"url": "crm.example.com/hook"}, "url"),
        ({"url": "http://crm.example.com:99999/"}, "url"),
        ({"url": "http://crm.example.com/a b"}, "url"),
        ({"url": "http://crm.example.com/", "events": []}, "events"),
        ({"url": "http://crm.example.com/", "events": ["attempt.result"] * 2}, "events"),
        ({"url": "http://crm.example.com/", "events": ["contact.deleted"]}, "events"),
        ({"url": "http://crm.example.com/", "secret": "short"}, "secret"),
        ({"url": "http://crm.example.com/", "colour": "red"}, "colour"),
    ],
)
def test_bad_subscriptions_are_refused_naming_the_field(
    client: TestClient, admin: Account, body: dict[str, Any], field: str
) -> None:
    response = client.post(API, json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    fields = {d["field"].split(".")[0] for d in response.json()["detail"]}
    assert field in fields, response.text


def test_campaign_filter_can_be_set_and_cleared(
    client: TestClient, admin: Account, db: Database
) -> None:
    campaign = make_campaign(db, "hooked")
    made = client.post(
        API, json={"url": "http://127.0.0.1:9/h", "campaign_id": campaign}, headers=admin.headers
    ).json()
    assert made["campaign_id"] == campaign
    cleared = client.patch(f"{API}/{made['id']}", json={"campaign_id": None}, headers=admin.headers)
    assert cleared.json()["campaign_id"] is None
    bad = client.patch(f"{API}/{made['id']}", json={"url": None}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "url"
    assert client.delete(f"{API}/{made['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{API}/{made['id']}", headers=admin.headers).status_code == 404
    gone = client.get(f"{API}/{made['id']}/deliveries", headers=admin.headers)
    assert gone.status_code == 404 and "not found" in gone.json()["detail"]


def test_a_failed_event_is_logged_and_can_be_redelivered(
    client: TestClient, admin: Account, db: Database
) -> None:
    with receiving(fail_first=1000) as receiver:  # refuses everything at first
        made = client.post(
            API, json={"url": receiver.url, "secret": "x" * 20}, headers=admin.headers
        ).json()
        pings = [
            client.post(f"{API}/{made['id']}/ping", headers=admin.headers).json() for _ in range(3)
        ]
        assert [p["status"] for p in pings] == ["pending"] * 3
        clock = VirtualClock(datetime.now(UTC))  # pings are stamped with the wall clock
        deliver(db, clock)
        log = client.get(
            f"{API}/{made['id']}/deliveries",
            params={"status": "failed", "limit": 2},
            headers=admin.headers,
        ).json()
        assert len(log["items"]) == 2 and log["next_after"] == log["items"][1]["id"]
        rest = client.get(
            f"{API}/{made['id']}/deliveries",
            params={"status": "failed", "after": log["next_after"]},
            headers=admin.headers,
        ).json()
        assert len(rest["items"]) == 1 and rest["next_after"] is None
        failed = log["items"][0]
        assert failed["tries"] == 2 and failed["last_status"] == 500
        assert failed["last_error"].startswith("HTTP 500") and failed["next_try_at"] is None
        summary = client.get(f"{API}/{made['id']}", headers=admin.headers).json()
        assert summary["failed"] == 3 and summary["pending"] == 0
        assert len(receiver.requests) == 6  # two tries each, then given up

        receiver.fail_first = 0
        again = client.post(
            f"{API}/{made['id']}/deliveries/{failed['id']}/redeliver", headers=admin.headers
        )
        assert again.status_code == 202 and again.json()["status"] == "pending"
        twice = client.post(
            f"{API}/{made['id']}/deliveries/{failed['id']}/redeliver", headers=admin.headers
        )
        assert twice.status_code == 409
        deliver(db, clock)
    done = client.get(
        f"{API}/{made['id']}/deliveries", params={"status": "delivered"}, headers=admin.headers
    ).json()["items"]
    assert [d["id"] for d in done] == [failed["id"]]
    assert done[0]["last_status"] == 200 and done[0]["delivered_at"] is not None
    last = receiver.requests[-1]
    assert last.event_id == failed["id"] and last.answered == 200
    assert last.payload["type"] == "ping" and last.payload["subscription_id"] == made["id"]
    stamp = last.headers["x-outbound-timestamp"]
    assert signing.verify(
        "x" * 20,
        body=last.body,
        timestamp=stamp,
        header=last.headers["x-outbound-signature"],
        now=int(stamp),
    )
    unknown = client.post(f"{API}/{made['id']}/deliveries/999999/redeliver", headers=admin.headers)
    assert unknown.status_code == 404


def test_delivery_log_filters(client: TestClient, admin: Account) -> None:
    made = client.post(API, json={"url": "http://127.0.0.1:9/h"}, headers=admin.headers).json()
    client.post(f"{API}/{made['id']}/ping", headers=admin.headers)
    url = f"{API}/{made['id']}/deliveries"
    assert (
        len(client.get(url, params={"event_type": "ping"}, headers=admin.headers).json()["items"])
        == 1
    )
    assert (
        client.get(url, params={"event_type": "attempt.result"}, headers=admin.headers).json()[
            "items"
        ]
        == []
    )
    assert client.get(url, params={"contact_id": 5}, headers=admin.headers).json()["items"] == []
    bad = client.get(url, params={"status": "lost"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "status"


def test_the_service_delivers_in_the_background(
    db: Database, admin: Account, tmp_path: Path
) -> None:
    """``outbound serve`` runs a deliverer beside the engine: a ping reaches the receiver
    with nobody driving the deliverer by hand."""
    config = Config(data_dir=tmp_path / "data", engine=True)
    with receiving(fail_first=0) as receiver, TestClient(create_app(config, db=db)) as client:
        made = client.post(API, json={"url": receiver.url}, headers=admin.headers).json()
        ping = client.post(f"{API}/{made['id']}/ping", headers=admin.headers).json()
        arrived = threading.Event()
        for _ in range(300):  # the deliverer looks every second when idle
            if receiver.acknowledged()[ping["id"]]:
                break
            arrived.wait(0.1)
        log = client.get(f"{API}/{made['id']}/deliveries", headers=admin.headers).json()
    assert receiver.acknowledged() == {ping["id"]: 1}
    assert log["items"][0]["status"] == "delivered"


def test_a_subscription_to_a_missing_campaign_is_409(client: TestClient, admin: Account) -> None:
    body = {"url": "http://crm.example.com/", "campaign_id": 999}
    response = client.post(API, json=body, headers=admin.headers)
    assert response.status_code == 409, response.text
    assert "campaign 999 not found" in response.json()["detail"]
