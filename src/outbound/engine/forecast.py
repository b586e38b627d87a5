"""Forecast: the campaign's real strategy and schedule run over its open contacts, on the
simulator and a virtual clock, in a throw-away SQLite database.

The live database is only read: the campaign, its strategy and schedule, its open
contacts, the DNC entries that apply to their numbers and the engine's settings are copied
(Core inserts in batches, so 100,000 contacts take seconds), and the real ``Engine`` runs
there until every contact is closed or the horizon passes. Nothing is written back.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, event, func, insert, or_, select
from sqlalchemy.orm import Session

from outbound.campaigns.repository import get_by_name_or_ref
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.states import LABELS, OPEN_STATES, ContactState
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.errors import Conflict, NotFound
from outbound.models import (
    Attempt,
    Campaign,
    Contact,
    DncEntry,
    Schedule,
    ScheduleBlackout,
    ScheduleWindow,
    Setting,
    Strategy,
    StrategyAttempt,
    StrategyRule,
)
from outbound.settings.schemas import ChannelConnection
from outbound.settings.service import get_settings

BATCH = 5000
DNC_CHUNK = 1000
# The engine's own settings; the channel connections are not copied (the simulator stands
# in for them) and neither are folders or anything else.
ENGINE_SETTINGS = ("feed_batch_size", "dangling_timeout_minutes", "default_sms_expiry_minutes")
# One worker, nothing else changes the copy: no heartbeat, no recovery, no reload needed.
# Dangling calls and SMS waits are swept within half a minute of their time.
TIMING = Timing(
    idle=timedelta(hours=1),
    refresh=timedelta(days=1),
    sweep=timedelta(seconds=30),
    heartbeat=timedelta(days=1),
    silent_worker=timedelta(days=3650),
)
# Time moves in ticks of this length (see ``TickClock``).
TICK = timedelta(seconds=5)
PHONES = ("phone1_e164", "phone2_e164", "phone3_e164", "phone4_e164", "phone5_e164")
REACHED = (ContactState.CONNECTED, ContactState.SMS_RESPONDED)


class TickClock(VirtualClock):
    """A virtual clock that moves in whole ticks from its start.

    Everything that falls due within a tick is handled at its end, in one engine step, rather
    than one step per result: a forecast of a busy campaign takes a step per tick instead of
    several per call. Nothing happens early (a window opening, a retry's due time), at most
    one tick late. The campaign's calls per second is scaled by the tick in the copy, so a
    tick's step may start a tick's worth of calls: the rate over time stays the campaign's.
    """

    def __init__(self, start: datetime, tick: timedelta = TICK) -> None:
        super().__init__(start)
        self._origin, self._tick = start, tick

    def sleep_until(self, when: datetime, *, wake: threading.Event | None = None) -> None:
        if when > self.now():
            ticks = math.ceil((when - self._origin) / self._tick)
            super().sleep_until(self._origin + ticks * self._tick)


@dataclass(frozen=True)
class Forecast:
    campaign: str
    contacts: int
    start: datetime
    horizon: timedelta
    completed_at: datetime | None  # when the last contact closed; None: not within the horizon
    simulated_until: datetime
    attempts: int
    states: dict[ContactState, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def reached(self) -> int:
        """Contacts reached: connected calls, and SMS replies (SMS campaigns connect no call)."""
        return sum(self.states.get(s, 0) for s in REACHED)

    @property
    def contact_rate(self) -> float:
        return self.reached / self.contacts if self.contacts else 0.0

    @property
    def attempts_per_contact(self) -> float:
        return self.attempts / self.contacts if self.contacts else 0.0

    @property
    def simulated(self) -> timedelta:
        return self.simulated_until - self.start

    @property
    def still_open(self) -> int:
        return sum(n for s, n in self.states.items() if s in OPEN_STATES)


def forecast(
    source: Database,
    campaign: str | int,
    *,
    now: datetime,
    days: int = 30,
    seed: int | None = None,
    max_contacts: int | None = None,
    workdir: Path | None = None,
) -> Forecast:
    """Simulate the campaign (its name, id or ``crm:<id>``; an int is its id) from ``now``
    for at most ``days``; ``source`` is only read. More than ``max_contacts`` open contacts
    is a 409, before anything is copied."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="outbound-forecast-", dir=workdir) as tmp:
        url = f"sqlite:///{Path(tmp) / 'forecast.db'}"
        upgrade_head(url)
        target = Database(url)
        event.listen(target.engine, "connect", _no_sync)  # a scratch copy needs no durability
        try:
            name, campaign_id, channels = _copy(
                source, target, campaign, now=now, max_contacts=max_contacts
            )
            result = _simulate(
                target, campaign_id, channels, now=now, until=now + timedelta(days=days), seed=seed
            )
        finally:
            target.dispose()
    return Forecast(
        campaign=name,
        horizon=timedelta(days=days),
        wall_seconds=time.perf_counter() - began,
        **result,
    )


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


# -- copying ---------------------------------------------------------------------------------
def _copy(
    source: Database,
    target: Database,
    ref: str | int,
    *,
    now: datetime,
    max_contacts: int | None,
) -> tuple[str, int, tuple[ChannelConnection, ChannelConnection]]:
    """Copy what the engine needs; the source session is never flushed nor committed."""
    with source.sessions() as src, target.engine.begin() as dst:
        campaign = _campaign(src, ref)
        if max_contacts is not None:
            _check_size(src, campaign, max_contacts)
        settings = get_settings(src)
        attempt_ids = list(
            src.scalars(
                select(StrategyAttempt.id).where(
                    StrategyAttempt.strategy_id == campaign.strategy_id
                )
            )
        )
        _table(src, dst, Strategy, Strategy.id == campaign.strategy_id)
        _table(src, dst, StrategyAttempt, StrategyAttempt.strategy_id == campaign.strategy_id)
        if attempt_ids:
            _table(src, dst, StrategyRule, StrategyRule.attempt_id.in_(attempt_ids))
        _table(src, dst, Schedule, Schedule.id == campaign.schedule_id)
        _table(src, dst, ScheduleWindow, ScheduleWindow.schedule_id == campaign.schedule_id)
        _table(src, dst, ScheduleBlackout, ScheduleBlackout.schedule_id == campaign.schedule_id)
        _table(
            src,
            dst,
            Campaign,
            Campaign.id == campaign.id,
            running=True,
            max_calls_per_second=campaign.max_calls_per_second * TICK.total_seconds(),
            in_flight=0,
            rate_tokens=0.0,
            rate_at=None,
        )
        _copy_contacts(src, dst, campaign.id, now=now)
        values = settings.model_dump()
        rows = [{"key": k, "value": values[k], "updated_at": now} for k in ENGINE_SETTINGS]
        dst.execute(insert(_t(Setting)), rows)
        src.rollback()
        return campaign.name, campaign.id, (settings.dialer, settings.sms_gateway)


def _campaign(session: Session, ref: str | int) -> Campaign:
    if isinstance(ref, str):
        return get_by_name_or_ref(session, ref)
    found = session.get(Campaign, ref)
    if found is None:
        raise NotFound(f"campaign {ref} not found")
    return found


def _check_size(session: Session, campaign: Campaign, limit: int) -> None:
    query = select(func.count()).where(
        Contact.campaign_id == campaign.id, Contact.state.in_(OPEN_STATES)
    )
    count = session.scalar(query) or 0
    if count > limit:
        raise Conflict(
            f"campaign {campaign.name!r} has {count:,} open contacts; forecasts of more than "
            f"{limit:,} run from the command line: outbound simulate --campaign {campaign.name}"
        )


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _batches(
    src: Session, table: Table, where: ColumnElement[bool]
) -> Iterator[list[dict[str, Any]]]:
    query = select(table).where(where).execution_options(yield_per=BATCH)
    for part in src.execute(query).mappings().partitions():
        yield [dict(row) for row in part]


def _table(
    src: Session, dst: Connection, model: Any, where: ColumnElement[bool], **override: Any
) -> None:
    table = _t(model)
    for rows in _batches(src, table, where):
        dst.execute(insert(table), [row | override for row in rows])


def _copy_contacts(src: Session, dst: Connection, campaign_id: int, *, now: datetime) -> None:
    """Open contacts, as they are (attempts made, next attempt, due time), and the DNC
    entries that block any of their numbers for this campaign.

    A contact in flight (Sent to Dialer, SMS sent and waiting) is open too: its result is not
    known, so the forecast draws it again, as a Pending contact due now at the same step.
    """
    contacts = _t(Contact)
    where = (Contact.campaign_id == campaign_id) & Contact.state.in_(OPEN_STATES)
    copied: set[int] = set()
    for rows in _batches(src, contacts, where):
        for row in rows:
            row.update(import_job_id=None, last_attempt_id=None)
            if row["state"] != ContactState.PENDING:
                row.update(
                    state=ContactState.PENDING,
                    attempt_count=max(0, row["attempt_count"] - 1),
                    next_attempt_at=now,
                )
            row["next_attempt_at"] = row["next_attempt_at"] or now
        dst.execute(insert(contacts), rows)
        numbers = sorted({row[p] for row in rows for p in PHONES if row[p]})
        _copy_dnc(src, dst, campaign_id, numbers, copied)


def _copy_dnc(
    src: Session, dst: Connection, campaign_id: int, numbers: Sequence[str], copied: set[int]
) -> None:
    entries = _t(DncEntry)
    scope = or_(DncEntry.campaign_id.is_(None), DncEntry.campaign_id == campaign_id)
    for start in range(0, len(numbers), DNC_CHUNK):
        chunk = numbers[start : start + DNC_CHUNK]
        query = select(entries).where(DncEntry.number_e164.in_(chunk), scope)
        rows = [dict(r) for r in src.execute(query).mappings() if r["id"] not in copied]
        if rows:
            copied.update(r["id"] for r in rows)
            dst.execute(insert(entries), rows)


# -- running ---------------------------------------------------------------------------------
def _simulate(
    db: Database,
    campaign_id: int,
    channels: tuple[ChannelConnection, ChannelConnection],
    *,
    now: datetime,
    until: datetime,
    seed: int | None,
) -> dict[str, Any]:
    clock = TickClock(now, TICK)
    dialer_conn, sms_conn = channels
    dialer = build_dialer("simulator", _simulator_options(dialer_conn, seed), clock)
    sms = build_sms_gateway("simulator", _simulator_options(sms_conn, seed), clock)
    engine = Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="forecast", timing=TIMING)
    engine.register()
    while clock.now() < until:
        wake = engine.step()
        if wake > clock.now():  # all done at this instant: is anything left at all?
            if not _any_open(db, campaign_id):
                break
            clock.sleep_until(min(wake, until))
    with db.transaction() as session:
        counted = session.execute(
            select(Contact.state, func.count())
            .where(Contact.campaign_id == campaign_id)
            .group_by(Contact.state)
        )
        states: dict[ContactState, int] = {state: count for state, count in counted}
        attempts = session.scalar(select(func.count()).select_from(Attempt)) or 0
        last_closed = session.scalar(select(func.max(Contact.closed_at)))
    done = not any(states.get(s) for s in OPEN_STATES)
    return {
        "contacts": sum(states.values()),
        "start": now,
        "completed_at": (last_closed or now) if done else None,
        "simulated_until": clock.now(),
        "attempts": attempts,
        "states": states,
    }


def _any_open(db: Database, campaign_id: int) -> bool:
    with db.transaction() as session:
        query = select(Contact.id).where(
            Contact.campaign_id == campaign_id, Contact.closed_at.is_(None)
        )
        return session.scalar(query.limit(1)) is not None


def _simulator_options(connection: ChannelConnection, seed: int | None) -> dict[str, Any]:
    """The live simulator's tuning (outcome mix, latencies) if it is the simulator; never its
    ledger, and never ``instant`` (a forecast needs the latencies)."""
    options = dict(connection.options) if connection.kind == "simulator" else {}
    options.pop("ledger_path", None)
    options["instant"] = False
    if seed is not None:
        options["seed"] = seed
    return options


# -- reporting -------------------------------------------------------------------------------
def report_lines(result: Forecast) -> list[str]:
    """The forecast as the CLI prints it."""
    head = (
        f"Forecast for campaign {result.campaign!r}: {result.contacts:,} open contacts, "
        f"from {_stamp(result.start)}"
    )
    if not result.contacts:
        return [head, "  nothing to forecast: the campaign has no open contacts"]
    if result.completed_at is not None:
        after = _span(result.completed_at - result.start)
        completion = f"{_stamp(result.completed_at)} ({after} after the start)"
    else:
        completion = (
            f"not within {result.horizon.days} days ({result.still_open:,} contacts still open)"
        )
    states = ", ".join(
        f"{LABELS[state]} {count:,}"
        for state, count in sorted(result.states.items(), key=lambda kv: -kv[1])
    )
    speed = result.simulated.total_seconds() / max(result.wall_seconds, 1e-9)
    return [
        head,
        f"  projected completion: {completion}",
        f"  contact rate:         {result.contact_rate:.1%} ({result.reached:,} reached)",
        f"  attempts per contact: {result.attempts_per_contact:.2f} ({result.attempts:,} attempts)",
        f"  final states:         {states}",
        f"  simulated {_span(result.simulated)} in {result.wall_seconds:.1f} s of wall time "
        f"({speed:,.0f}x real time)",
    ]


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    text = f"{rest // 60}h{rest % 60:02d}"
    return f"{days}d {text}" if days else text
