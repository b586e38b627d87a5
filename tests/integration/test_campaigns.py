"""Campaigns over the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Contact, Schedule, Strategy, StrategyAttempt
from outbound.strategies.outcomes import Channel
from tests.conftest import Account

URL = "/api/v1/campaigns"


def _fields(response: Any) -> list[str]:
    return [item["field"] for item in response.json()["detail"]]


def _strategy(db: Database, name: str, *channels: Channel) -> int:
    """A strategy made through the ORM, so these tests need only the campaigns API."""
    with db.transaction() as session:
        strategy = Strategy(name=name)
        strategy.attempts = [
            StrategyAttempt(position=i, channel=channel)
            for i, channel in enumerate(channels, start=1)
        ]
        session.add(strategy)
        session.flush()
        return strategy.id


def _builtin(db: Database, model: type[Strategy] | type[Schedule]) -> int:
    with db.transaction() as session:
        found = session.scalar(select(model.id).where(model.builtin.is_(True)))
        assert found is not None
        return found


def _create(client: TestClient, admin: Account, **body: Any) -> dict[str, Any]:
    body = {"name": "spring_sms", "type": "sms"} | body
    response = client.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_sms_campaign_gets_the_defaults(client: TestClient, db: Database, admin: Account) -> None:
    created = _create(client, admin)
    assert created["running"] is False
    assert created["started_at"] is None
    assert created["strategy_id"] == _builtin(db, Strategy)
    assert created["schedule_id"] == _builtin(db, Schedule)
    assert created["crm_campaign_id"] is None
    assert created["contact_order"] == "fifo"
    assert created["fresh_first"] is False
    assert (created["max_concurrent_calls"], created["max_calls_per_second"]) == (10, 5.0)
    assert created["priority"] == 1
    assert client.get(f"{URL}/{created['id']}", headers=admin.headers).json() == created


def test_voice_campaign_must_name_an_existing_strategy(
    client: TestClient, db: Database, admin: Account
) -> None:
    response = client.post(URL, json={"name": "agents", "type": "agent"}, headers=admin.headers)
    assert response.status_code == 422
    assert _fields(response) == ["strategy_id"]
    voice = _strategy(db, "Voice then SMS", Channel.VOICE, Channel.SMS)
    body = {
        "name": "Agents-2030",
        "type": "agent",
        "strategy_id": voice,
        "crm_campaign_id": "SIEBEL:1-ABC.42",
        "description": "Spring renewals",
        "dialer_target": "queue-renewals",
        "sms_template": "Hello {param1}",
        "agent_script": "Greet the customer.",
        "contact_order": "lifo",
        "fresh_first": True,
        "max_concurrent_calls": 10_000,
        "max_calls_per_second": 0.1,
        "priority": 100,
    }
    created = _create(client, admin, **body)
    assert {k: created[k] for k in body} == body
    assert created["running"] is False


def test_invalid_campaigns_are_refused_naming_the_field(
    client: TestClient, db: Database, admin: Account
) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"name": "abc"}, "name", "at least 4"),
        ({"name": "spring sale"}, "name", "letters"),
        ({"name": "soirée"}, "name", "letters"),
        ({"name": "a" * 65}, "name", ""),
        ({"type": "email"}, "type", ""),
        ({"strategy_id": 0}, "strategy_id", ""),
        ({"schedule_id": 2**40}, "schedule_id", ""),
        ({"crm_campaign_id": "has space"}, "crm_campaign_id", "spaces"),
        ({"crm_campaign_id": ""}, "crm_campaign_id", ""),
        ({"crm_campaign_id": "a/b"}, "crm_campaign_id", "'/'"),
        ({"crm_campaign_id": "x" * 129}, "crm_campaign_id", ""),
        ({"description": "d" * 1001}, "description", ""),
        ({"description": "nul\x00"}, "description", "NUL"),
        ({"dialer_target": "t" * 256}, "dialer_target", ""),
        ({"sms_template": "s" * 1601}, "sms_template", ""),
        ({"agent_script": "a" * 20_001}, "agent_script", ""),
        ({"contact_order": "random"}, "contact_order", ""),
        ({"fresh_first": "sometimes"}, "fresh_first", ""),
        ({"fresh_first": 0}, "fresh_first", ""),
        ({"max_concurrent_calls": "10"}, "max_concurrent_calls", ""),
        ({"max_calls_per_second": "5"}, "max_calls_per_second", ""),
        ({"max_concurrent_calls": 0}, "max_concurrent_calls", ""),
        ({"max_concurrent_calls": 10_001}, "max_concurrent_calls", ""),
        ({"max_calls_per_second": 0.05}, "max_calls_per_second", ""),
        ({"max_calls_per_second": 1000.5}, "max_calls_per_second", ""),
        ({"priority": 0}, "priority", ""),
        ({"priority": 101}, "priority", ""),
        ({"running": True}, "running", ""),
    ]
    for patch, field, words in cases:
        body = {"name": "checked", "type": "sms"} | patch
        response = client.post(URL, json=body, headers=admin.headers)
        assert response.status_code == 422, (patch, response.text)
        assert _fields(response) == [field], (patch, response.json())
        assert words in response.json()["detail"][0]["msg"], (patch, response.json())
    assert client.get(URL, headers=admin.headers).json() == []


def test_sms_campaign_refuses_a_strategy_with_voice(
    client: TestClient, db: Database, admin: Account
) -> None:
    voice = _strategy(db, "Call then text", Channel.VOICE, Channel.SMS)
    texts = _strategy(db, "Two texts", Channel.SMS, Channel.SMS)
    response = client.post(
        URL, json={"name": "texts", "type": "sms", "strategy_id": voice}, headers=admin.headers
    )
    assert response.status_code == 422
    assert _fields(response) == ["strategy_id"]
    assert "voice" in response.json()["detail"][0]["msg"]
    created = _create(client, admin, strategy_id=texts)
    url = f"{URL}/{created['id']}"
    response = client.patch(url, json={"strategy_id": voice}, headers=admin.headers)
    assert response.status_code == 422
    assert _fields(response) == ["strategy_id"]
    assert client.get(url, headers=admin.headers).json()["strategy_id"] == texts


def test_names_and_crm_ids_are_unique(client: TestClient, admin: Account) -> None:
    first = _create(client, admin, name="Renewals", crm_campaign_id="CRM-1")
    for body in (
        {"name": "RENEWALS", "type": "sms"},
        {"name": "other", "type": "sms", "crm_campaign_id": "CRM-1"},
    ):
        assert client.post(URL, json=body, headers=admin.headers).status_code == 409, body
    second = _create(client, admin, name="Upsell", crm_campaign_id="CRM-2")
    url = f"{URL}/{second['id']}"
    assert client.patch(url, json={"name": "renewals"}, headers=admin.headers).status_code == 409
    response = client.patch(url, json={"crm_campaign_id": "CRM-1"}, headers=admin.headers)
    assert response.status_code == 409
    # Its own name in another case, and removing the CRM id, are fine.
    response = client.patch(
        f"{URL}/{first['id']}",
        json={"name": "RENEWALS", "crm_campaign_id": None},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["crm_campaign_id"]) == ("RENEWALS", None)


def test_a_campaign_is_addressed_by_crm_id(client: TestClient, admin: Account) -> None:
    created = _create(client, admin, crm_campaign_id="SF-7001")
    url = f"{URL}/crm:SF-7001"
    assert client.get(url, headers=admin.headers).json() == created
    response = client.patch(url, json={"priority": 7}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["priority"] == 7
    assert client.post(f"{url}/start", headers=admin.headers).json()["running"] is True
    assert client.delete(url, headers=admin.headers).status_code == 409
    assert client.post(f"{url}/stop", headers=admin.headers).json()["running"] is False
    assert client.delete(url, headers=admin.headers).status_code == 204
    for ref in ("crm:SF-7001", str(created["id"]), "crm:", "spring_sms", "-1"):
        assert client.get(f"{URL}/{ref}", headers=admin.headers).status_code == 404, ref


def test_the_type_is_fixed(client: TestClient, admin: Account) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    response = client.patch(url, json={"type": "agent"}, headers=admin.headers)
    assert response.status_code == 422
    assert _fields(response) == ["type"]
    assert "fixed" in response.json()["detail"][0]["msg"]
    assert client.patch(url, json={"type": "sms"}, headers=admin.headers).status_code == 200
    assert client.get(url, headers=admin.headers).json()["type"] == "sms"


def test_strategy_changes_only_while_stopped(
    client: TestClient, db: Database, admin: Account
) -> None:
    first = _strategy(db, "First", Channel.VOICE)
    second = _strategy(db, "Second", Channel.VOICE, Channel.VOICE)
    created = _create(client, admin, name="ivr_survey", type="ivr", strategy_id=first)
    url = f"{URL}/{created['id']}"
    client.post(f"{url}/start", headers=admin.headers)
    response = client.patch(url, json={"strategy_id": second}, headers=admin.headers)
    assert response.status_code == 409
    assert "stop" in response.json()["detail"]
    # Other fields, and naming the same strategy, are fine while running.
    response = client.patch(
        url, json={"strategy_id": first, "max_concurrent_calls": 50}, headers=admin.headers
    )
    assert response.status_code == 200
    client.post(f"{url}/stop", headers=admin.headers)
    response = client.patch(url, json={"strategy_id": second}, headers=admin.headers)
    assert response.status_code == 200
    assert client.get(url, headers=admin.headers).json()["strategy_id"] == second


def test_patch_refuses_bad_values_and_keeps_the_campaign(
    client: TestClient, admin: Account
) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    for body, field in [
        ({"name": "no"}, "name"),
        ({"name": None}, "name"),
        ({"priority": None}, "priority"),
        ({"crm_campaign_id": "two words"}, "crm_campaign_id"),
    ]:
        response = client.patch(url, json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert _fields(response) == [field], body
    assert client.get(url, headers=admin.headers).json() == created


def test_integers_are_json_integers(client: TestClient, admin: Account) -> None:
    """JSON's 3.0 is the integer 3 (as JSON Schema's "integer" says); "3", true and 3.5 are
    not integers and are refused by the field."""
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    response = client.patch(url, json={"priority": 3.0}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["priority"] == 3
    for wrong in ("3", True, 3.5):
        response = client.patch(url, json={"priority": wrong}, headers=admin.headers)
        assert response.status_code == 422, (wrong, response.text)
        assert _fields(response) == ["priority"], wrong
    assert client.get(url, headers=admin.headers).json()["priority"] == 3


def test_patch_moves_a_campaign_to_another_schedule(client: TestClient, admin: Account) -> None:
    schedule = client.post(
        "/api/v1/schedules", json={"name": "Nights", "time_zone": "UTC"}, headers=admin.headers
    ).json()
    created = _create(client, admin)
    response = client.patch(
        f"{URL}/{created['id']}", json={"schedule_id": schedule["id"]}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["schedule_id"] == schedule["id"]
    deleted = client.delete(f"/api/v1/schedules/{schedule['id']}", headers=admin.headers)
    assert deleted.status_code == 409


def test_start_and_stop_are_idempotent(
    client: TestClient, supervisor: Account, admin: Account
) -> None:
    url = f"{URL}/{_create(client, admin)['id']}"
    started = client.post(f"{url}/start", headers=supervisor.headers).json()
    assert started["running"] is True
    assert started["started_at"] is not None
    again = client.post(f"{url}/start", headers=supervisor.headers).json()
    assert again["started_at"] == started["started_at"]
    stopped = client.post(f"{url}/stop", headers=supervisor.headers).json()
    assert stopped["running"] is False
    assert stopped["stopped_at"] >= started["started_at"]
    assert client.post(f"{url}/stop", headers=supervisor.headers).json() == stopped


def test_list_filters(client: TestClient, db: Database, admin: Account) -> None:
    voice = _strategy(db, "Voice", Channel.VOICE)
    sms = _create(client, admin, name="texts")
    auto = _create(client, admin, name="robocall", type="automated", strategy_id=voice)
    client.post(f"{URL}/{auto['id']}/start", headers=admin.headers)

    def names(query: str) -> list[str]:
        response = client.get(f"{URL}{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()]

    assert names("") == ["texts", "robocall"]
    assert names("?running=true") == ["robocall"]
    assert names("?running=false") == [sms["name"]]
    assert names("?type=sms") == ["texts"]
    assert names("?type=automated&running=false") == []
    response = client.get(f"{URL}?type=fax", headers=admin.headers)
    assert response.status_code == 422
    assert _fields(response) == ["type"]


def test_delete_removes_the_contacts(client: TestClient, db: Database, admin: Account) -> None:
    created = _create(client, admin)
    with db.transaction() as session:
        session.add(
            Contact(
                campaign_id=created["id"],
                import_seq=1,
                phone1="+1 202 555 0100",
                phone1_e164="+12025550100",
                state=ContactState.PENDING,
            )
        )
    assert client.delete(f"{URL}/{created['id']}", headers=admin.headers).status_code == 204
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_roles(client: TestClient, admin: Account, supervisor: Account, viewer: Account) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    body = {"name": "another", "type": "sms"}
    for account in (viewer, supervisor):
        headers = account.headers
        assert client.get(URL, headers=headers).status_code == 200
        assert client.get(url, headers=headers).status_code == 200
        assert client.post(URL, json=body, headers=headers).status_code == 403
        assert client.patch(url, json={"priority": 2}, headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    for action in ("start", "stop"):
        assert client.post(f"{url}/{action}", headers=viewer.headers).status_code == 403
        assert client.post(f"{url}/{action}", headers=supervisor.headers).status_code == 200
    assert client.post(f"{url}/start").status_code == 401
    assert client.get(url, headers=admin.headers).json()["priority"] == 1


def test_a_reference_to_a_missing_strategy_or_schedule_is_409(
    client: TestClient, admin: Account
) -> None:
    # Which strategies and schedules exist is the server's state, not the body's shape.
    for ref in ({"strategy_id": 9999}, {"schedule_id": 9999}):
        body = {"name": "checked", "type": "sms"} | ref
        response = client.post(URL, json=body, headers=admin.headers)
        assert response.status_code == 409, response.text
        assert "does not exist" in response.json()["detail"]
