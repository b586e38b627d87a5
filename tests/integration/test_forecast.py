"""Forecasts (``outbound simulate``): sensible numbers, and the live data left untouched."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from outbound.cli import app
from outbound.contacts.states import OPEN_STATES, ContactState
from outbound.db.base import Base
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.forecast import forecast, report_lines
from outbound.errors import NotFound
from outbound.models import Campaign, Contact
from tests.clocks import next_monday_9
from tests.conftest import Account
from tests.integration.test_engine_flow import make_engine, run

API = "/api/v1"
MONDAY = next_monday_9()  # a Monday 09:00 UTC after today's real time
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STRATEGY = {
    "name": "two-calls",
    "max_attempts": 3,
    "attempts": [
        {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": 10}}},
        {"channel": "voice"},
    ],
}
# By the simulator's plan: four answer, two are busy twice, two are invalid, one never
# answers (Dangling after the 60-minute timeout), one is put on the DNC list after upload.
CONNECTED = ["+14155550200", "+14155551200", "+14155552200", "+14155553200"]
BUSY = ["+14155550486", "+14155551486"]
INVALID = ["+14155550404", "+14155551404"]
LOST = ["+14155550999"]
LISTED_LATER = "+14155552404"
LISTED_BEFORE = "+14155553404"  # closed as DNC Listed at upload: not an open contact


def make_campaign(
    client: TestClient, admin: Account, *, windows: list[dict[str, str]], ledger: Path
) -> str:
    settings = {
        "dialer": {"kind": "simulator", "options": {"jitter": 0, "ledger_path": str(ledger)}}
    }
    assert client.patch(f"{API}/settings", json=settings, headers=admin.headers).status_code == 200
    strategy = client.post(f"{API}/strategies", json=STRATEGY, headers=admin.headers).json()
    schedule = client.post(
        f"{API}/schedules",
        json={"name": "hours", "time_zone": "UTC", "windows": windows},
        headers=admin.headers,
    ).json()
    body = {
        "name": "autumn-sale",
        "type": "agent",
        "strategy_id": strategy["id"],
        "schedule_id": schedule["id"],
        "dialer_target": "sales",
        "max_concurrent_calls": 5,
        "max_calls_per_second": 2,
    }
    created = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    campaign = created.json()["id"]
    dnc = {"number": LISTED_BEFORE, "campaign": str(campaign)}
    assert client.post(f"{API}/dnc", json=dnc, headers=admin.headers).status_code == 201
    phones = [*CONNECTED, *BUSY, *INVALID, *LOST, LISTED_LATER, LISTED_BEFORE]
    batch = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": p} for p in phones]},
        headers=admin.headers,
    )
    assert batch.status_code in (200, 201), batch.text
    assert (
        client.post(f"{API}/dnc", json={"number": LISTED_LATER}, headers=admin.headers).status_code
        == 201
    )
    return "autumn-sale"


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a forecast changed nothing (but the tokens' last
    use, which any API request records)."""
    with db.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in ("users", "api_tokens")
        }


def test_forecast_reports_the_campaign_and_leaves_the_live_data_alone(
    client: TestClient, admin: Account, db: Database, tmp_path: Path
) -> None:
    always = [{"day": d, "start": "00:00", "end": "24:00"} for d in EVERY_DAY]
    ledger = tmp_path / "ledger.jsonl"
    name = make_campaign(client, admin, windows=always, ledger=ledger)
    before = snapshot(db)

    result = forecast(db, name, now=MONDAY, days=7, seed=1, workdir=tmp_path)

    assert snapshot(db) == before
    assert not ledger.exists()  # the live simulator's ledger is not the forecast's
    assert result.campaign == name
    assert result.contacts == 10  # the open ones: not the one closed at upload
    assert result.states == {
        ContactState.CONNECTED: 4,
        ContactState.RETRIES_COMPLETED: 2,
        ContactState.NOT_CONNECTED: 2,
        ContactState.DANGLING: 1,
        ContactState.DNC_LISTED: 1,
    }
    assert result.contact_rate == pytest.approx(0.4)
    assert result.attempts == 4 + 2 * 2 + 2 + 1  # never the listed number
    assert result.attempts_per_contact == pytest.approx(1.1)
    # The last to close is the lost call, an hour after it was dialled at the start.
    assert result.completed_at is not None
    assert MONDAY + timedelta(minutes=60) <= result.completed_at <= MONDAY + timedelta(minutes=61)
    assert result.simulated == result.completed_at - MONDAY
    assert result.wall_seconds < 30
    lines = "\n".join(report_lines(result))
    assert f"projected completion: {MONDAY:%Y-%m-%d} 10:0" in lines
    assert "contact rate:         40.0% (4 reached)" in lines
    assert "attempts per contact: 1.10 (11 attempts)" in lines
    assert "Connected 4" in lines and "Dangling 1" in lines


def test_contacts_in_flight_are_forecast_too(
    client: TestClient, admin: Account, db: Database, tmp_path: Path
) -> None:
    """A contact whose call is out (Sent to Dialer) is still open: the forecast counts it and
    draws its result again, instead of leaving it out as if it were done."""
    always = [{"day": d, "start": "00:00", "end": "24:00"} for d in EVERY_DAY]
    name = make_campaign(client, admin, windows=always, ledger=tmp_path / "ledger.jsonl")
    with db.transaction() as session:
        campaign = session.scalar(select(Campaign.id).where(Campaign.name == name))
    started = client.post(f"{API}/campaigns/{campaign}/start", headers=admin.headers)
    assert started.status_code == 200, started.text
    clock = VirtualClock(MONDAY)
    run(make_engine(db, clock), clock, until=MONDAY + timedelta(minutes=1))
    live = {p: s for p, s in contact_states(db).items() if s in OPEN_STATES}
    in_flight = {p for p, s in live.items() if s is ContactState.SENT_TO_DIALER}
    assert LOST[0] in in_flight and len(in_flight) < len(live)  # some out, some waiting
    result = forecast(db, name, now=clock.now(), days=1, seed=1, workdir=tmp_path)
    assert result.contacts == len(live)
    assert sum(result.states.values()) == len(live)
    assert result.still_open == 0
    assert result.states[ContactState.DANGLING] == 1  # the lost call, drawn again, is lost again
    assert result.attempts >= len(in_flight)  # every call that was out is made in the forecast


def contact_states(db: Database) -> dict[str, ContactState]:
    with db.transaction() as session:
        return {
            phone: state for phone, state in session.execute(select(Contact.phone1, Contact.state))
        }


def test_a_campaign_that_cannot_finish_in_time_says_so(
    client: TestClient, admin: Account, db: Database, tmp_path: Path
) -> None:
    friday_only = [{"day": "fri", "start": "09:00", "end": "10:00"}]
    name = make_campaign(client, admin, windows=friday_only, ledger=tmp_path / "ledger.jsonl")
    result = forecast(db, name, now=MONDAY, days=2, seed=1, workdir=tmp_path)
    assert result.completed_at is None
    assert result.attempts == 0
    assert result.still_open == result.contacts == 10
    assert result.simulated == timedelta(days=2)
    assert (
        "projected completion: not within 2 days (10 contacts still open)"
        in report_lines(result)[1]
    )
    # Given the week, every contact is tried on Friday morning.
    week = forecast(db, name, now=MONDAY, days=7, seed=1, workdir=tmp_path)
    assert week.completed_at is not None
    assert week.completed_at.weekday() == 4 and week.completed_at.hour == 10


def test_simulate_command(
    client: TestClient,
    admin: Account,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    always = [{"day": d, "start": "00:00", "end": "24:00"} for d in EVERY_DAY]
    make_campaign(client, admin, windows=always, ledger=tmp_path / "ledger.jsonl")
    before = snapshot(db)
    monkeypatch.setenv("OUTBOUND_DATABASE_URL", db.url)
    runner = CliRunner()

    ran = runner.invoke(
        app, ["simulate", "--campaign", "AUTUMN-SALE", "--days", "3", "--seed", "2"]
    )
    assert ran.exit_code == 0, ran.output
    assert "Forecast for campaign 'autumn-sale': 10 open contacts" in ran.output
    assert "contact rate:         40.0% (4 reached)" in ran.output
    assert "attempts per contact: 1.10 (11 attempts)" in ran.output
    assert snapshot(db) == before

    missing = runner.invoke(app, ["simulate", "--campaign", "no-such-campaign"])
    assert missing.exit_code == 1
    assert "campaign 'no-such-campaign' not found" in missing.output


def test_an_unknown_campaign_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        forecast(db, "crm:nothing", now=MONDAY)


def test_a_supervisor_forecasts_a_small_campaign_through_the_api(
    client: TestClient,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    always = [{"day": d, "start": "00:00", "end": "24:00"} for d in EVERY_DAY]
    make_campaign(client, admin, windows=always, ledger=tmp_path / "ledger.jsonl")
    campaign = client.get(f"{API}/campaigns", headers=admin.headers).json()[0]["id"]
    url = f"{API}/campaigns/{campaign}/forecast"
    before = snapshot(db)

    answer = client.post(url, json={"days": 2, "seed": 3}, headers=supervisor.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["contacts"] == 10 and body["reached"] == 4 and body["attempts"] == 11
    assert body["contact_rate"] == pytest.approx(0.4)
    assert body["states"]["dangling"] == 1 and body["still_open"] == 0
    start = datetime.fromisoformat(body["start"])
    completed = datetime.fromisoformat(body["completed_at"])
    assert timedelta(minutes=60) <= completed - start <= timedelta(minutes=61)
    assert snapshot(db) == before
    assert client.post(url, headers=supervisor.headers).status_code == 200  # body optional

    assert client.post(url, json={}, headers=viewer.headers).status_code == 403
    missing = client.post(f"{API}/campaigns/crm:none/forecast", headers=supervisor.headers)
    assert missing.status_code == 404
    wrong = client.post(url, json={"days": 0}, headers=supervisor.headers)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "days"
    monkeypatch.setattr("outbound.engine.endpoints.MAX_SYNC_CONTACTS", 5)
    big = client.post(url, headers=supervisor.headers)
    assert big.status_code == 409
    assert "outbound simulate --campaign autumn-sale" in big.json()["detail"]
