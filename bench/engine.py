"""Benchmark: the dialing engine against a bare SQL loop doing the same row work.

In one run, on one PostgreSQL server:

- A template database: migrated, 100 started campaigns (always open; a strategy of two calls
  with at most three attempts, every unanswered outcome retried at once), 1,000,000 pending
  contacts loaded by COPY, a global DNC list holding 0.5 % of them. Contact ``i`` (the
  campaigns taking turns) falls due at ``EPOCH + i / --offered``.
- Per repetition, each phase on a fresh copy of the template (``CREATE DATABASE … TEMPLATE``):

  1. **engine, saturated**: the real ``Engine`` in this process with the ``instant``
     simulator (its default 1,000 lines), on a ``SystemClock`` shifted in time: it runs at
     wall-clock speed, the shift only decides which contacts are due. It starts after every
     due time, so all contacts are due at once. Counted: attempts whose result has been
     recorded (the whole row work), per second over ``--seconds``.
  2. **bare loop**: the same rows by hand on one psycopg connection: claim a batch of due
     contacts of a campaign (``FOR UPDATE SKIP LOCKED``), insert their attempts and mark them
     sent (one statement, one commit), then write a drawn outcome to each attempt and
     contact (another commit), campaign after campaign. No pacing, DNC gate, window,
     fairness or channel.
  3. **engine, offered load**: the shifted clock starts at ``EPOCH``, so contacts fall due at
     ``--offered`` per second while the engine runs; the delay from due to dispatched is
     ``attempt.sent_at`` minus the contact's due time (a retry is due when the previous
     attempt's result arrived: its rule waits 0 minutes).

With ``--webhooks``, a fourth phase per repetition: the saturated engine again, with one
webhook subscription to every event of every campaign (the outbox written, nothing
delivered); its rate against phase 1's is the outbox's cost.

Prints each repetition (with this process's CPU time per 1,000 attempts: the engine's
Python, the simulator included, against the bare loop's), then the medians of ``--repeat``
repetitions, the ratio engine / bare loop (goal: at least 0.5) and the p99 of due ->
dispatched (goal: under 1 s). The machine's other load moves every figure; the phases are
interleaved so that it moves both sides of the ratio alike.

    .venv/bin/python bench/engine.py [--contacts 1000000] [--campaigns 100] [--seconds 20]
        [--repeat 3] [--offered 1000] [--profile engine.prof] [--webhooks]

Everything lives in databases named ``outbound_bench_engine_<hex>_…``, dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from outbound.bootstrap import seed
from outbound.campaigns.schemas import CampaignCreate
from outbound.campaigns.service import create_campaign, start_campaign
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.channels.simulator.config import DEFAULT_WEIGHTS
from outbound.channels.simulator.plan import NEVER_ANSWERS, SMS_PLAN, VOICE_PLAN, VOICE_RAW
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.engine.clock import SystemClock
from outbound.engine.worker import Engine
from outbound.schedules.schemas import ScheduleIn
from outbound.schedules.service import create_schedule
from outbound.strategies.outcomes import Outcome
from outbound.strategies.schemas import AttemptIn
from outbound.strategies.service import create_strategy

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EPOCH = datetime(2031, 1, 6, tzinfo=UTC)  # due times are laid out from here
MAX_ATTEMPTS = 3
RETRIED_NEXT = (
    Outcome.BUSY,
    Outcome.NO_ANSWER,
    Outcome.ANSWERING_MACHINE,
    Outcome.CUSTOMER_ABANDONED,
    Outcome.DIALER_ABANDONED,
)
BATCH = 500  # the engine's default feed batch size
LINES = 1000  # the simulator's lines (its default): a round hands over at most this many
SUMMARY: dict[str, str] = {}


class ShiftedClock(SystemClock):
    """The wall clock moved to ``start``: time runs at real speed from there."""

    def __init__(self, start: datetime) -> None:
        self._shift = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._shift


# --- databases ----------------------------------------------------------------------------


class Server:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.prefix = f"outbound_bench_engine_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, suffix: str, *, template: str | None = None) -> str:
        name = f"{self.prefix}_{suffix}"
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.made:
            self.made.remove(name)

    def close(self) -> None:
        for name in list(self.made):
            self.drop(name)
        self.admin.dispose()


@contextmanager
def copy_of(server: Server, template: str, suffix: str) -> Iterator[str]:
    name = server.create(suffix, template=template)
    try:
        yield server.url(name)
    finally:
        server.drop(name)


def psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --- the template ---------------------------------------------------------------------------


def make_campaigns(db: Database, count: int) -> list[int]:
    now = datetime.now(UTC)
    with db.transaction() as session:
        seed(session)
        retry_now = {o.value: {"action": "next", "delay_minutes": 0} for o in RETRIED_NEXT}
        retry_now["network_error"] = {"action": "retry", "delay_minutes": 0}
        strategy = create_strategy(
            session,
            name="bench-two-calls",
            description="",
            max_attempts=MAX_ATTEMPTS,
            attempts=[AttemptIn.model_validate({"channel": "voice", "rules": retry_now})] * 2,
        )
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        schedule = create_schedule(
            session,
            ScheduleIn.model_validate(
                {
                    "name": "bench-always",
                    "time_zone": "UTC",
                    "windows": [{"day": d, "start": "00:00", "end": "24:00"} for d in days],
                }
            ),
            now=now,
        )
        ids = []
        for n in range(count):
            data = CampaignCreate.model_validate(
                {
                    "name": f"bench-{n:03d}",
                    "type": "agent",
                    "strategy_id": strategy.id,
                    "schedule_id": schedule.id,
                    "dialer_target": "sales",
                    "max_concurrent_calls": 10_000,
                    "max_calls_per_second": 1000.0,
                }
            )
            campaign = create_campaign(session, data, now=now)
            start_campaign(session, campaign, now=now)
            ids.append(campaign.id)
        return ids


def free_codes() -> list[str]:
    """Last three digits the simulator's plan leaves to the weighted draw."""
    planned = set(VOICE_PLAN) | set(SMS_PLAN) | {NEVER_ANSWERS}
    return [f"{i:03d}" for i in range(1000) if f"{i:03d}" not in planned]


def load_contacts(url: str, campaigns: list[int], contacts: int, offered: float) -> None:
    """COPY the contacts in, the campaigns taking turns; contact ``i`` falls due at
    ``EPOCH + i / offered`` (kept in param12 too), so within a campaign the due order is the
    upload order, as when uploads arrive over time."""
    rng = random.Random(42)
    codes = free_codes()
    now = datetime.now(UTC)
    columns = (
        "campaign_id, import_seq, phone1, phone1_e164, param1, param12, state, "
        "next_attempt_at, next_position, attempt_count, created_at, updated_at"
    )
    dnc: list[str] = []
    with psycopg.connect(psycopg_dsn(url)) as conn:
        with conn.cursor() as cursor, cursor.copy(f"COPY contacts ({columns}) FROM STDIN") as copy:
            for i in range(contacts):
                campaign = campaigns[i % len(campaigns)]
                number = f"+1{2_000_000 + i // len(codes):07d}{codes[i % len(codes)]}"
                due = EPOCH + timedelta(seconds=i / offered)
                copy.write_row(
                    (
                        campaign,
                        i // len(campaigns) + 1,
                        number,
                        number,
                        f"C{i}",
                        due.isoformat(),
                        "pending",
                        due,
                        1,
                        0,
                        now,
                        now,
                    )
                )
                if rng.random() < 0.005:
                    dnc.append(number)
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY dnc_entries (number_e164, raw, source, note, created_at) FROM STDIN"
            ) as copy,
        ):
            for number in dnc:
                copy.write_row((number, number, "bench", "", now))
        per_campaign = (contacts + len(campaigns) - 1) // len(campaigns)
        conn.execute("UPDATE campaigns SET import_seq = %s", (per_campaign,))
        conn.commit()
    with psycopg.connect(psycopg_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def build_template(server: Server, args: argparse.Namespace) -> str:
    name = server.create("template")
    url = server.url(name)
    started = time.perf_counter()
    upgrade_head(url)
    db = Database(url)
    try:
        campaigns = make_campaigns(db, args.campaigns)
    finally:
        db.dispose()
    load_contacts(url, campaigns, args.contacts, args.offered)
    print(
        f"template: {args.contacts:,} contacts in {args.campaigns} campaigns, "
        f"built in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return name


# --- the engine -----------------------------------------------------------------------------


@dataclass
class EngineRun:
    attempts: int
    seconds: float
    delays: list[float]  # due -> dispatched, seconds
    retry_delays: list[float]  # the same, for attempts after the first
    cpu: float = 0.0  # this process's CPU seconds (the database's not included)

    @property
    def rate(self) -> float:
        return self.attempts / self.seconds


def run_engine(url: str, *, start: datetime, seconds: float, profile: str | None) -> EngineRun:
    db = Database(url)
    clock = ShiftedClock(start)
    options = {"instant": True, "seed": 7, "capacity": LINES}
    engine = Engine(
        db,
        clock=clock,
        dialer=build_dialer("simulator", options, clock),
        sms=build_sms_gateway("simulator", options, clock),
        worker_id="bench",
    )
    with db.transaction() as session:  # connect before the clock starts
        session.execute(text("SELECT 1"))
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    began, cpu = time.perf_counter(), time.process_time()
    engine.run(until=lambda: time.perf_counter() - began >= seconds)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    with db.transaction() as session:
        # Attempts whose result has been recorded: the whole row work, as the bare loop does it.
        attempts = (
            session.scalar(text("SELECT count(*) FROM attempts WHERE ended_at IS NOT NULL")) or 0
        )
        rows = session.execute(text(DELAYS)).all()
    db.dispose()
    delays = [d for _, d in rows]
    return EngineRun(attempts, elapsed, delays, [d for n, d in rows if n > 1], cpu)


# A first attempt was due at the contact's due time (param12); a retry when the previous
# attempt's result came in (its rule waits 0 minutes).
DELAYS = """
SELECT a.number, extract(epoch FROM a.sent_at - coalesce(p.ended_at, c.param12::timestamptz))::float
FROM attempts a
JOIN contacts c ON c.id = a.contact_id
LEFT JOIN attempts p ON p.contact_id = a.contact_id AND p.number = a.number - 1
"""


# --- the bare loop --------------------------------------------------------------------------

CLAIM = """
WITH claimed AS (
    SELECT id, next_position, attempt_count, phone1_e164 FROM contacts
    WHERE campaign_id = %(campaign)s AND state = 'pending' AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at, import_seq
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), sent AS (
    INSERT INTO attempts (contact_id, campaign_id, number, strategy_position, channel,
                          phone_slot, phone_number, sent_at, worker_id)
    SELECT id, %(campaign)s, attempt_count + 1, next_position, 'voice', 1, phone1_e164,
           %(now)s, 'bare'
    FROM claimed
    RETURNING id, contact_id, number, strategy_position
)
UPDATE contacts c
SET state = 'sent_to_dialer', request_time = %(now)s, number_to_call = c.phone1_e164,
    attempt_count = sent.number, next_attempt_at = NULL, last_attempt_id = sent.id
FROM sent WHERE c.id = sent.contact_id
RETURNING sent.id, sent.contact_id, sent.number, sent.strategy_position
"""
END_ATTEMPTS = """
UPDATE attempts a SET ended_at = %(now)s, outcome = r.outcome, raw_result = r.raw
FROM unnest(%(ids)b::bigint[], %(outcomes)b::text[], %(raws)b::text[]) AS r(id, outcome, raw)
WHERE a.id = r.id
"""
DECIDE_CONTACTS = """
UPDATE contacts c
SET state = r.state, last_outcome = r.outcome, next_position = r.position,
    next_attempt_at = r.due, closed_at = r.closed
FROM unnest(%(contacts)b::bigint[], %(states)b::text[], %(outcomes)b::text[],
            %(positions)b::int[], %(dues)b::timestamptz[], %(closed)b::timestamptz[])
     AS r(id, state, outcome, position, due, closed)
WHERE c.id = r.id
"""


class Outcomes:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.outcomes = list(DEFAULT_WEIGHTS)
        self.weights = list(DEFAULT_WEIGHTS.values())

    def draw(self, count: int) -> list[Outcome]:
        return self.rng.choices(self.outcomes, self.weights, k=count)


def decide_bare(outcome: Outcome, number: int, position: int) -> tuple[str, int]:
    """The bench strategy's rule, inline: (state, next position)."""
    if outcome is Outcome.CONNECTED:
        return "connected", position
    if outcome is Outcome.NETWORK_ERROR and number < MAX_ATTEMPTS:
        return "pending", position
    if outcome in RETRIED_NEXT:
        if position < 2 and number < MAX_ATTEMPTS:
            return "pending", position + 1
        return "retries_completed", position
    return "not_connected", position


def run_bare(url: str, campaigns: list[int], *, start: datetime, seconds: float) -> EngineRun:
    clock = ShiftedClock(start)
    draw = Outcomes(7)
    made = 0
    with psycopg.connect(psycopg_dsn(url)) as conn:
        began, cpu = time.perf_counter(), time.process_time()
        while time.perf_counter() - began < seconds:
            for campaign in campaigns:
                now = clock.now()
                sent = conn.execute(
                    CLAIM, {"campaign": campaign, "now": now, "limit": BATCH}
                ).fetchall()
                conn.commit()
                if not sent:
                    continue
                made += len(sent)
                outcomes = draw.draw(len(sent))
                decided = [
                    decide_bare(o, n, p) for o, (_, _, n, p) in zip(outcomes, sent, strict=True)
                ]
                now = clock.now()
                ids = [s[0] for s in sent]
                conn.execute(
                    END_ATTEMPTS,
                    {
                        "now": now,
                        "ids": ids,
                        "outcomes": [o.value for o in outcomes],
                        "raws": [VOICE_RAW[o] for o in outcomes],
                    },
                )
                conn.execute(
                    DECIDE_CONTACTS,
                    {
                        "contacts": [s[1] for s in sent],
                        "states": [s for s, _ in decided],
                        "outcomes": [o.value for o in outcomes],
                        "positions": [p for _, p in decided],
                        "dues": [now if s == "pending" else None for s, _ in decided],
                        "closed": [None if s == "pending" else now for s, _ in decided],
                    },
                )
                conn.commit()
                if time.perf_counter() - began >= seconds:
                    break
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return EngineRun(made, elapsed, [], [], cpu)


# --- the run --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def subscribe(url: str) -> None:
    """A subscription to every event of every campaign (its URL is never called here)."""
    with psycopg.connect(psycopg_dsn(url)) as conn:
        conn.execute(
            "INSERT INTO webhook_subscriptions (name, url, secret, campaign_id, state_changes,"
            " attempt_results, active, created_at, updated_at) VALUES ('bench',"
            " 'http://127.0.0.1:9/', 'bench-secret-0123456789', NULL, true, true, true,"
            " now(), now())"
        )


def count_events(url: str) -> int:
    with psycopg.connect(psycopg_dsn(url)) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_events").fetchone()
        return int(row[0]) if row else 0


def campaign_ids(url: str) -> list[int]:
    with psycopg.connect(psycopg_dsn(url)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM campaigns WHERE running ORDER BY id")]


def repetition(server: Server, template: str, args: argparse.Namespace, n: int) -> dict[str, Any]:
    after_all = EPOCH + timedelta(seconds=args.contacts / args.offered + 60)
    profile = args.profile if (args.profile and n == 0) else None
    with copy_of(server, template, f"engine{n}") as url:
        saturated = run_engine(url, start=after_all, seconds=args.seconds, profile=profile)
    with copy_of(server, template, f"bare{n}") as url:
        bare = run_bare(url, campaign_ids(url), start=after_all, seconds=args.seconds)
    with copy_of(server, template, f"offered{n}") as url:
        offered = run_engine(url, start=EPOCH, seconds=args.seconds, profile=None)
    hooked, hooked_events = None, 0
    if args.webhooks:
        with copy_of(server, template, f"webhooks{n}") as url:
            subscribe(url)
            hooked = run_engine(url, start=after_all, seconds=args.seconds, profile=None)
            hooked_events = count_events(url)
    row = {
        "engine_cpu": saturated.cpu / saturated.attempts * 1000,
        "bare_cpu": bare.cpu / bare.attempts * 1000,
        "engine": saturated.rate,
        "bare": bare.rate,
        "ratio": saturated.rate / bare.rate,
        "offered_rate": offered.rate,
        "p50": percentile(offered.delays, 0.50),
        "p99": percentile(offered.delays, 0.99),
        "max": max(offered.delays, default=float("nan")),
        "saturated_p99": percentile(saturated.retry_delays, 0.99),
    }
    if hooked is not None:
        row["webhooks"] = hooked.rate
        row["webhooks_ratio"] = hooked.rate / saturated.rate
        row["webhooks_cpu"] = hooked.cpu / hooked.attempts * 1000
        print(
            f"  run {n + 1}: engine with a webhook subscription {hooked.rate:7,.0f}/s "
            f"({hooked_events:,} events written), {row['webhooks_ratio']:.2f} of the engine "
            f"without; client CPU per 1000: {row['webhooks_cpu'] * 1000:.0f} ms",
            flush=True,
        )
    print(
        f"  run {n + 1}: engine {row['engine']:7,.0f}/s  bare {row['bare']:7,.0f}/s  "
        f"ratio {row['ratio']:.2f}   offered {args.offered:,.0f}/s -> {row['offered_rate']:,.0f}"
        f"/s, due->dispatched p50 {row['p50']:.3f} s p99 {row['p99']:.3f} s "
        f"max {row['max']:.3f} s   client CPU per 1000: engine {row['engine_cpu'] * 1000:.0f} ms"
        f", bare {row['bare_cpu'] * 1000:.0f} ms",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--offered", type=float, default=1000.0, help="arrivals per second")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL)
    parser.add_argument("--profile", help="write a cProfile of the first saturated engine run")
    parser.add_argument(
        "--webhooks",
        action="store_true",
        help="also run the saturated engine with a webhook subscription (events written to "
        "the outbox, none delivered): the outbox's cost",
    )
    args = parser.parse_args()
    server = Server(args.pg_url)
    try:
        template = build_template(server, args)
        rows = [repetition(server, template, args, n) for n in range(args.repeat)]
    finally:
        server.close()

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    SUMMARY.update(
        {
            "engine, saturated": f"{median('engine'):,.0f} attempts/s",
            "bare SQL loop": f"{median('bare'):,.0f} attempts/s",
            "ratio engine / bare": f"{median('ratio'):.2f}  (goal >= 0.5)",
            f"engine at {args.offered:,.0f} due/s": f"{median('offered_rate'):,.0f} attempts/s",
            "due -> dispatched p50": f"{median('p50') * 1000:,.0f} ms",
            "due -> dispatched p99": f"{median('p99') * 1000:,.0f} ms  (goal < 1000)",
            "retry due -> dispatched p99, saturated": f"{median('saturated_p99'):,.1f} s",
        }
    )
    if args.webhooks:
        SUMMARY["engine with webhooks / without"] = (
            f"{median('webhooks_ratio'):.2f}  ({median('webhooks'):,.0f} attempts/s)"
        )
    width = max(map(len, SUMMARY))
    print(
        f"\nmedians of {args.repeat} ({args.contacts:,} contacts, {args.campaigns} campaigns, "
        f"{args.seconds:g} s per phase):"
    )
    for key, value in SUMMARY.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
