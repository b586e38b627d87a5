"""A campaign's answering-machine detection settings over the REST API, on SQLite and
PostgreSQL: off with Asterisk's defaults unless asked, every parameter bounded, a PATCH
changing only what it names, and the treatments refused where the campaign cannot carry them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.db.engine import Database
from outbound.models import Strategy, StrategyAttempt
from outbound.strategies.outcomes import Channel
from tests.conftest import Account

URL = "/api/v1/campaigns"
# amd.conf.sample of Asterisk, written out here: the oracle for the defaults.
ASTERISK_DEFAULTS = {
    "initial_silence": 2500,
    "greeting": 1500,
    "after_greeting_silence": 800,
    "total_analysis_time": 5000,
    "min_word_length": 100,
    "between_words_silence": 50,
    "maximum_number_of_words": 2,
    "silence_threshold": 256,
    "maximum_word_length": 5000,
}


def _voice_strategy(db: Database) -> int:
    with db.transaction() as session:
        found = session.scalar(select(Strategy.id).where(Strategy.name == "Voice"))
        if found is not None:
            return found
        strategy = Strategy(name="Voice")
        strategy.attempts = [StrategyAttempt(position=1, channel=Channel.VOICE)]
        session.add(strategy)
        session.flush()
        return strategy.id


def _post(client: TestClient, admin: Account, db: Database, **body: Any) -> Any:
    body = {"name": "amd_test", "type": "agent", "strategy_id": _voice_strategy(db)} | body
    return client.post(URL, json=body, headers=admin.headers)


def _errors(response: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["msg"]) for e in response.json()["detail"]]


def test_a_new_campaign_has_detection_off_with_asterisks_defaults(
    client: TestClient, db: Database, admin: Account
) -> None:
    created = _post(client, admin, db).json()
    assert created["amd"] == {
        "enabled": False,
        "machine_treatment": "hang_up",
        "notsure_as": "human",
        "machine_message": "",
        **ASTERISK_DEFAULTS,
    }


def test_settings_are_stored_and_a_patch_changes_only_what_it_names(
    client: TestClient, db: Database, admin: Account
) -> None:
    tuned = {"enabled": True, "silence_threshold": 128, "maximum_number_of_words": 5}
    created = _post(client, admin, db, amd=tuned)
    assert created.status_code == 201, created.text
    ref = f"{URL}/{created.json()['id']}"
    patch = {"amd": {"notsure_as": "machine", "greeting": 2000}}
    changed = client.patch(ref, json=patch, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    amd = client.get(ref, headers=admin.headers).json()["amd"]
    assert amd == {
        **ASTERISK_DEFAULTS,
        "enabled": True,
        "machine_treatment": "hang_up",
        "notsure_as": "machine",
        "machine_message": "",
        "silence_threshold": 128,
        "maximum_number_of_words": 5,
        "greeting": 2000,
    }
    # Other fields of the campaign leave the settings alone.
    client.patch(ref, json={"priority": 3}, headers=admin.headers)
    assert client.get(ref, headers=admin.headers).json()["amd"] == amd


def test_parameters_out_of_bounds_or_mistyped_are_refused_by_field(
    client: TestClient, db: Database, admin: Account
) -> None:
    cases = [
        ({"greeting": 0}, "amd.greeting"),
        ({"total_analysis_time": 500_000}, "amd.total_analysis_time"),
        ({"maximum_number_of_words": "4"}, "amd.maximum_number_of_words"),
        ({"enabled": 1}, "amd.enabled"),
        ({"machine_treatment": "shout"}, "amd.machine_treatment"),
        ({"notsure_as": "maybe"}, "amd.notsure_as"),
        ({"beep": True}, "amd.beep"),
    ]
    for amd, field in cases:
        response = _post(client, admin, db, amd=amd)
        assert response.status_code == 422, amd
        assert [f for f, _ in _errors(response)] == [field], response.text
    created = _post(client, admin, db).json()
    nulled = client.patch(
        f"{URL}/{created['id']}", json={"amd": {"greeting": None}}, headers=admin.headers
    )
    assert nulled.status_code == 422
    assert _errors(nulled) == [("amd.greeting", "greeting cannot be null; leave it out to keep it")]


def test_treatments_the_campaign_cannot_carry_are_refused(
    client: TestClient, db: Database, admin: Account
) -> None:
    on = {"enabled": True}
    sms = client.post(
        URL, json={"name": "amd_sms", "type": "sms", "amd": on}, headers=admin.headers
    )
    assert sms.status_code == 422
    assert [f for f, _ in _errors(sms)] == ["amd.enabled"]
    # Off, the same settings are kept for later (nothing is listened to).
    off = client.post(
        URL,
        json={"name": "amd_sms", "type": "sms", "amd": {"enabled": False}},
        headers=admin.headers,
    )
    assert off.status_code == 201
    automated = _post(
        client,
        admin,
        db,
        type="automated",
        dialer_target="promo.wav",
        amd={**on, "machine_treatment": "pass_to_agent"},
    )
    assert [f for f, _ in _errors(automated)] == ["amd.machine_treatment"]
    leave = {**on, "machine_treatment": "leave_message"}
    agent = _post(client, admin, db, amd=leave)
    assert agent.status_code == 422
    assert [f for f, _ in _errors(agent)] == ["amd.machine_message"]
    agent = _post(client, admin, db, amd={**leave, "machine_message": "sorry-we-missed-you.wav"})
    assert agent.status_code == 201, agent.text
    # An Automated campaign leaves its own message unless told otherwise ...
    automated = _post(
        client, admin, db, name="amd_auto", type="automated", dialer_target="promo.wav", amd=leave
    )
    assert automated.status_code == 201, automated.text
    # ... so it cannot lose that message while it still has to leave it.
    ref = f"{URL}/{automated.json()['id']}"
    emptied = client.patch(ref, json={"dialer_target": ""}, headers=admin.headers)
    assert emptied.status_code == 422
    assert [f for f, _ in _errors(emptied)] == ["amd.machine_message"]
    assert client.get(ref, headers=admin.headers).json()["dialer_target"] == "promo.wav"
