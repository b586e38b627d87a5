"""Benchmark: the contacts view at a million contacts against the same view at ten thousand.

Issue 6 asks for keyset paging "that stays fast with a million contacts". In one database (a
fresh PostgreSQL database ``outbound_bench_paging_<hex>``, migrated to head and dropped at the
end) this loads two campaigns by ``INSERT … SELECT generate_series``, then ``ANALYZE``:

- the large one, ``--contacts`` (1,000,000) contacts;
- the baseline, ``--baseline`` (10,000) contacts, the same mix.

The mix is a campaign half-way through: 35 % pending, 20 % connected, 10 % not connected,
20 % retries completed, 5 % SMS sent and closed, 3 % DNC listed, 3 % SMS responded, 3 % SMS
sent, 0.9 % sent to the dialer, 0.1 % dangling; US numbers over 50 area codes, stored as
typed in three layouts (E.164, ``(415) 234-5678``, ``415-234-5678``); a unique account number
in param1, one of three plans in param2, an e-mail in param3, a unique CRM contact id.

Every case goes through the service functions the page and the API call (``browse_contacts``
— the page, its "previous" and its "next" probe —, ``list_contacts``, ``narrowing`` for the
search box, ``iter_contacts`` plus the page's cells and ``csv_rows`` for the export), in a
fresh session each run. Printed: the median of ``--runs`` runs (after one warm-up run) on the
large campaign and on the baseline, and their ratio. A view that "stays fast" has a ratio near
1; a ratio near ``contacts / baseline`` (100) means the cost grows with the campaign.

Then the same on SQLite (a temporary file) with ``--sqlite-contacts`` (200,000; 0 skips).

    .venv/bin/python bench/contacts_paging.py [--contacts 1000000] [--baseline 10000]
        [--runs 7] [--sqlite-contacts 200000] [--explain] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from _campaigns import make_campaign
from sqlalchemy import bindparam, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from outbound.contacts import service
from outbound.contacts.repository import Narrowing
from outbound.contacts.states import ContactState
from outbound.db.base import UTCDateTime
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.imports.report import csv_rows
from outbound.models import Contact
from outbound.web.pages.contacts import COLUMNS, EXPORT_HEADER, PAGE_SIZE, cell

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AREAS = (
    "201202203205206207208209210212213214215216217218219224225228"
    "229231234239240248251252253254256260262267269270276281301302"
    "303304305307308309310312313314"
)  # 50 US area codes, three digits each
EXPORT_ROWS = 10_000

# (upper bound of a bucket of (i * 7919) mod 10000, state): spread evenly through the campaign.
MIX = (
    (3500, ContactState.PENDING),
    (5500, ContactState.CONNECTED),
    (6500, ContactState.NOT_CONNECTED),
    (8500, ContactState.RETRIES_COMPLETED),
    (9000, ContactState.SMS_SENT_CLOSED),
    (9300, ContactState.DNC_LISTED),
    (9600, ContactState.SMS_RESPONDED),
    (9900, ContactState.SMS_SENT),
    (9990, ContactState.SENT_TO_DIALER),
    (10000, ContactState.DANGLING),
)
RARE_STATE = ContactState.DANGLING
SEVERAL_STATES = (
    ContactState.CONNECTED,
    ContactState.NOT_CONNECTED,
    ContactState.RETRIES_COMPLETED,
)


# --- data -----------------------------------------------------------------------------------


def _series(dialect: str, count: int) -> str:
    if dialect == "postgresql":
        return f"generate_series(1, {count}) AS g(i)"
    counter = f"SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {count}"
    return f"(WITH RECURSIVE g(i) AS ({counter}) SELECT i FROM g) AS g"


def _pad(expr: str, width: int) -> str:
    """``expr`` (an integer) as text, zero-padded; the same SQL on both databases."""
    digits = f"CAST({expr} AS TEXT)"
    return f"substr('{'0' * width}' || {digits}, length({digits}) + 1, {width})"


def load(db: Database, campaign_id: int, count: int, first: int) -> None:
    """``count`` contacts numbered ``first``.. (numbers, ids and CRM ids unique over both
    campaigns), in one INSERT … SELECT."""
    area = f"substr('{AREAS}', 1 + (n % 50) * 3, 3)"
    exchange = "CAST(200 + (n / 50) % 800 AS TEXT)"
    line = _pad("n / 40000", 4)
    state = "CASE " + " ".join(f"WHEN b < {top} THEN '{s.value}'" for top, s in MIX) + " END"
    closed = "state NOT IN ('pending', 'sent_to_dialer', 'sms_sent')"
    sql = f"""
    INSERT INTO contacts (
        campaign_id, import_seq, crm_contact_id, phone1, phone1_e164, param1, param2, param3,
        state, next_attempt_at, next_position, attempt_count, last_outcome, request_time,
        closed_at, created_at, updated_at)
    SELECT {campaign_id}, i, 'CRM-' || {_pad("n", 9)},
           CASE n % 3 WHEN 0 THEN e164
                      WHEN 1 THEN '(' || area || ') ' || exchange || '-' || line
                      ELSE area || '-' || exchange || '-' || line END,
           e164, 'ACC-' || {_pad("n", 9)},
           CASE n % 3 WHEN 0 THEN 'gold' WHEN 1 THEN 'silver' ELSE 'bronze' END,
           'customer' || CAST(n AS TEXT) || '@example.com',
           state,
           CASE WHEN state = 'pending' THEN :now END, 1,
           CASE WHEN state = 'pending' THEN i % 2 ELSE 1 + i % 3 END,
           CASE WHEN state = 'pending' AND i % 2 = 0 THEN NULL
                WHEN state = 'connected' THEN 'connected' ELSE 'no_answer' END,
           CASE WHEN state = 'pending' AND i % 2 = 0 THEN NULL ELSE :now END,
           CASE WHEN {closed} THEN :now END, :now, :now
    FROM (
        SELECT i, n, area, exchange, line, '+1' || area || exchange || line AS e164,
               {state} AS state
        FROM (
            SELECT i, n, {area} AS area, {exchange} AS exchange, {line} AS line,
                   ((i % 10000) * 7919) % 10000 AS b
            FROM (SELECT i, i + {first} AS n FROM {_series(db.dialect, count)}) AS s
        ) AS t
    ) AS u
    """
    now = bindparam("now", datetime.now(UTC), type_=UTCDateTime())
    with db.engine.begin() as conn:
        conn.execute(text(sql).bindparams(now))
        conn.execute(
            text("UPDATE campaigns SET import_seq = :n WHERE id = :id"),
            {"n": count, "id": campaign_id},
        )


@dataclass(frozen=True)
class Facts:
    """What the cases look for in one campaign: all taken from its middle."""

    campaign_id: int
    size: int
    middle_id: int
    phone: str  # a whole number, as a user types it
    rare_prefix: str  # all but its last three digits: a handful of matches
    common_prefix: str  # an area code: 2 % of the campaign
    account: str  # param1, unique
    crm_id: str


def facts_of(db: Database, campaign_id: int) -> Facts:
    with db.transaction() as session:
        size = session.scalar(
            select(func.count()).select_from(Contact).where(Contact.campaign_id == campaign_id)
        )
        assert size
        middle = session.scalars(
            select(Contact)
            .where(Contact.campaign_id == campaign_id)
            .order_by(Contact.id)
            .offset(size // 2)
            .limit(1)
        ).one()
        e164 = middle.phone1_e164
        return Facts(
            campaign_id=campaign_id,
            size=size,
            middle_id=middle.id,
            phone=f"{e164[:2]} {e164[2:5]} {e164[5:8]} {e164[8:]}",
            rare_prefix=f"{e164[:2]} {e164[2:5]} {e164[5:8]} {e164[8:9]}",
            common_prefix=f"{e164[:2]} {e164[2:5]}",
            account=middle.param1 or "",
            crm_id=middle.crm_contact_id or "",
        )


# --- the cases ------------------------------------------------------------------------------

Case = Callable[[Session, Facts], int]  # returns how many rows it got (a sanity check)


def browse(
    states: tuple[ContactState, ...] = (),
    *,
    number: Callable[[Facts], str] | None = None,
    column: str | None = None,
    value: Callable[[Facts], str] | None = None,
    after: bool = False,
    before: bool = False,
) -> Case:
    """The contacts page: ``browse_contacts`` as the page calls it (with its search box)."""

    def run(session: Session, facts: Facts) -> int:
        narrowed = service.narrowing(
            session,
            number=number(facts) if number else None,
            column=column,
            value=value(facts) if value else None,
        )
        if number is not None and " " in number(facts) and len(number(facts)) > 14:
            assert narrowed.phone1_e164, "a whole number must be matched exactly"
        found = service.browse_contacts(
            session,
            facts.campaign_id,
            states=states,
            narrowed=narrowed,
            after=facts.middle_id if after else None,
            before=facts.middle_id if before else None,
            limit=PAGE_SIZE,
        )
        return len(found.rows)

    return run


def api_first_page(session: Session, facts: Facts) -> int:
    rows, _ = service.list_contacts(
        session, str(facts.campaign_id), states=[], q=None, after=None, limit=PAGE_SIZE
    )
    return len(rows)


def export_first_rows(session: Session, facts: Facts) -> int:
    """The CSV export (all columns, every cell made safe) up to its 10,000th row."""
    contacts = service.iter_contacts(session, facts.campaign_id, states=(), narrowed=Narrowing())
    rows = ((c.id, *(cell(c, col) for col in COLUMNS)) for c in contacts)
    taken = 0

    def counted() -> object:
        nonlocal taken
        for row in itertools.islice(rows, EXPORT_ROWS):
            taken += 1
            yield row

    for _chunk in csv_rows(EXPORT_HEADER, counted()):  # type: ignore[arg-type]
        pass
    return taken


CASES: tuple[tuple[str, Case], ...] = (
    ("first page", browse()),
    ("first page (API list_contacts)", api_first_page),
    ("page in the middle (after an id)", browse(after=True)),
    ("previous page (before an id)", browse(before=True)),
    (f"state: {RARE_STATE.value} (0.1 %)", browse((RARE_STATE,))),
    ("states: connected+not conn.+retries", browse(SEVERAL_STATES)),
    ("phone: whole number (exact)", browse(number=lambda f: f.phone)),
    ("phone: prefix, area code (2 %)", browse(number=lambda f: f.common_prefix)),
    ("phone: prefix, rare (8 digits)", browse(number=lambda f: f.rare_prefix)),
    ("param1 = a unique account", browse(column="param1", value=lambda f: f.account)),
    ("param2 = gold (1 in 3)", browse(column="param2", value=lambda f: "gold")),
    ("crm_contact_id = one id", browse(column="crm_contact_id", value=lambda f: f.crm_id)),
    (f"export: first {EXPORT_ROWS:,} CSV rows", export_first_rows),
)


def measure(db: Database, case: Case, facts: Facts, runs: int) -> tuple[float, int]:
    """Median seconds of ``runs`` runs after one warm-up, and the rows the case got."""
    got = 0
    times = []
    for n in range(runs + 1):
        with db.transaction() as session:
            start = time.perf_counter()
            got = case(session, facts)
            elapsed = time.perf_counter() - start
        if n:
            times.append(elapsed)
    return statistics.median(times), got


def explain(db: Database, case: Case, facts: Facts) -> None:
    """Print the plan of every SELECT the case sends (PostgreSQL: EXPLAIN ANALYZE)."""
    seen: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "contacts" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        with db.transaction() as session:
            case(session, facts)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if db.dialect == "postgresql" else ""
    prefix = prefix or "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        for statement, parameters in seen[:1]:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            cursor.execute(prefix + statement, parameters)
            for row in cursor.fetchall():
                print("      " + " | ".join(str(v) for v in row))


def run_cases(db: Database, large: Facts, small: Facts, args: argparse.Namespace) -> None:
    print(
        f"  {'case':<38} {f'{large.size:,}':>10} {f'{small.size:,}':>10}  ratio   rows",
        flush=True,
    )
    for name, case in CASES:
        big, rows_big = measure(db, case, large, args.runs)
        base, rows_small = measure(db, case, small, args.runs)
        print(
            f"  {name:<38} {big * 1000:8.1f}ms {base * 1000:8.1f}ms {big / base:6.1f}x"
            f"   {rows_big}/{rows_small}",
            flush=True,
        )
        if args.explain:
            explain(db, case, large)


def bench(url: str, args: argparse.Namespace, contacts: int) -> None:
    upgrade_head(url)
    db = Database(url)
    try:
        started = time.perf_counter()
        small_id = make_campaign(db, "baseline")
        large_id = make_campaign(db, "large")
        load(db, small_id, args.baseline, first=0)
        load(db, large_id, contacts, first=args.baseline)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"))
        print(
            f"  loaded {contacts:,} + {args.baseline:,} contacts and analysed in"
            f" {time.perf_counter() - started:.1f} s; medians of {args.runs} runs:",
            flush=True,
        )
        run_cases(db, facts_of(db, large_id), facts_of(db, small_id), args)
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sqlite-contacts", type=int, default=200_000, help="0 skips SQLite")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="an admin URL of the server")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print each case's first plan")
    args = parser.parse_args()

    if not args.skip_postgres:
        print(f"PostgreSQL ({args.contacts:,} against {args.baseline:,}):", flush=True)
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        name = f"outbound_bench_paging_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
        try:
            bench(url, args, args.contacts)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if args.sqlite_contacts:
        print(f"\nSQLite ({args.sqlite_contacts:,} against {args.baseline:,}):", flush=True)
        tmp = Path(tempfile.mkdtemp(prefix="outbound-bench-paging-"))
        try:
            bench(f"sqlite:///{tmp / 'paging.db'}", args, args.sqlite_contacts)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
