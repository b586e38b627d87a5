"""Recovering a dead worker's calls is complete: nothing it held is left open for good."""

from __future__ import annotations

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
from tests.integration.test_engine_flow import START, make_engine, setup_campaign, states

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
