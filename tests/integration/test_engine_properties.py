"""Engine invariants over random campaigns, on both databases (DESIGN.md, engine invariant 3).

Hypothesis draws a strategy (1-4 attempts, random rules and delays, a cap of 1-6), a schedule
(random weekday windows, blackout dates, a zone with or without daylight saving, contact-local
or not), contacts in several countries whose last digits pick the simulator's outcome, DNC
entries added before and while the engine runs, and a start just before a daylight-saving
change. The real engine then runs for three simulated days on a virtual clock, and the
attempts table is checked against an independent oracle: the schedule's ``Calendar`` and the
number's zones by phonenumbers' public ``time_zones_for_number`` (tests/zone_oracle.py, not
the product's ``zones_for``), the DNC entries with the moment each was added, and the cap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from outbound.campaigns.schemas import CampaignCreate
from outbound.campaigns.service import create_campaign, start_campaign
from outbound.campaigns.types import CampaignType, ContactOrder
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.schemas import ContactCreate
from outbound.contacts.service import add_contact
from outbound.contacts.states import CLOSED_STATES, ContactState
from outbound.db.engine import Database
from outbound.dnc.service import add_number
from outbound.engine.clock import VirtualClock
from outbound.engine.decisions import number_for
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt, Campaign, Contact, DncEntry
from outbound.schedules.calendar import Calendar
from outbound.schedules.schemas import BlackoutIn, ScheduleIn, WindowIn
from outbound.schedules.service import create_schedule
from outbound.schedules.windows import Weekday, format_time
from outbound.settings.schemas import SettingsUpdate
from outbound.settings.service import update_settings
from outbound.strategies.outcomes import (
    SMS_RULE_OUTCOMES,
    VOICE_RULE_OUTCOMES,
    Channel,
    Outcome,
    RuleAction,
    SmsMode,
)
from outbound.strategies.schemas import AttemptIn, RuleIn
from outbound.strategies.service import create_strategy
from tests.conftest import _clean
from tests.zone_oracle import oracle_zones

SPAN = timedelta(days=3)
# Time jumps from event to event (at most an hour). Nothing about the campaign changes while
# it runs, so its runtime is reloaded hourly instead of every two seconds: a third faster.
TIMING = Timing(idle=timedelta(hours=1), refresh=timedelta(hours=1), heartbeat=timedelta(hours=1))
MAX_STEPS = 4000
ZONES = (
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/Paris",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
)
# Moments of daylight-saving changes in 2026 (UTC): US and EU spring forward and fall back,
# Australia's fall back and spring forward.
DST_CHANGES = (
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 3, 16, 0, tzinfo=UTC),
)
# Valid numbers in different zones. Geographic: New York, Los Angeles, Chicago, Honolulu,
# Toronto, London, Paris, Sydney, +61 8 (Adelaide or Perth), Moscow, the Canaries, and mobiles
# placed by their prefix (Mexico City, Jakarta, Sao Paulo). Mobile or non-geographic, so in
# any zone of their country: Australia, Russia, Kazakhstan, Spain, New Zealand, Ecuador,
# Jamaica (+1 is shared: not Hawaii) and a US toll-free number (any US zone).
PREFIXES = (
    "+1212736",
    "+1415736",
    "+1312736",
    "+1808736",
    "+1647374",
    "+44207946",
    "+3314268",
    "+6129374",
    "+6189374",
    "+7495123",
    "+3492812",
    "+52551234",
    "+62812345",
    "+551198765",
    "+6141234",
    "+7916123",
    "+7701123",
    "+3461234",
    "+6421123",
    "+59399123",
    "+1876210",
    "+1800555",
)
# The simulators' plan by the last three digits (connected, busy, no answer, invalid, network
# error, declined, answering machine, never answers; SMS reply, STOP, rejected), and two codes
# outside the plan, drawn at random.
CODES = ("200", "486", "480", "404", "503", "603", "700", "999", "555", "556", "998", "123", "777")
SMS_ODDS = {
    "reject_probability": 0.05,
    "delivery_probability": 0.9,
    "reply_probability": 0.2,
    "stop_probability": 0.1,
}


@dataclass
class Scenario:
    kind: CampaignType
    cap: int
    attempts: list[AttemptIn]
    zone: str
    contact_local: bool
    windows: list[tuple[int, int, int]]  # weekday, start minute, end minute
    blackouts: list[date]
    start: datetime
    contacts: list[tuple[str, str | None]]  # phone1, phone2
    dnc_before: list[tuple[str, bool]]  # number, campaign scope (else global)
    dnc_during: list[tuple[int, str, bool]]  # engine step, number, campaign scope
    max_concurrent: int
    calls_per_second: float
    order: ContactOrder
    fresh_first: bool
    seed: int
    channels: list[Channel] = field(default_factory=list)


numbers = st.builds(
    lambda p, d, c: f"{p}{d}{c}",
    st.sampled_from(PREFIXES),
    st.integers(0, 9),
    st.sampled_from(CODES),
)


@st.composite
def rules_for(draw: st.DrawFn, channel: Channel, positions: int) -> dict[str, RuleIn]:
    outcomes = VOICE_RULE_OUTCOMES if channel is Channel.VOICE else SMS_RULE_OUTCOMES
    chosen = draw(st.lists(st.sampled_from(outcomes), unique=True, max_size=4))
    rules: dict[str, RuleIn] = {}
    for outcome in chosen:
        if outcome is Outcome.CONNECTED:
            rules[outcome.value] = RuleIn(action=RuleAction.CLOSE)
            continue
        action = draw(st.sampled_from(list(RuleAction)))
        if action is RuleAction.CLOSE:
            rules[outcome.value] = RuleIn(action=action)
            continue
        delay = draw(st.sampled_from([0, 1, 5, 30, 90, 240, 720]))
        target = draw(st.integers(1, positions)) if action is RuleAction.GOTO else None
        rules[outcome.value] = RuleIn(action=action, delay_minutes=delay, attempt=target)
    return rules


@st.composite
def attempt_for(draw: st.DrawFn, channel: Channel, positions: int) -> AttemptIn:
    rules = draw(rules_for(channel, positions))
    slot = draw(st.sampled_from([1, 1, 2]))
    if channel is Channel.VOICE:
        return AttemptIn(channel=channel, phone_slot=slot, rules=rules)
    return AttemptIn(
        channel=channel,
        phone_slot=slot,
        sms_expiry_minutes=draw(st.sampled_from([None, 15, 60, 300])),
        sms_mode=draw(st.sampled_from([None, SmsMode.AWAIT_REPLY, SmsMode.SEND_AND_CLOSE])),
        rules=rules,
    )


@st.composite
def day_windows(draw: st.DrawFn) -> list[tuple[int, int, int]]:
    """Per weekday none, one or two windows on 15-minute marks; wide enough to be met often,
    and starting anywhere, so some begin or end inside a daylight-saving gap or repeated hour."""
    windows = []
    for weekday in range(7):
        count = draw(st.sampled_from([1, 2, 0, 1]))
        start = draw(st.integers(0, 80)) * 15
        for _ in range(count):
            if start >= 1440:
                break
            end = min(1440, start + draw(st.integers(4, 56)) * 15)
            windows.append((weekday, start, end))
            start = end + draw(st.integers(0, 16)) * 15
    return windows


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    kind = draw(st.sampled_from([CampaignType.AGENT, CampaignType.IVR, CampaignType.SMS]))
    size = draw(st.integers(1, 4))
    channels = [
        Channel.SMS if kind is CampaignType.SMS else draw(st.sampled_from(list(Channel)))
        for _ in range(size)
    ]
    attempts = [draw(attempt_for(c, size)) for c in channels]
    start = draw(st.sampled_from(DST_CHANGES)) - timedelta(minutes=draw(st.integers(0, 60 * 60)))
    first_day = start.date() - timedelta(days=1)
    blackouts = draw(
        st.lists(
            st.integers(0, 4).map(lambda d: first_day + timedelta(days=d)), unique=True, max_size=2
        )
    )
    phone1s = draw(st.lists(numbers, min_size=2, max_size=7, unique=True))
    contacts = [(p, draw(st.one_of(st.none(), numbers))) for p in phone1s]
    everyone = sorted({n for pair in contacts for n in pair if n})
    scope = st.booleans()
    return Scenario(
        kind=kind,
        cap=draw(st.integers(1, 6)),
        attempts=attempts,
        channels=channels,
        zone=draw(st.sampled_from(ZONES)),
        contact_local=draw(st.booleans()),
        windows=draw(day_windows()),
        blackouts=blackouts,
        start=start,
        contacts=contacts,
        dnc_before=draw(st.lists(st.tuples(st.sampled_from(everyone), scope), max_size=2)),
        dnc_during=draw(
            st.lists(st.tuples(st.integers(1, 60), st.sampled_from(everyone), scope), max_size=3)
        ),
        max_concurrent=draw(st.integers(1, 10)),
        calls_per_second=draw(st.sampled_from([0.5, 2.0, 20.0])),
        order=draw(st.sampled_from(list(ContactOrder))),
        fresh_first=draw(st.booleans()),
        seed=draw(st.integers(0, 1000)),
    )


def set_up(db: Database, sc: Scenario) -> int:
    """The scenario's campaign, started, with its contacts and first DNC entries."""
    now = sc.start
    with db.transaction() as session:
        strategy = create_strategy(
            session, name="prop", description="", max_attempts=sc.cap, attempts=sc.attempts
        )
        schedule = create_schedule(
            session,
            ScheduleIn(
                name="prop",
                time_zone=sc.zone,
                contact_local_time=sc.contact_local,
                windows=[
                    WindowIn(day=Weekday.of(d), start=format_time(s), end=format_time(e))
                    for d, s, e in sc.windows
                ],
                blackouts=[BlackoutIn(date=d) for d in sc.blackouts],
            ),
            now=now,
        )
        campaign = create_campaign(
            session,
            CampaignCreate(
                name="prop-campaign",
                type=sc.kind,
                strategy_id=strategy.id,
                schedule_id=schedule.id,
                dialer_target="queue",
                sms_template="Hello {param1}",
                contact_order=sc.order,
                fresh_first=sc.fresh_first,
                max_concurrent_calls=sc.max_concurrent,
                max_calls_per_second=sc.calls_per_second,
            ),
            now=now,
        )
        for phone1, phone2 in sc.contacts:
            add_contact(
                session, str(campaign.id), ContactCreate(phone1=phone1, phone2=phone2), now=now
            )
        for number, own in sc.dnc_before:
            listed(session, number, campaign.id if own else None, now)
        start_campaign(session, campaign, now=now)
        return campaign.id


def listed(session: Any, number: str, campaign_id: int | None, now: datetime) -> None:
    add_number(session, number, campaign_id=campaign_id, source="manual", note="", now=now)


def run(
    db: Database,
    sc: Scenario,
    campaign: int,
    *,
    span: timedelta = SPAN,
    max_steps: int = MAX_STEPS,
    dialer_options: dict[str, Any] | None = None,
    sms_options: dict[str, Any] | None = None,
) -> dict[tuple[str, int | None], int]:
    """Run the engine over the span, adding DNC entries between steps.

    Returns, per entry the test added (number, campaign or None), the highest attempt id at
    that moment: any later attempt to the number breaks the rule.
    """
    clock = VirtualClock(sc.start)
    dialer_options = dialer_options or {"seed": sc.seed, "jitter": 0.2}
    dialer = build_dialer("simulator", dialer_options, clock)
    sms = build_sms_gateway("simulator", sms_options or {"seed": sc.seed, **SMS_ODDS}, clock)
    engine = Engine(
        db,
        clock=clock,
        dialer=dialer,
        sms=sms,
        worker_id="prop-worker",
        timing=TIMING,
    )
    engine.register()
    watermarks = {(n, campaign if own else None): 0 for n, own in sc.dnc_before}
    steps = 0
    while clock.now() < sc.start + span:
        steps += 1
        assert steps < max_steps, f"the engine does not advance past {clock.now()}"
        for at, number, own in sc.dnc_during:
            if at == steps:
                with db.transaction() as session:
                    mark = session.scalar(select(func.max(Attempt.id))) or 0
                    listed(session, number, campaign if own else None, clock.now())
                watermarks.setdefault((number, campaign if own else None), mark)
        clock.sleep_until(engine.step())
    return watermarks


def check_windows(sc: Scenario, attempts: list[Attempt]) -> None:
    calendar = Calendar.build(sc.windows, sc.blackouts)
    for a in attempts:
        zones = (oracle_zones(a.phone_number) or (sc.zone,)) if sc.contact_local else (sc.zone,)
        assert calendar.open_in_all(a.sent_at, zones), (
            f"attempt {a.id} to {a.phone_number} at {a.sent_at} is outside the window in {zones}"
        )


def check_dnc(
    attempts: list[Attempt],
    entries: list[DncEntry],
    watermarks: dict[tuple[str, int | None], int],
) -> None:
    for entry in entries:
        key = (entry.number_e164, entry.campaign_id)
        for a in attempts:
            if a.phone_number != entry.number_e164:
                continue
            if key in watermarks:
                assert a.id <= watermarks[key], f"attempt {a.id} to {key} after it was listed"
            else:  # listed by the engine itself (a STOP reply), at its own clock
                assert entry.source == "sms_stop"
                assert a.sent_at <= entry.created_at, f"attempt {a.id} after {key}'s STOP"


def check_contacts(
    sc: Scenario, contacts: list[Contact], attempts: list[Attempt], listed: set[str]
) -> None:
    by_contact: dict[int, list[Attempt]] = {}
    for a in attempts:
        by_contact.setdefault(a.contact_id, []).append(a)
    for c in contacts:
        mine = sorted(by_contact.get(c.id, []), key=lambda a: a.id)
        where = f"contact {c.id} ({c.phone1_e164}, {c.state.value}, {len(mine)} attempts)"
        assert len(mine) <= sc.cap, f"{where} is over the cap {sc.cap}"
        assert [a.number for a in mine] == list(range(1, len(mine) + 1)), where
        assert c.attempt_count == len(mine), where
        if mine:
            assert c.last_attempt_id == mine[-1].id, where
        phones = [getattr(c, f"phone{i}_e164") for i in range(1, 6)]
        for a in mine:
            step = sc.attempts[a.strategy_position - 1]
            assert a.channel is sc.channels[a.strategy_position - 1], where
            assert (a.phone_slot, a.phone_number) == number_for(phones, step.phone_slot), where
        if c.state in CLOSED_STATES:
            assert c.closed_at is not None and c.next_attempt_at is None, where
        else:
            assert c.closed_at is None, where
        if c.state in (ContactState.PENDING, ContactState.SMS_SENT):
            assert c.next_attempt_at is not None, where
        if c.state is ContactState.SENT_TO_DIALER:
            assert mine and mine[-1].ended_at is None, where
        if c.state is ContactState.SMS_SENT:
            assert mine and mine[-1].channel is Channel.SMS, where
        if c.state is ContactState.CONNECTED:
            assert mine and mine[-1].outcome is Outcome.CONNECTED, where
        if c.state is ContactState.SMS_RESPONDED:
            assert mine and mine[-1].outcome is Outcome.SMS_REPLY, where
        if c.state is ContactState.DNC_LISTED:
            assert listed & {p for p in phones if p}, where
        if c.state is ContactState.DANGLING:
            assert mine and mine[-1].outcome is None and mine[-1].ended_at is not None, where


def check_pacing(sc: Scenario, attempts: list[Attempt]) -> None:
    """Never more in the channels' hands than max concurrent, never faster than calls/s.

    An attempt counts as in flight from ``sent_at`` to ``ended_at``; the engine frees its slot
    no earlier than that, so this count can only be lower than the engine's own.
    """
    for a in attempts:
        busy = sum(1 for b in attempts if b.sent_at <= a.sent_at and not _ended(b, a.sent_at))
        assert busy <= sc.max_concurrent, f"{busy} in flight at {a.sent_at}"
    burst = max(1.0, sc.calls_per_second)
    times = sorted(a.sent_at for a in attempts)
    for span in (timedelta(seconds=1), timedelta(seconds=30)):
        allowed = burst + sc.calls_per_second * span.total_seconds() + 1e-6
        for i, t in enumerate(times):
            started = sum(1 for u in times[i:] if u < t + span)
            assert started <= allowed, f"{started} attempts in {span} from {t}"


def _ended(attempt: Attempt, at: datetime) -> bool:
    return attempt.ended_at is not None and attempt.ended_at <= at


def test_every_number_drawn_is_valid_and_placed_by_phonenumbers() -> None:
    """The window oracle falls back to the campaign's zone only for numbers it cannot place,
    as the dispatcher does; none of the numbers drawn is one."""
    for prefix in PREFIXES:
        for digit in range(10):
            for code in CODES:
                number = f"{prefix}{digit}{code}"
                assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
                assert oracle_zones(number), number


@settings(
    max_examples=int(os.environ.get("OUTBOUND_PROPERTY_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sc=scenarios())
def test_engine_invariants_hold_for_random_campaigns(db: Database, sc: Scenario) -> None:
    _clean(db)  # one example's rows (and global DNC entries) must not leak into the next
    campaign = set_up(db, sc)
    watermarks = run(db, sc, campaign)
    with db.transaction() as session:
        attempts = list(session.scalars(select(Attempt).where(Attempt.campaign_id == campaign)))
        contacts = list(session.scalars(select(Contact).where(Contact.campaign_id == campaign)))
        entries = list(
            session.scalars(
                select(DncEntry).where(
                    (DncEntry.campaign_id.is_(None)) | (DncEntry.campaign_id == campaign)
                )
            )
        )
        in_flight = session.get(Campaign, campaign).in_flight  # type: ignore[union-attr]
    check_windows(sc, attempts)
    check_dnc(attempts, entries, watermarks)
    check_contacts(sc, contacts, attempts, {e.number_e164 for e in entries})
    check_pacing(sc, attempts)
    if sc.kind is CampaignType.SMS:
        assert {a.channel for a in attempts} <= {Channel.SMS}
    assert in_flight == sum(1 for a in attempts if a.ended_at is None)


# Regressions (found while building the forecast): the sweeps run at most once a second, and the
# engine used to wake for a dangling call or an SMS expiry that fell just after a sweep, find
# the sweep not yet due, and either spin at that instant for ever (dangling: the virtual
# clock never moved) or sleep a whole idle period (SMS expiry: an hour late).


def fixed(kind: CampaignType, attempt: AttemptIn, phones: list[str]) -> Scenario:
    return Scenario(
        kind=kind,
        cap=1,
        attempts=[attempt],
        channels=[attempt.channel],
        zone="UTC",
        contact_local=False,
        windows=[(day, 0, 1440) for day in range(7)],
        blackouts=[],
        start=DST_CHANGES[0],
        contacts=[(p, None) for p in phones],
        dnc_before=[],
        dnc_during=[],
        max_concurrent=5,
        calls_per_second=20.0,
        order=ContactOrder.FIFO,
        fresh_first=False,
        seed=1,
    )


def closed_after(db: Database, sc: Scenario) -> dict[str, tuple[ContactState, timedelta]]:
    with db.transaction() as session:
        rows = session.execute(select(Contact.phone1_e164, Contact.state, Contact.closed_at))
        return {p: (s, c - sc.start) for p, s, c in rows if c is not None}


def test_a_call_going_dangling_just_after_a_sweep_does_not_stall_the_engine(
    db: Database,
) -> None:
    with db.transaction() as session:
        update_settings(session, SettingsUpdate(dangling_timeout_minutes=5))
    # The connected call's result lands half a second before the lost call's timeout.
    sc = fixed(
        CampaignType.AGENT, AttemptIn(channel=Channel.VOICE), ["+12127361999", "+12127361200"]
    )
    campaign = set_up(db, sc)
    dialer = {"jitter": 0, "latency": {"connected": 299.5}}
    run(db, sc, campaign, span=timedelta(hours=2), max_steps=100, dialer_options=dialer)
    state, after = closed_after(db, sc)["+12127361999"]
    assert state is ContactState.DANGLING
    assert timedelta(minutes=5) <= after <= timedelta(minutes=5, seconds=1)


def test_an_sms_wait_ending_just_after_a_sweep_ends_on_time(db: Database) -> None:
    attempt = AttemptIn(channel=Channel.SMS, sms_expiry_minutes=60)
    sc = fixed(CampaignType.SMS, attempt, ["+12127361200", "+12127361555"])
    campaign = set_up(db, sc)
    # The reply to …555 lands half a second before …200's wait ends.
    sms = {
        "jitter": 0,
        "submit_latency": 0,
        "delivery_latency": 0,
        "reply_latency": 3599.5,
        "reject_probability": 0,
        "delivery_probability": 1,
        "reply_probability": 0,
        "stop_probability": 0,
    }
    run(db, sc, campaign, span=timedelta(hours=3), max_steps=100, sms_options=sms)
    state, after = closed_after(db, sc)["+12127361200"]
    assert state is ContactState.RETRIES_COMPLETED
    assert timedelta(minutes=60) <= after <= timedelta(minutes=60, seconds=1)
