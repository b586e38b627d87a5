"""Recovering a dead worker's calls is complete: nothing it held is left open for good."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine import sweepers
from outbound.engine.clock import VirtualClock
from outbound.models import Attempt, Worker
from tests.conftest import Account
from tests.integration.test_engine_flow import API, START, make_engine, run, setup_campaign, states

PHONES = ["+14155550200", "+14155550486", "+14155550404"]
LATER = START + timedelta(minutes=10)  # the ghost went silent long before
SILENT = timedelta(seconds=30)
ONE_CALL = {"name": "one-call", "max_attempts": 1, "attempts": [{"channel": "voice"}]}


def _ghost_in_flight(client: TestClient, admin: Account, db: Database) -> int:
    """A worker that dialled every contact and died before any result came back."""
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=PHONES)
    clock = VirtualClock(START)
    ghost = make_engine(db, clock)
    ghost.worker_id = "ghost"
    ghost.register()
    ghost.step()  # dials all three; the results are never polled: the worker is gone
    assert _open(db) == len(PHONES)
    return campaign


def _open(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).where(Attempt.ended_at.is_(None))) or 0


def _stopped(db: Database) -> bool:
    with db.transaction() as session:
        worker = session.get(Worker, "ghost")
        assert worker is not None
        return worker.stopped_at is not None


def test_a_recovery_past_its_limit_goes_on_at_the_next_pass(
    client: TestClient, admin: Account, db: Database
) -> None:
    campaign = _ghost_in_flight(client, admin, db)
    for left in (2, 1):
        assert sweepers.recover_workers(db, me="me", now=LATER, silent_for=SILENT, limit=1) == 1
        assert _open(db) == left
        assert not _stopped(db), "marked stopped with calls still open: they'd never be ended"
    assert sweepers.recover_workers(db, me="me", now=LATER, silent_for=SILENT, limit=1) == 1
    assert _open(db) == 0 and _stopped(db)
    assert set(states(db, campaign).values()) == {ContactState.DANGLING}


def test_an_attempt_locked_elsewhere_is_recovered_once_free(
    client: TestClient, admin: Account, db: Database
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks that others skip exist on PostgreSQL only")
    campaign = _ghost_in_flight(client, admin, db)
    with db.engine.connect() as other:  # another transaction holds one of the ghost's attempts
        held = other.execute(
            text("SELECT id FROM attempts WHERE ended_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE")
        ).scalar_one()
        assert sweepers.recover_workers(db, me="me", now=LATER, silent_for=SILENT) == 2
        assert _open(db) == 1
        assert not _stopped(db), "marked stopped with a call still open: it'd never be ended"
        other.rollback()
    assert sweepers.recover_workers(db, me="me", now=LATER, silent_for=SILENT) == 1
    assert _open(db) == 0 and _stopped(db)
    with db.transaction() as session:
        attempt = session.get(Attempt, held)
        assert attempt is not None and attempt.raw_result == sweepers.RECOVERED
    assert set(states(db, campaign).values()) == {ContactState.DANGLING}


POISONED = "+14155550404"  # its result cannot be written: a trigger refuses it


@contextmanager
def _refusing(db: Database, *, sqlstate: str = "P0001") -> Iterator[None]:
    """A real database that refuses to record the result of one number's attempt (the
    dangling sweep, which records no outcome, is let through)."""
    when = f"NEW.phone_number = '{POISONED}' AND NEW.outcome IS NOT NULL"
    if db.engine.dialect.name == "postgresql":
        create = [
            "CREATE FUNCTION refuse_result() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION 'refused' USING ERRCODE = '{sqlstate}'; END $$",
            f"CREATE TRIGGER refuse_result BEFORE UPDATE ON attempts FOR EACH ROW WHEN ({when}) "
            "EXECUTE FUNCTION refuse_result()",
        ]
        drop = [
            "DROP TRIGGER IF EXISTS refuse_result ON attempts",
            "DROP FUNCTION IF EXISTS refuse_result()",
        ]
    else:
        create = [
            f"CREATE TRIGGER refuse_result BEFORE UPDATE ON attempts FOR EACH ROW WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        drop = ["DROP TRIGGER IF EXISTS refuse_result"]
    with db.engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_one_result_that_cannot_be_recorded_costs_no_other_its_outcome(
    client: TestClient, admin: Account, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    client.patch(f"{API}/settings", json={"dangling_timeout_minutes": 5}, headers=admin.headers)
    phones = ["+14155550200", POISONED, "+14155550603"]
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=phones)
    clock = VirtualClock(START)
    engine = make_engine(db, clock, instant=True)  # the three results come in one batch
    with _refusing(db), caplog.at_level(logging.ERROR, logger="outbound.engine.results"):
        run(engine, clock, until=START + timedelta(hours=1))
    final = states(db, campaign)
    assert final["+14155550200"] is ContactState.CONNECTED
    assert final["+14155550603"] is ContactState.NOT_CONNECTED
    assert final[POISONED] is ContactState.DANGLING  # left to the sweep, never redialled
    assert any("cannot be recorded" in r.getMessage() for r in caplog.records)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Attempt)) == len(phones)


def test_results_the_database_cannot_take_yet_are_recorded_later(
    client: TestClient, admin: Account, db: Database
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a deadlock-class refusal is raised by a PostgreSQL trigger")
    phones = ["+14155550200", POISONED, "+14155550603"]
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=phones)
    clock = VirtualClock(START)
    engine = make_engine(db, clock, instant=True)
    engine.register()
    with _refusing(db, sqlstate="40P01"):  # deadlock detected: the database, not the result
        engine.step()  # dials the three
        engine.step()  # their results meet the refusal: all kept for later
        assert set(states(db, campaign).values()) == {ContactState.SENT_TO_DIALER}
    clock.advance(timedelta(seconds=1))
    engine.step()
    final = states(db, campaign)
    assert final["+14155550200"] is ContactState.CONNECTED
    assert final[POISONED] is ContactState.NOT_CONNECTED  # invalid number
    assert final["+14155550603"] is ContactState.NOT_CONNECTED


def test_an_answered_call_of_a_dead_worker_keeps_its_outcome_and_place(
    client: TestClient, admin: Account, db: Database
) -> None:
    """The worker recorded the answer, then died mid-call: recovery ends the call without
    turning it Dangling, and its campaign's in-flight count is released once, not twice."""
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=["+14155550200"])
    clock = VirtualClock(START)
    ghost = make_engine(db, clock, latency={"connected": 20}, talk_seconds=3600)
    ghost.worker_id = "ghost"
    ghost.register()
    ghost.step()  # dials
    clock.sleep_until(START + timedelta(seconds=20))
    ghost.step()  # records the answer; the end never comes: the worker is gone
    assert states(db, campaign) == {"+14155550200": ContactState.CONNECTED}
    assert sweepers.recover_workers(db, me="me", now=LATER, silent_for=SILENT) == 1
    assert _open(db) == 0 and _stopped(db)
    assert states(db, campaign) == {"+14155550200": ContactState.CONNECTED}
    with db.transaction() as session:
        (attempt,) = session.scalars(select(Attempt)).all()
        assert attempt.outcome is not None and attempt.outcome.value == "connected"
        assert attempt.raw_result == "200 OK"
        assert attempt.answered_at == START + timedelta(seconds=20)
        assert attempt.ended_at == LATER
        in_flight = session.scalar(
            text("SELECT in_flight FROM campaigns WHERE id = :id"), {"id": campaign}
        )
        assert in_flight == 0
