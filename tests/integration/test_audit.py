"""The audit log through the real API, on SQLite and PostgreSQL: one test per audited kind of
change, secrets masked, admins only, CSV export, and no entry for what the engine does."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.models import AuditEntry, Campaign
from outbound.settings.service import MASK
from tests.conftest import Account
from tests.integration.test_engine_flow import START, make_engine, run, setup_campaign

API = "/api/v1"


def entries(client: TestClient, admin: Account, **filters: Any) -> list[dict[str, Any]]:
    """Every entry matching the filters, oldest first (the API pages newest first)."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        params = {**filters, "limit": 7} | ({"after": after} if after else {})
        page = client.get(f"{API}/audit", params=params, headers=admin.headers)
        assert page.status_code == 200, page.text
        found.extend(page.json()["items"])
        after = page.json()["next_after"]
        if after is None:
            return list(reversed(found))


def fields(entry: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c["before"], c["after"]) for c in entry["changes"]}


def only(client: TestClient, admin: Account, **filters: Any) -> dict[str, Any]:
    (entry,) = entries(client, admin, **filters)
    return entry


def test_campaign_changes_say_who_when_where_and_what(
    client: TestClient, admin: Account, db: Database
) -> None:
    headers = {**admin.headers, "X-Request-ID": "req-42"}
    made = client.post(f"{API}/campaigns", json={"name": "spring", "type": "sms"}, headers=headers)
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    client.patch(f"{API}/campaigns/{cid}", json={"name": "summer"}, headers=admin.headers)
    client.post(f"{API}/campaigns/{cid}/start", headers=admin.headers)
    client.post(f"{API}/campaigns/{cid}/stop", headers=admin.headers)
    assert client.delete(f"{API}/campaigns/{cid}", headers=admin.headers).status_code == 204

    log = entries(client, admin, kind="campaign")
    assert [e["action"] for e in log] == ["create", "update", "update", "update", "delete"]
    created, renamed, started, stopped, deleted = log
    assert (created["username"], created["token_name"]) == (admin.username, "fixture")
    assert created["address"] == "testclient"  # the TestClient's client address
    assert created["request_id"] == "req-42"
    # A request without X-Request-ID gets one of its own (echoed in its answer).
    assert re.fullmatch(r"[0-9a-f]{32}", renamed["request_id"]), renamed["request_id"]
    assert (created["object_id"], created["object_name"]) == (str(cid), "spring")
    assert fields(created)["name"] == (None, "spring")
    assert fields(renamed) == {"name": ("spring", "summer")}
    assert renamed["object_name"] == "summer"
    assert fields(started)["running"] == (False, True)
    assert fields(stopped)["running"] == (True, False)
    assert fields(deleted)["name"] == ("summer", None)
    # Entry times are the request's, in order, and the counters never show up.
    assert created["at"] <= renamed["at"] <= deleted["at"]
    shown = {f for e in log for f in fields(e)}
    assert not shown & {"in_flight", "rate_tokens", "rate_at", "import_seq", "updated_at"}


def test_a_refused_change_leaves_no_entry(client: TestClient, admin: Account) -> None:
    body = {"name": "autumn", "type": "sms"}
    client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    before = entries(client, admin)
    clash = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    assert clash.status_code == 409, clash.text  # the name is taken
    bad = client.patch(f"{API}/settings", json={"feed_batch_size": -1}, headers=admin.headers)
    assert bad.status_code == 422
    assert entries(client, admin) == before


def test_an_engine_run_and_contact_imports_add_no_entries(
    client: TestClient, admin: Account, db: Database
) -> None:
    phones = [f"+1415555{n:04d}" for n in range(200, 230)]
    campaign = setup_campaign(client, admin, strategy=None, phones=phones, kind="sms")
    made = entries(client, admin)
    # The user's own changes: the schedule, the campaign, its start. The contact import
    # (which moves the campaign's import sequence) is none.
    assert [(e["kind"], e["action"]) for e in made] == [
        ("schedule", "create"),
        ("campaign", "create"),
        ("campaign", "update"),
    ]
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(minutes=10))
    with db.transaction() as session:
        attempts = session.scalar(
            text("SELECT count(*) FROM attempts WHERE campaign_id = :c"), {"c": campaign}
        )
        campaign_row = session.get(Campaign, campaign)
        assert campaign_row is not None and campaign_row.rate_at is not None  # the engine paced
    assert attempts and attempts >= len(phones)
    assert entries(client, admin) == made


def test_strategy_changes_show_the_changed_rule(client: TestClient, admin: Account) -> None:
    body = {"name": "Two steps", "attempts": [{"channel": "sms"}, {"channel": "sms"}]}
    sid = client.post(f"{API}/strategies", json=body, headers=admin.headers).json()["id"]
    strategy = client.get(f"{API}/strategies/{sid}", headers=admin.headers).json()
    first = strategy["attempts"][0]["id"]
    changed = client.patch(
        f"{API}/strategies/{sid}/attempts/{first}",
        json={"rules": {"sms_failed": {"action": "retry", "delay_minutes": 30}}},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    client.patch(f"{API}/strategies/{sid}", json={"max_attempts": 4}, headers=admin.headers)
    created, rule, cap = entries(client, admin, kind="strategy", object=str(sid))
    assert created["action"] == "create" and fields(created)["name"] == (None, "Two steps")
    assert fields(created)["attempts.2.channel"] == (None, "sms")
    rule_changes = fields(rule)
    assert rule_changes["attempts.1.rules.sms_failed.delay_minutes"][1] == 30
    assert rule_changes["attempts.1.rules.sms_failed.action"][1] == "retry"
    assert all(f.startswith("attempts.1.rules.sms_failed.") for f in rule_changes)
    assert fields(cap) == {"max_attempts": (10, 4)}
    assert client.delete(f"{API}/strategies/{sid}", headers=admin.headers).status_code == 204
    by_name = entries(client, admin, kind="strategy", object="Two steps")
    assert [e["action"] for e in by_name] == ["create", "update", "update", "delete"]


def test_schedule_changes_and_an_equal_rewrite_is_no_change(
    client: TestClient, admin: Account
) -> None:
    body = {
        "name": "Weekdays",
        "time_zone": "Europe/Paris",
        "windows": [{"day": "mon", "start": "09:00", "end": "17:00"}],
    }
    sid = client.post(f"{API}/schedules", json=body, headers=admin.headers).json()["id"]
    # The same windows again: the rows are rewritten, the schedule is the same.
    same = client.put(f"{API}/schedules/{sid}", json=body, headers=admin.headers)
    assert same.status_code == 200, same.text
    later = {**body, "windows": [{"day": "mon", "start": "10:00", "end": "17:00"}]}
    client.put(f"{API}/schedules/{sid}", json=later, headers=admin.headers)
    created, moved = entries(client, admin, kind="schedule")
    assert fields(created)["time_zone"] == (None, "Europe/Paris")
    assert fields(moved) == {"windows": ([[0, 540, 1020]], [[0, 600, 1020]])}


def test_settings_changes_are_logged_with_secrets_masked(
    client: TestClient, admin: Account, db: Database
) -> None:
    smpp = {"host": "127.0.0.1", "system_id": "outbound", "password": "hunter2x"}
    first = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "smpp", "options": smpp}, "feed_batch_size": 77},
        headers=admin.headers,
    )
    assert first.status_code == 200, first.text
    # Sent back masked, the password is unchanged: no change of it is logged.
    shown = first.json()["sms_gateway"]["options"]
    client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "smpp", "options": {**shown, "host": "10.0.0.9"}}},
        headers=admin.headers,
    )
    client.patch(
        f"{API}/settings",
        json={
            "sms_gateway": {
                "kind": "smpp",
                "options": {**shown, "host": "10.0.0.9", "password": "otherpw1"},
            }
        },
        headers=admin.headers,
    )
    log = entries(client, admin, kind="setting")
    assert [(e["object_id"], e["action"]) for e in log] == [
        ("feed_batch_size", "create"),
        ("sms_gateway", "create"),
        ("sms_gateway", "update"),
        ("sms_gateway", "update"),
    ]
    assert fields(log[0]) == {"feed_batch_size": (None, 77)}
    assert fields(log[1])["sms_gateway.options.password"] == (None, MASK)
    assert fields(log[2]) == {"sms_gateway.options.host": ("127.0.0.1", "10.0.0.9")}
    assert fields(log[3]) == {"sms_gateway.options.password": (MASK, MASK)}
    # Nowhere in the stored log, in the API or in the CSV.
    with db.transaction() as session:
        stored = json.dumps([e.changes for e in session.scalars(select(AuditEntry))])
    exported = client.get(f"{API}/audit.csv", headers=admin.headers).text
    for where in (stored, json.dumps(log), exported):
        assert "hunter2x" not in where and "otherpw1" not in where


def test_user_changes_mask_the_password(client: TestClient, admin: Account) -> None:
    body = {"username": "carol", "password": "carol-password-1", "role": "viewer"}
    uid = client.post(f"{API}/users", json=body, headers=admin.headers).json()["id"]
    client.patch(f"{API}/users/{uid}", json={"role": "supervisor"}, headers=admin.headers)
    client.patch(f"{API}/users/{uid}", json={"password": "carol-password-2"}, headers=admin.headers)
    assert client.delete(f"{API}/users/{uid}", headers=admin.headers).status_code == 204
    created, promoted, password, deleted = entries(client, admin, kind="user", object="carol")
    assert fields(created)["password_hash"] == (None, MASK)
    assert fields(created)["role"] == (None, "viewer")
    assert fields(promoted) == {"role": ("viewer", "supervisor")}
    assert fields(password) == {"password_hash": (MASK, MASK)}
    assert deleted["action"] == "delete" and deleted["object_id"] == str(uid)
    assert "argon2" not in json.dumps(entries(client, admin))


def test_api_tokens_are_logged_log_ins_are_not(client: TestClient, admin: Account) -> None:
    login = client.post(
        f"{API}/auth/login", json={"username": admin.username, "password": admin.password}
    )
    session_headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    made = client.post(f"{API}/users/me/tokens", json={"name": "crm"}, headers=session_headers)
    assert made.status_code == 201, made.text
    token = made.json()
    crm_headers = {"Authorization": f"Bearer {token['token']}"}
    assert (
        client.delete(f"{API}/users/me/tokens/{token['id']}", headers=crm_headers).status_code
        == 204
    )
    client.post(f"{API}/auth/logout", headers=session_headers)
    created, revoked = entries(client, admin, kind="api_token")
    assert (created["object_name"], created["token_name"]) == ("crm", None)  # made in a log-in
    assert revoked["token_name"] == "crm"  # revoked with itself
    assert fields(created)["prefix"] == (None, token["prefix"])
    assert token["token"] not in json.dumps([created, revoked])
    assert list(fields(revoked)) == ["revoked_at"]
    assert [e["kind"] for e in entries(client, admin)] == ["api_token", "api_token"]


def test_dnc_entries_one_at_a_time_and_in_bulk(
    client: TestClient, supervisor: Account, admin: Account
) -> None:
    one = client.post(f"{API}/dnc", json={"number": "+14155550123"}, headers=supervisor.headers)
    assert one.status_code == 201, one.text
    bulk = client.post(
        f"{API}/dnc/bulk",
        json={"numbers": ["+14155550124", "+14155550125", "not a number"]},
        headers=supervisor.headers,
    )
    assert bulk.json()["added"] == 2
    assert (
        client.delete(f"{API}/dnc/{one.json()['id']}", headers=supervisor.headers).status_code
        == 204
    )
    log = entries(client, admin, kind="dnc_entry")
    assert [(e["object_name"], e["action"], e["username"]) for e in log] == [
        ("+14155550123", "create", supervisor.username),
        ("+14155550124", "create", supervisor.username),
        ("+14155550125", "create", supervisor.username),
        ("+14155550123", "delete", supervisor.username),
    ]
    assert fields(log[1])["source"] == (None, "bulk")
    assert len(entries(client, admin, object="+14155550123")) == 2


def test_webhook_changes_mask_the_secret(client: TestClient, admin: Account) -> None:
    body = {"url": "https://crm.example.com/hook", "secret": "a-signing-secret-0123456789"}
    made = client.post(f"{API}/webhooks", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    wid = made.json()["id"]
    client.patch(f"{API}/webhooks/{wid}", json={"active": False}, headers=admin.headers)
    client.patch(
        f"{API}/webhooks/{wid}",
        json={"secret": "another-signing-secret-0123"},
        headers=admin.headers,
    )
    client.delete(f"{API}/webhooks/{wid}", headers=admin.headers)
    created, paused, rekeyed, deleted = entries(client, admin, kind="webhook")
    assert fields(created)["secret"] == (None, MASK)
    assert fields(paused) == {"active": (True, False)}
    assert fields(rekeyed) == {"secret": (MASK, MASK)}
    assert fields(deleted)["secret"] == (MASK, None)
    assert "signing-secret" not in json.dumps(entries(client, admin))


def test_agents_and_reasons_but_not_an_agents_own_state(
    client: TestClient, admin: Account, supervisor: Account
) -> None:
    reason = client.post(f"{API}/agent-reasons", json={"name": "Coaching"}, headers=admin.headers)
    client.patch(
        f"{API}/agent-reasons/{reason.json()['id']}", json={"name": "1:1"}, headers=admin.headers
    )
    users = client.get(f"{API}/users", headers=admin.headers).json()
    uid = next(u["id"] for u in users if u["username"] == supervisor.username)
    agent = client.post(
        f"{API}/agents",
        json={"user_id": uid, "sip_address": "sip:sup@pbx.example.com"},
        headers=admin.headers,
    )
    assert agent.status_code == 201, agent.text
    before = entries(client, admin)
    # The agent works: state changes and heartbeats are the agent desk's history, not audit.
    for state in ("not_ready", "ready"):
        moved = client.post(
            f"{API}/agents/me/state", json={"state": state}, headers=supervisor.headers
        )
        assert moved.status_code == 200, moved.text
    assert entries(client, admin) == before
    _reason, renamed, made_agent = before
    assert fields(renamed) == {"name": ("Coaching", "1:1")}
    assert (made_agent["kind"], made_agent["object_name"]) == ("agent", "sip:sup@pbx.example.com")
    assert fields(made_agent)["user_id"] == (None, uid)


def test_only_admins_read_the_log(
    client: TestClient, admin: Account, supervisor: Account, viewer: Account
) -> None:
    for path in (f"{API}/audit", f"{API}/audit.csv"):
        assert client.get(path, headers=viewer.headers).status_code == 403
        assert client.get(path, headers=supervisor.headers).status_code == 403
        assert client.get(path, headers=admin.headers).status_code == 200
    # And nothing changes it: the paths take GET only.
    spec = client.get("/openapi.json").json()["paths"]
    assert {m for p in ("/api/v1/audit", "/api/v1/audit.csv") for m in spec[p]} == {"get"}
    for method in ("put", "patch", "delete", "post"):
        assert client.request(method, f"{API}/audit", headers=admin.headers).status_code == 405


def test_filters_by_user_object_and_period(
    client: TestClient, admin: Account, supervisor: Account
) -> None:
    client.post(f"{API}/dnc", json={"number": "+14155550126"}, headers=supervisor.headers)
    client.post(f"{API}/campaigns", json={"name": "xmas", "type": "sms"}, headers=admin.headers)
    everything = entries(client, admin)
    assert len(everything) == 2
    assert [e["kind"] for e in entries(client, admin, user=supervisor.username)] == ["dnc_entry"]
    assert [e["kind"] for e in entries(client, admin, object="xmas")] == ["campaign"]
    last = everything[-1]["at"]
    assert entries(client, admin, since=last) == everything[-1:]
    assert entries(client, admin, until=last) == everything[:-1]
    naive = client.get(
        f"{API}/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin.headers
    )
    assert naive.status_code == 422
    assert (
        client.get(f"{API}/audit", params={"kind": "contact"}, headers=admin.headers).status_code
        == 422
    )


def test_csv_export_is_one_line_per_change_and_safe_for_spreadsheets(
    client: TestClient, admin: Account
) -> None:
    body = {"name": "csv-export", "type": "sms", "description": '=HYPERLINK("http://evil")'}
    cid = client.post(f"{API}/campaigns", json=body, headers=admin.headers).json()["id"]
    client.patch(f"{API}/campaigns/{cid}", json={"max_calls_per_second": 2}, headers=admin.headers)
    response = client.get(f"{API}/audit.csv", params={"kind": "campaign"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    (rate,) = [r for r in rows if r["field"] == "max_calls_per_second" and r["action"] == "update"]
    assert (rate["action"], rate["before"], rate["after"]) == ("update", "5.0", "2.0")
    (description,) = [r for r in rows if r["field"] == "description"]
    assert description["after"] == '\'=HYPERLINK("http://evil")'  # no formula
    created = [r for r in rows if r["action"] == "create"]
    assert {r["username"] for r in rows} == {admin.username}
    assert {r["object_id"] for r in rows} == {str(cid)}
    with_api = entries(client, admin, kind="campaign")
    assert len(created) == len(with_api[0]["changes"])
    assert len(rows) == sum(len(e["changes"]) for e in with_api)


def test_the_log_has_no_route_that_changes_it(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["paths"]
    assert [p for p in spec if p.startswith("/api/v1/audit")] == [
        "/api/v1/audit",
        "/api/v1/audit.csv",
    ]


def test_counts_stay_put_without_an_actor(db: Database) -> None:
    """Changes made outside a user's request (the engine, bootstrap) are not logged."""
    with db.transaction() as session:
        campaign = Campaign(name="direct", type="sms", strategy_id=1, schedule_id=1)
        session.add(campaign)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_number_is_no_instant(client: TestClient, admin: Account) -> None:
    for bad in ("0.5", "1700000000", "-3"):
        answer = client.get(f"{API}/audit", params={"until": bad}, headers=admin.headers)
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["field"] == "until"
