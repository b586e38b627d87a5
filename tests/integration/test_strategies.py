"""Strategies through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from outbound.models import Campaign, Schedule, Strategy
from outbound.strategies.outcomes import SMS_RULE_OUTCOMES, VOICE_RULE_OUTCOMES
from outbound.strategies.service import ensure_default_strategy, strategy_has_voice
from tests.conftest import Account

URL = "/api/v1/strategies"


def _create(client: TestClient, admin: Account, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Three steps")
    response = client.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _three_steps(client: TestClient, admin: Account) -> dict[str, Any]:
    """Voice (busy -> goto 3), SMS, voice on phone 2."""
    return _create(
        client,
        admin,
        attempts=[
            {"channel": "voice", "rules": {"busy": {"action": "goto", "attempt": 3}}},
            {"channel": "sms", "sms_template": "We tried to call you"},
            {"channel": "voice", "phone_slot": 2},
        ],
    )


def _campaign(db: Database, strategy_id: int, *, name: str, kind: CampaignType) -> None:
    with db.transaction() as session:
        schedule_id = session.scalar(select(Schedule.id).order_by(Schedule.id).limit(1))
        assert schedule_id is not None
        session.add(
            Campaign(name=name, type=kind, strategy_id=strategy_id, schedule_id=schedule_id)
        )


def _error_loc(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    loc: list[str] = response.json()["detail"][0]["loc"]
    return loc


def test_create_with_attempts_materialises_defaults_and_gotos(
    client: TestClient, admin: Account
) -> None:
    created = _three_steps(client, admin)
    assert created["max_attempts"] == 10
    assert created["builtin"] is False
    first, sms, third = created["attempts"]
    assert [a["position"] for a in created["attempts"]] == [1, 2, 3]
    assert first["rules"]["busy"] == {"action": "goto", "delay_minutes": 60, "attempt": 3}
    assert list(first["rules"]) == [o.value for o in VOICE_RULE_OUTCOMES]
    assert first["rules"]["connected"] == {"action": "close", "delay_minutes": 0, "attempt": None}
    assert first["rules"]["customer_abandoned"]["delay_minutes"] == 30
    assert first["sms_mode"] is None and first["sms_template"] is None
    assert list(sms["rules"]) == [o.value for o in SMS_RULE_OUTCOMES]
    assert sms["sms_mode"] == "await_reply"
    assert sms["sms_expiry_minutes"] is None
    assert third["phone_slot"] == 2
    fetched = client.get(f"{URL}/{created['id']}", headers=admin.headers).json()
    assert fetched == created


def test_strategy_fields_can_be_changed(client: TestClient, admin: Account) -> None:
    created = _create(client, admin, description="first", max_attempts=3)
    response = client.patch(
        f"{URL}/{created['id']}",
        json={"name": "Renamed", "max_attempts": 100},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    nulled = client.patch(f"{URL}/{created['id']}", json={"name": None}, headers=admin.headers)
    assert _error_loc(nulled) == ["body", "name"]
    fetched = client.get(f"{URL}/{created['id']}", headers=admin.headers).json()
    assert (fetched["name"], fetched["description"], fetched["max_attempts"]) == (
        "Renamed",
        "first",
        100,
    )


BAD_ATTEMPTS: list[tuple[dict[str, Any], list[str]]] = [
    ({"channel": "voice", "rules": {"ringing": {"action": "close"}}}, ["rules", "ringing"]),
    ({"channel": "sms", "rules": {"busy": {"action": "close"}}}, ["rules", "busy"]),
    (
        {"channel": "voice", "rules": {"busy": {"action": "goto", "attempt": 3}}},
        ["rules", "busy", "attempt"],
    ),
    ({"channel": "voice", "rules": {"busy": {"action": "goto"}}}, ["rules", "busy", "attempt"]),
    (
        {"channel": "voice", "rules": {"busy": {"action": "retry", "attempt": 1}}},
        ["rules", "busy", "attempt"],
    ),
    (
        {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": -1}}},
        ["rules", "busy", "delay_minutes"],
    ),
    (
        {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": 43_201}}},
        ["rules", "busy", "delay_minutes"],
    ),
    (
        {"channel": "voice", "rules": {"connected": {"action": "next"}}},
        ["rules", "connected", "action"],
    ),
    ({"channel": "voice", "rules": {"busy": {"action": "jump"}}}, ["rules", "busy", "action"]),
    ({"channel": "voice", "phone_slot": 6}, ["phone_slot"]),
    ({"channel": "voice", "phone_slot": 0}, ["phone_slot"]),
    ({"channel": "voice", "sms_template": "Hello"}, ["sms_template"]),
    ({"channel": "voice", "sms_expiry_minutes": 60}, ["sms_expiry_minutes"]),
    ({"channel": "voice", "sms_mode": "send_and_close"}, ["sms_mode"]),
    ({"channel": "sms", "sms_expiry_minutes": 0}, ["sms_expiry_minutes"]),
    ({"channel": "sms", "sms_expiry_minutes": 43_201}, ["sms_expiry_minutes"]),
    ({"channel": "sms", "sms_template": "x" * 1601}, ["sms_template"]),
    ({"channel": "fax"}, ["channel"]),
    ({"channel": "sms", "position": 1}, ["position"]),
]


def test_every_invalid_attempt_is_refused_naming_the_field(
    client: TestClient, admin: Account
) -> None:
    for bad, field in BAD_ATTEMPTS:
        body = {"name": "Bad", "attempts": [{"channel": "voice"}, bad]}
        response = client.post(URL, json=body, headers=admin.headers)
        assert _error_loc(response) == ["body", "attempts", "1", *field], bad
        assert response.json()["detail"][0]["msg"]
    names = [s["name"] for s in client.get(URL, headers=admin.headers).json()]
    assert names == ["Default"]


def test_invalid_strategy_fields(client: TestClient, admin: Account) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "max_attempts": 0}, "max_attempts"),
        ({"name": "ok", "max_attempts": 101}, "max_attempts"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = client.post(URL, json=body, headers=admin.headers)
        assert _error_loc(response) == ["body", field], body


def test_attempt_routes_validate_against_current_positions(
    client: TestClient, admin: Account
) -> None:
    strategy = _three_steps(client, admin)
    attempts = f"{URL}/{strategy['id']}/attempts"
    sms_id = strategy["attempts"][1]["id"]
    goto_4 = {"channel": "voice", "rules": {"no_answer": {"action": "goto", "attempt": 4}}}
    cases = [
        (
            client.post(attempts, json=goto_4, headers=admin.headers),
            ["body", "rules", "no_answer", "attempt"],
        ),
        (
            client.post(attempts, json={"channel": "sms", "position": 5}, headers=admin.headers),
            ["body", "position"],
        ),
        (
            client.patch(
                f"{attempts}/{sms_id}",
                json={"rules": {"busy": {"action": "close"}}},
                headers=admin.headers,
            ),
            ["body", "rules", "busy"],
        ),
        (
            client.patch(
                f"{attempts}/{sms_id}",
                json={"channel": "voice", "sms_template": "x"},
                headers=admin.headers,
            ),
            ["body", "sms_template"],
        ),
        (
            client.patch(f"{attempts}/{sms_id}", json={"phone_slot": None}, headers=admin.headers),
            ["body", "phone_slot"],
        ),
    ]
    # The stored strategy decides (its length, the stored attempt's channel): a conflict
    # that says why; the body alone decides: a 422 at the field.
    conflicts = {
        ("body", "rules", "no_answer", "attempt"): "goto names attempt 4, which does not exist",
        ("body", "position"): "the position must be 1 to 4",
        ("body", "rules", "busy"): "'busy' takes no rule on a sms attempt",
    }
    for response, loc in cases:
        if tuple(loc) in conflicts:
            assert response.status_code == 409, response.text
            assert conflicts[tuple(loc)] in response.json()["detail"]
            continue
        assert _error_loc(response) == loc
    assert client.get(f"{URL}/{strategy['id']}", headers=admin.headers).json() == strategy


def test_insert_at_a_position_shifts_the_others_and_keeps_gotos(
    client: TestClient, admin: Account
) -> None:
    strategy = _three_steps(client, admin)
    body = {
        "channel": "sms",
        "position": 1,
        "sms_mode": "send_and_close",
        "rules": {"sms_failed": {"action": "goto", "attempt": 3, "delay_minutes": 5}},
    }
    response = client.post(f"{URL}/{strategy['id']}/attempts", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["position"] == 1
    # "attempt 3" named the third attempt before the insert: it is fourth now.
    assert new["rules"]["sms_failed"] == {"action": "goto", "delay_minutes": 5, "attempt": 4}
    after = client.get(f"{URL}/{strategy['id']}", headers=admin.headers).json()
    old_ids = [a["id"] for a in strategy["attempts"]]
    assert [a["id"] for a in after["attempts"]] == [new["id"], *old_ids]
    assert after["attempts"][1]["rules"]["busy"]["attempt"] == 4
    appended = client.post(
        f"{URL}/{strategy['id']}/attempts", json={"channel": "voice"}, headers=admin.headers
    )
    assert appended.json()["position"] == 5


def test_reorder_keeps_goto_rules_on_the_same_attempt(client: TestClient, admin: Account) -> None:
    strategy = _three_steps(client, admin)
    first, second, third = (a["id"] for a in strategy["attempts"])
    response = client.put(
        f"{URL}/{strategy['id']}/attempts/order",
        json={"attempt_ids": [third, first, second]},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    after = client.get(f"{URL}/{strategy['id']}", headers=admin.headers).json()
    assert [(a["id"], a["position"]) for a in after["attempts"]] == [
        (third, 1),
        (first, 2),
        (second, 3),
    ]
    assert after["attempts"][1]["rules"]["busy"]["attempt"] == 1
    assert response.json() == after


def test_reorder_must_list_every_attempt_once(client: TestClient, admin: Account) -> None:
    strategy = _three_steps(client, admin)
    first, second, third = (a["id"] for a in strategy["attempts"])
    url = f"{URL}/{strategy['id']}/attempts/order"
    for ids in ([first, second], [first, second, third, first], [first, second, 999_999], []):
        response = client.put(url, json={"attempt_ids": ids}, headers=admin.headers)
        if len(set(ids)) != len(ids):  # a list with a repeat is malformed whatever the state
            assert _error_loc(response) == ["body", "attempt_ids"], ids
        else:  # one that differs from the strategy's attempts conflicts with its state
            assert response.status_code == 409, (ids, response.text)
    assert client.get(f"{URL}/{strategy['id']}", headers=admin.headers).json() == strategy


def test_deleting_a_goto_target_is_refused_until_the_rule_changes(
    client: TestClient, admin: Account
) -> None:
    strategy = _three_steps(client, admin)
    first, second, third = (a["id"] for a in strategy["attempts"])
    attempts = f"{URL}/{strategy['id']}/attempts"
    refused = client.delete(f"{attempts}/{third}", headers=admin.headers)
    assert refused.status_code == 409
    assert f"attempt 1 (id {first}) on busy" in refused.json()["detail"]
    patched = client.patch(
        f"{attempts}/{first}", json={"rules": {"busy": {"action": "next"}}}, headers=admin.headers
    )
    assert patched.json()["rules"]["busy"] == {
        "action": "next",
        "delay_minutes": 60,
        "attempt": None,
    }
    assert client.delete(f"{attempts}/{first}", headers=admin.headers).status_code == 204
    assert client.delete(f"{attempts}/{third}", headers=admin.headers).status_code == 204
    after = client.get(f"{URL}/{strategy['id']}", headers=admin.headers).json()
    assert [(a["id"], a["position"]) for a in after["attempts"]] == [(second, 1)]
    assert client.get(f"{attempts}/{first}", headers=admin.headers).status_code == 404


def test_an_attempt_may_goto_itself_and_still_be_deleted(
    client: TestClient, admin: Account
) -> None:
    strategy = _create(
        client,
        admin,
        attempts=[
            {"channel": "voice"},
            {"channel": "voice", "rules": {"busy": {"action": "goto", "attempt": 2}}},
        ],
    )
    second = strategy["attempts"][1]["id"]
    response = client.delete(f"{URL}/{strategy['id']}/attempts/{second}", headers=admin.headers)
    assert response.status_code == 204


def test_switching_channel_resets_rules_and_sms_fields(client: TestClient, admin: Account) -> None:
    strategy = _three_steps(client, admin)
    attempts = f"{URL}/{strategy['id']}/attempts"
    sms_id = strategy["attempts"][1]["id"]
    to_voice = client.patch(
        f"{attempts}/{sms_id}",
        json={"channel": "voice", "rules": {"no_answer": {"action": "goto", "attempt": 1}}},
        headers=admin.headers,
    ).json()
    assert to_voice["sms_template"] is None and to_voice["sms_mode"] is None
    assert list(to_voice["rules"]) == [o.value for o in VOICE_RULE_OUTCOMES]
    assert to_voice["rules"]["no_answer"]["attempt"] == 1
    to_sms = client.patch(
        f"{attempts}/{sms_id}",
        json={
            "channel": "sms",
            "sms_expiry_minutes": 120,
            "rules": {"sms_expired": {"action": "close"}},
        },
        headers=admin.headers,
    ).json()
    assert to_sms["sms_expiry_minutes"] == 120 and to_sms["sms_mode"] == "await_reply"
    assert to_sms["rules"] == {
        "sms_expired": {"action": "close", "delay_minutes": 0, "attempt": None},
        "sms_failed": {"action": "close", "delay_minutes": 0, "attempt": None},
    }


def test_strategy_of_an_sms_campaign_stays_sms_only(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = _create(client, admin, attempts=[{"channel": "sms"}])
    sms_id = strategy["attempts"][0]["id"]
    _campaign(db, strategy["id"], name="texts", kind=CampaignType.SMS)
    attempts = f"{URL}/{strategy['id']}/attempts"
    added = client.post(attempts, json={"channel": "voice"}, headers=admin.headers)
    switched = client.patch(
        f"{attempts}/{sms_id}", json={"channel": "voice"}, headers=admin.headers
    )
    for response in (added, switched):
        assert response.status_code == 409
        assert "'texts'" in response.json()["detail"]
    assert client.post(attempts, json={"channel": "sms"}, headers=admin.headers).status_code == 201
    deleted = client.delete(f"{URL}/{strategy['id']}", headers=admin.headers)
    assert deleted.status_code == 409 and "'texts'" in deleted.json()["detail"]
    with db.transaction() as session:
        assert strategy_has_voice(session, strategy["id"]) is False


def test_voice_campaign_strategy_may_gain_voice_and_cannot_be_deleted(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = _create(client, admin, attempts=[{"channel": "sms"}])
    _campaign(db, strategy["id"], name="calls", kind=CampaignType.AGENT)
    added = client.post(
        f"{URL}/{strategy['id']}/attempts", json={"channel": "voice"}, headers=admin.headers
    )
    assert added.status_code == 201
    with db.transaction() as session:
        assert strategy_has_voice(session, strategy["id"]) is True
    assert client.delete(f"{URL}/{strategy['id']}", headers=admin.headers).status_code == 409


def test_default_strategy_is_present_and_protected(
    client: TestClient, admin: Account, db: Database
) -> None:
    (default,) = client.get(URL, headers=admin.headers).json()
    assert (default["name"], default["builtin"]) == ("Default", True)
    (attempt,) = default["attempts"]
    assert attempt["channel"] == "sms"
    assert (attempt["sms_mode"], attempt["sms_expiry_minutes"]) == ("await_reply", None)
    url = f"{URL}/{default['id']}"
    attempt_url = f"{url}/attempts/{attempt['id']}"
    for response in (
        client.delete(url, headers=admin.headers),
        client.patch(url, json={"name": "Mine"}, headers=admin.headers),
        client.post(f"{url}/attempts", json={"channel": "voice"}, headers=admin.headers),
        client.patch(attempt_url, json={"channel": "voice"}, headers=admin.headers),
        client.delete(attempt_url, headers=admin.headers),
        client.post(URL, json={"name": "default"}, headers=admin.headers),
    ):
        assert response.status_code == 409, response.text
    edited = client.patch(
        attempt_url,
        json={"sms_template": "Call us back", "sms_expiry_minutes": 60},
        headers=admin.headers,
    )
    assert edited.status_code == 200
    described = client.patch(
        url, json={"description": "ours", "name": "Default"}, headers=admin.headers
    )
    assert described.json()["description"] == "ours"
    with db.transaction() as session:
        assert ensure_default_strategy(session).id == default["id"]
        count = session.scalar(select(func.count()).select_from(Strategy).where(Strategy.builtin))
        assert count == 1


def test_names_are_unique_whatever_the_case(client: TestClient, admin: Account) -> None:
    _create(client, admin, name="Retry hard")
    other = _create(client, admin, name="Other")
    assert client.post(URL, json={"name": "RETRY HARD"}, headers=admin.headers).status_code == 409
    renamed = client.patch(
        f"{URL}/{other['id']}", json={"name": "retry hard"}, headers=admin.headers
    )
    assert renamed.status_code == 409
    recased = client.patch(f"{URL}/{other['id']}", json={"name": "OTHER"}, headers=admin.headers)
    assert recased.json()["name"] == "OTHER"


def test_unused_strategy_with_gotos_is_deleted(client: TestClient, admin: Account) -> None:
    strategy = _three_steps(client, admin)
    assert client.delete(f"{URL}/{strategy['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{URL}/{strategy['id']}", headers=admin.headers).status_code == 404


def test_unknown_strategy_or_foreign_attempt_is_404(client: TestClient, admin: Account) -> None:
    one = _three_steps(client, admin)
    two = _create(client, admin, name="Two", attempts=[{"channel": "sms"}])
    foreign = f"{URL}/{two['id']}/attempts/{one['attempts'][0]['id']}"
    assert client.patch(foreign, json={"phone_slot": 2}, headers=admin.headers).status_code == 404
    assert client.get(f"{URL}/999999", headers=admin.headers).status_code == 404
    assert client.get(f"{URL}/99999999999999999999", headers=admin.headers).status_code == 422


def test_viewer_and_supervisor_read_but_cannot_write(
    client: TestClient, admin: Account, viewer: Account, supervisor: Account
) -> None:
    strategy = _three_steps(client, admin)
    url = f"{URL}/{strategy['id']}"
    attempt_url = f"{url}/attempts/{strategy['attempts'][0]['id']}"
    for account in (viewer, supervisor):
        assert client.get(URL, headers=account.headers).status_code == 200
        assert client.get(url, headers=account.headers).json() == strategy
        assert client.get(attempt_url, headers=account.headers).status_code == 200
        writes = [
            client.post(URL, json={"name": "Mine"}, headers=account.headers),
            client.patch(url, json={"description": "x"}, headers=account.headers),
            client.delete(url, headers=account.headers),
            client.post(f"{url}/attempts", json={"channel": "sms"}, headers=account.headers),
            client.patch(attempt_url, json={"phone_slot": 2}, headers=account.headers),
            client.delete(attempt_url, headers=account.headers),
            client.put(f"{url}/attempts/order", json={"attempt_ids": []}, headers=account.headers),
        ]
        assert [r.status_code for r in writes] == [403] * len(writes)
    assert client.get(url, headers=admin.headers).json() == strategy


def test_strategy_of_a_started_campaign_cannot_be_edited(
    client: TestClient, admin: Account, db: Database
) -> None:
    """Every edit is a 409 naming the started campaigns (not the stopped one); nothing changes.

    A contact in flight holds the id of its next attempt: an attempt deleted underneath it
    closed the contact as Retries Completed, so the strategy is frozen while any user runs.
    """
    strategy = _three_steps(client, admin)
    url = f"{URL}/{strategy['id']}"
    first, second, third = (a["id"] for a in strategy["attempts"])
    for name in ("winter_calls", "spring_calls", "idle_calls"):
        _campaign(db, strategy["id"], name=name, kind=CampaignType.AGENT)
    campaigns = {
        c["name"]: c["id"] for c in client.get("/api/v1/campaigns", headers=admin.headers).json()
    }
    for name in ("winter_calls", "spring_calls"):
        started = client.post(f"/api/v1/campaigns/{campaigns[name]}/start", headers=admin.headers)
        assert started.status_code == 200, started.text
    edits = {
        "rename": client.patch(url, json={"max_attempts": 2}, headers=admin.headers),
        "add": client.post(f"{url}/attempts", json={"channel": "voice"}, headers=admin.headers),
        "edit": client.patch(
            f"{url}/attempts/{second}", json={"phone_slot": 3}, headers=admin.headers
        ),
        "delete attempt": client.delete(f"{url}/attempts/{second}", headers=admin.headers),
        "reorder": client.put(
            f"{url}/attempts/order",
            json={"attempt_ids": [third, second, first]},
            headers=admin.headers,
        ),
        "delete": client.delete(url, headers=admin.headers),
    }
    for edit, response in edits.items():
        assert response.status_code == 409, (edit, response.text)
        detail = response.json()["detail"]
        assert "'spring_calls'" in detail and "'winter_calls'" in detail, (edit, detail)
        assert "idle_calls" not in detail and "stop" in detail, (edit, detail)
    assert client.get(url, headers=admin.headers).json() == strategy
    for name in ("winter_calls", "spring_calls"):
        client.post(f"/api/v1/campaigns/{campaigns[name]}/stop", headers=admin.headers)
    edited = client.patch(f"{url}/attempts/{second}", json={"phone_slot": 3}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    assert edited.json()["phone_slot"] == 3
