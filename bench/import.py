"""Benchmark: the contact import against a bare PostgreSQL COPY of the same file.

Writes a seeded contact file (1,000,000 rows by default: 1-3 phones a row, mostly US national
numbers in the usual layouts, some international, about 1% junk, a few duplicate Phone 1s,
four business parameters), then, in one run and on one PostgreSQL server:

- ours: the product's import path (``create_job`` + ``claim_job`` + ``run_file_job``) into a
  fresh migrated database, for a fresh campaign each time, in a child process whose peak
  resident memory is read as well;
- bare: ``COPY plain FROM STDIN (FORMAT csv, HEADER)`` of the same file, streamed from
  Python by psycopg, into a plain logged table of text columns named after the file's header.

Each is run ``--repeat`` times (interleaved, so a busy machine slows both alike) and the medians
are printed, with the ratio ours / bare (the goal is at most 2.0) and the peak memory (goal:
at most 300 MB). Then the same import into fresh SQLite files, in rows per second.

    .venv/bin/python bench/import.py [--rows 1000000] [--repeat 3] [--sqlite-rows 200000]
                                     [--breakdown]

``--breakdown`` then times the floor under ours: the contacts our import stored, COPYed
again into a table of contacts' columns with none of its indexes and constraints, then with
each added in turn, up to the real set.

Everything is made in a temporary folder and a database named ``outbound_bench_<hex>``; both
are removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
from _campaigns import make_campaign
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from outbound.contacts.fastphone import BulkPhoneValidator
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.imports.service import CHUNK_ROWS
from outbound.models import (
    Campaign,
    Contact,
    DncEntry,
    ImportSource,
)

HEADER = ("phone1", "phone2", "phone3", "param1", "param2", "param3", "param4")
ABROAD = ("GB", "FR", "DE", "IN", "BR", "AU", "ES", "IT", "PL", "MX")
JUNK = (
    "n/a",
    "unknown",
    "123",
    "555-01",
    "0000000000000",
    "tbc",
    "see notes",
    "1-800-FLOWERS",
    "+999 123 4567",
    "12345678901234",
)
FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Maria",
    "Wei",
    "Priya",
    "Ahmed",
    "Fatima",
    "Olga",
    "Kenji",
)
LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Schmidt",
)
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "example.co.uk")
PLANS = ("basic", "plus", "premium", "family", "business")
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# --- the contact file ---------------------------------------------------------------------


def _us_numbers(rng: random.Random, wanted: int) -> list[str]:
    """Distinct valid US national significant numbers, drawn at random."""
    validator = BulkPhoneValidator("US")
    found: dict[str, None] = {}
    while len(found) < wanted:
        batch = [
            f"{rng.randrange(200, 1000)}{rng.randrange(200, 1000)}{rng.randrange(10_000):04d}"
            for _ in range(max(50_000, (wanted - len(found)) * 2))
        ]
        for nsn, e164 in zip(batch, validator.e164_many(batch), strict=True):
            if e164 is not None:
                found[nsn] = None
    numbers = list(found)[:wanted]
    rng.shuffle(numbers)
    return numbers


def _abroad_numbers(rng: random.Random, wanted: int) -> list[str]:
    """Distinct valid foreign numbers in international format (``+44 20 7946 0123``)."""
    bases = []
    for region in ABROAD:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                code = example.country_code
                bases.append((code, phonenumbers.national_significant_number(example)))
    found: dict[str, None] = {}
    attempts = 0
    while len(found) < wanted and attempts < wanted * 20:
        attempts += 1
        code, nsn = rng.choice(bases)
        keep = rng.randint(2, 4)
        digits = nsn[:keep] + "".join(rng.choices("0123456789", k=len(nsn) - keep))
        number = phonenumbers.parse(f"+{code}{digits}", None)
        if phonenumbers.is_valid_number(number):
            intl = phonenumbers.PhoneNumberFormat.INTERNATIONAL
            found[phonenumbers.format_number(number, intl)] = None
    return list(found)


def _us_layout(rng: random.Random, nsn: str) -> str:
    area, exchange, line = nsn[:3], nsn[3:6], nsn[6:]
    roll = rng.random()
    if roll < 0.45:
        return f"({area}) {exchange}-{line}"
    if roll < 0.65:
        return f"{area}-{exchange}-{line}"
    if roll < 0.80:
        return nsn
    if roll < 0.90:
        return f"+1 {area}-{exchange}-{line}"
    if roll < 0.95:
        return f"+1{nsn}"
    if roll < 0.98:
        return f"1-{area}-{exchange}-{line}"
    return f" {area}.{exchange}.{line} "


@dataclass
class FileFacts:
    rows: int
    bytes: int
    junk_rows: int
    repeated_phone1: int
    dnc_numbers: list[str]  # E.164 numbers of the file to put on the do-not-call list


def write_contact_file(path: Path, rows: int, seed: int, dnc: int) -> FileFacts:
    """A seeded contact file; about 1% of rows have a bad phone and 0.5% repeat a Phone 1."""
    rng = random.Random(seed)
    home = _us_numbers(rng, int(rows * 1.75) + 10)
    abroad = _abroad_numbers(rng, max(100, rows // 20))
    next_home, next_abroad = iter(home), iter(abroad)
    written: list[str] = []  # Phone 1 values, to repeat a few
    junk_rows = repeated = 0
    dnc_numbers: list[str] = []
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            roll = rng.random()
            phones = []
            if roll < 0.007:
                phones.append(rng.choice(JUNK))
                junk_rows += 1
            elif roll < 0.012 and written:
                phones.append(rng.choice(written))
                repeated += 1
            elif roll < 0.06:
                phones.append(next(next_abroad, None) or _us_layout(rng, next(next_home)))
            else:
                nsn = next(next_home)
                phones.append(_us_layout(rng, nsn))
                if len(dnc_numbers) < dnc and rng.random() < 0.01:
                    dnc_numbers.append(f"+1{nsn}")
            count = rng.choices((1, 2, 3), (50, 35, 15))[0]
            for _ in range(count - 1):
                if rng.random() < 0.003:
                    phones.append(rng.choice(JUNK))
                    junk_rows += roll >= 0.007
                else:
                    phones.append(_us_layout(rng, next(next_home)))
            if i % 97 == 0:
                written.append(phones[0])
            first, last = rng.choice(FIRST), rng.choice(LAST)
            writer.writerow(
                (
                    *phones,
                    *([""] * (3 - len(phones))),
                    f"ACC-{rng.randrange(10**9):09d}",
                    f"{first.lower()}.{last.lower()}{rng.randrange(1000)}@{rng.choice(DOMAINS)}",
                    f"{first} {last}",
                    f"{rng.choice(PLANS)};{rng.randrange(1, 500) * 9.99:.2f}",
                )
            )
    return FileFacts(rows, path.stat().st_size, junk_rows, repeated, dnc_numbers)


# --- databases ----------------------------------------------------------------------------


def seed_dnc(db: Database, numbers: list[str], extra: int) -> None:
    """The file's chosen numbers plus ``extra`` unrelated ones on the global list."""
    now = datetime.now(UTC)
    others = [f"+1999{i:07d}" for i in range(extra)]
    with db.transaction() as session:
        session.add_all(
            DncEntry(number_e164=n, raw=n, campaign_id=None, source="bench", created_at=now)
            for n in [*numbers, *others]
        )


def run_import_child(
    url: str, campaign_id: int, path: Path, profile: Path | None
) -> dict[str, Any]:
    """Our import in a fresh interpreter: its time and its peak memory, as JSON."""
    args = [sys.executable, __file__, "--child", url, str(campaign_id), str(path)]
    if profile is not None:
        args.append(str(profile))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the import child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_main(url: str, campaign_id: int, path: Path, profile: str | None) -> None:
    """Runs in the child: exactly what the product runs for a stored file."""
    from outbound.imports import service

    db = Database(url)
    with db.transaction() as session:  # connect and load metadata before the clock starts
        session.execute(text("SELECT 1"))
    clock = lambda: datetime.now(UTC)  # noqa: E731
    before = _rss_mb()
    pg_before, cpu_before = _backends_cpu(db), _own_cpu()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        job = service.create_job(
            session,
            campaign=campaign,
            source=ImportSource.CLI,
            filename=path.name,
            stored_path=path,
            created_by="bench",
            now=clock(),
        )
        job_id = job.id
    assert service.claim_job(db, job_id, worker_id="bench", now=clock())
    job = service.run_file_job(db, job_id, worker_id="bench", clock=clock)
    seconds = time.perf_counter() - start
    cpu = _own_cpu() - cpu_before
    pg_cpu = _backends_cpu(db) - pg_before
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    # VmHWM, not ru_maxrss: that one keeps the parent's size from before the exec.
    peak = _status_mb("VmHWM")
    db.dispose()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "pg_cpu": pg_cpu,
                "peak_mb": peak,
                "before_mb": before,
                "status": str(job.status),
                "error": job.error,
                "read": job.rows_read,
                "imported": job.rows_imported,
                "rejected": job.rows_rejected,
                "duplicate": job.rows_duplicate,
                "dnc": job.rows_dnc,
            }
        )
    )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pid_cpu(pid: int) -> float:
    """CPU seconds a process (here a PostgreSQL backend, on this machine) has used."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backends_cpu(db: Database) -> float:
    """CPU seconds used so far by the backends serving this database (on this machine)."""
    if db.dialect != "postgresql":
        return 0.0
    with db.engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    return sum(_pid_cpu(pid) for pid in pids)


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bare_copy(url: str, path: Path, name: str) -> tuple[float, float, float]:
    """COPY the file into a new plain logged table of text columns: the seconds it takes,
    and the CPU seconds of this process and of its PostgreSQL backend meanwhile."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        columns = ", ".join(f"{c} text" for c in HEADER)
        conn.execute(f"CREATE TABLE {name} ({columns})")
        conn.commit()
        conn.execute("CHECKPOINT")
        backend = conn.info.backend_pid
        pg_before, cpu_before = _pid_cpu(backend), _own_cpu()
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            path.open("rb") as stream,
            cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv, HEADER)") as copy,
        ):
            while data := stream.read(1 << 20):
                copy.write(data)
        conn.commit()
        seconds = time.perf_counter() - start
        cpu, pg_cpu = _own_cpu() - cpu_before, _pid_cpu(backend) - pg_before
        conn.execute(f"DROP TABLE {name}")
        conn.commit()
    return seconds, cpu, pg_cpu


def reset_contacts(db: Database) -> None:
    """Empty contacts and rejects (indexes and all), so every run starts from the same state."""
    with db.engine.begin() as conn:
        conn.execute(text("TRUNCATE attempts, contacts, import_rejects"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


def check_import(db: Database, result: dict[str, Any], facts: FileFacts, campaign_id: int) -> str:
    """Counters add up and agree with the table; a short line for the report."""
    with db.transaction() as session:
        stored = session.scalar(
            select(func.count()).select_from(Contact).where(Contact.campaign_id == campaign_id)
        )
    counted = result["imported"] + result["rejected"] + result["duplicate"] + result["dnc"]
    problems = []
    if result["status"] != "completed":
        problems.append(f"status {result['status']}: {result['error']}")
    if result["read"] != facts.rows or counted != facts.rows:
        problems.append(f"read {result['read']}, counted {counted}, rows {facts.rows}")
    if stored != result["imported"] + result["dnc"]:
        problems.append(f"{stored} contacts stored")
    verdict = "OK" if not problems else "PROBLEM: " + "; ".join(problems)
    return (
        f"imported {result['imported']:,}, rejected {result['rejected']:,}, "
        f"duplicates {result['duplicate']:,}, dnc {result['dnc']:,} -> {verdict}"
    )


def breakdown(url: str, tmp: Path, chunk_rows: int) -> list[tuple[str, float]]:
    """The floor under our import: the contacts it stored, COPYed again (text format, a
    commit every ``chunk_rows`` rows, as the import does) into a table of contacts' columns,
    with none of its indexes and constraints, then with each added in turn, to the real
    set. Returns (what the table had, seconds), cumulative."""
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows = tmp / "stored-contacts.txt"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        columns = [
            name
            for (name,) in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'contacts' AND column_name <> 'id' ORDER BY ordinal_position"
            )
        ]
        listed = ", ".join(columns)
        with (
            rows.open("wb") as out,
            conn.cursor().copy(f"COPY contacts ({listed}) TO STDOUT") as copy,
        ):
            for data in copy:
                out.write(data)
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contacts'"
            " AND indexname <> 'pk_contacts' ORDER BY indexname"
        ).fetchall()
        steps: list[tuple[str, str]] = [
            ("a plain table of contacts' columns", ""),
            ("+ primary key", "ALTER TABLE floor ADD PRIMARY KEY (id)"),
        ]
        steps += [
            (
                f"+ {name}",
                definition.replace(" ON public.contacts ", " ON floor ").replace(
                    f"INDEX {name} ", f"INDEX floor_{name} "
                ),
            )
            for name, definition in indexes
        ]
        steps.append(
            (
                "+ foreign key campaign_id (= contacts)",
                "ALTER TABLE floor ADD FOREIGN KEY (campaign_id) REFERENCES campaigns (id)"
                " ON DELETE CASCADE",
            )
        )
        conn.execute("CREATE TABLE floor (LIKE contacts INCLUDING DEFAULTS)")
        timings = []
        try:
            for label, ddl in steps:
                if ddl:
                    conn.execute(ddl)
                conn.execute("TRUNCATE floor")
                conn.execute("CHECKPOINT")
                start = time.perf_counter()
                with rows.open("rb") as stream:
                    while lines := list(itertools.islice(stream, chunk_rows)):
                        with (
                            conn.transaction(),
                            conn.cursor().copy(f"COPY floor ({listed}) FROM STDIN") as copy,
                        ):
                            copy.write(b"".join(lines))
                timings.append((label, time.perf_counter() - start))
                print(f"    {label:<44} {timings[-1][1]:6.2f}s", flush=True)
        finally:
            conn.execute("DROP TABLE floor")
            rows.unlink()
    return timings


# --- the run ------------------------------------------------------------------------------


def bench_postgres(args: argparse.Namespace, path: Path, facts: FileFacts, tmp: Path) -> None:
    admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    name = f"outbound_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.pg_url).set(database=name).render_as_string(hide_password=False)
    db = None
    try:
        upgrade_head(url)
        db = Database(url)
        seed_dnc(db, facts.dnc_numbers, args.dnc_extra)
        ours: list[dict[str, Any]] = []
        bare: list[tuple[float, float, float]] = []  # seconds, python CPU, postgres CPU
        for run in range(args.repeat):
            bare.append(bare_copy(url, path, f"plain_{run}"))
            reset_contacts(db)
            campaign_id = make_campaign(db, f"bench-{run}")
            profile = tmp / f"import-{run}.prof" if args.profile else None
            result = run_import_child(url, campaign_id, path, profile)
            ours.append(result)
            print(
                f"  run {run + 1}: bare COPY {bare[-1][0]:6.2f}s   ours {result['seconds']:6.2f}s"
                f"   ratio {result['seconds'] / bare[-1][0]:5.2f}   CPU python+postgres:"
                f" bare {bare[-1][1]:.1f}+{bare[-1][2]:.1f}s, ours"
                f" {result['cpu']:.1f}+{result['pg_cpu']:.1f}s   peak RSS"
                f" {result['peak_mb']:4.0f} MB   {check_import(db, result, facts, campaign_id)}",
                flush=True,
            )
            if profile is not None:
                shutil.copy(profile, args.profile)
        floor = []
        if args.breakdown:
            print("  breakdown: the stored contacts COPYed again into a table that has", flush=True)
            floor = breakdown(url, tmp, CHUNK_ROWS)
        med = statistics.median
        ours_s = med(r["seconds"] for r in ours)
        bare_s = med(b[0] for b in bare)
        ratio = med(r["seconds"] / b[0] for r, b in zip(ours, bare, strict=True))
        cpu_ratio = med(
            (r["cpu"] + r["pg_cpu"]) / (b[1] + b[2]) for r, b in zip(ours, bare, strict=True)
        )
        SUMMARY.update(
            {
                "PostgreSQL: our import": f"{ours_s:.2f} s  ({facts.rows / ours_s:,.0f} rows/s)",
                "PostgreSQL: bare COPY": f"{bare_s:.2f} s  ({facts.rows / bare_s:,.0f} rows/s)",
                "ratio ours / bare COPY": f"{ratio:.2f}x  (goal <= 2.0)",
                "  CPU of ours: python + postgres": (
                    f"{med(r['cpu'] for r in ours):.1f} + {med(r['pg_cpu'] for r in ours):.1f} s"
                ),
                "  CPU of bare COPY: python + postgres": (
                    f"{med(b[1] for b in bare):.1f} + {med(b[2] for b in bare):.1f} s"
                ),
                "  ratio of CPU seconds": f"{cpu_ratio:.2f}x  (less sensitive to a busy machine)",
                "peak RSS of the import process": (
                    f"{med(r['peak_mb'] for r in ours):.0f} MB  (goal <= 300)"
                ),
                "  of which grown during the import": (
                    f"{med(r['peak_mb'] - r['before_mb'] for r in ours):.0f} MB"
                ),
            }
        )
        if floor:
            real = floor[-1][1]
            SUMMARY["floor: COPY of the stored contacts into contacts' indexes"] = (
                f"{real:.2f} s = {real / bare_s:.2f}x the bare COPY; ours is"
                f" {ours_s / real:.2f}x this floor"
            )
            previous = 0.0
            for label, seconds in floor:
                SUMMARY[f"  {label}"] = f"{seconds:6.2f} s  ({seconds - previous:+.2f})"
                previous = seconds
    finally:
        if db is not None:
            db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def bench_sqlite(args: argparse.Namespace, tmp: Path) -> None:
    path = tmp / "contacts-sqlite.csv"
    facts = write_contact_file(path, args.sqlite_rows, args.seed + 1, dnc=100)
    seconds = []
    for run in range(args.repeat):
        file = tmp / f"bench-{run}.db"
        url = f"sqlite:///{file}"
        upgrade_head(url)
        db = Database(url)
        seed_dnc(db, facts.dnc_numbers, args.dnc_extra)
        campaign_id = make_campaign(db, f"bench-{run}")
        result = run_import_child(url, campaign_id, path, None)
        seconds.append(result["seconds"])
        print(
            f"  run {run + 1}: {result['seconds']:6.2f}s  {facts.rows / result['seconds']:>9,.0f}"
            f" rows/s   {check_import(db, result, facts, campaign_id)}",
            flush=True,
        )
        db.dispose()
        file.unlink()
    median = statistics.median(seconds)
    SUMMARY[f"SQLite: our import ({facts.rows:,} rows)"] = (
        f"{median:.2f} s  ({facts.rows / median:,.0f} rows/s)"
    )


SUMMARY: dict[str, str] = {}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(
            sys.argv[2],
            int(sys.argv[3]),
            Path(sys.argv[4]),
            sys.argv[5] if len(sys.argv) > 5 else None,
        )
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sqlite-rows", type=int, default=200_000, help="rows of the SQLite file (0 skips SQLite)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dnc-extra", type=int, default=10_000, help="unrelated numbers on the global DNC list"
    )
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="an admin URL of the server")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the last import here")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time a COPY of the stored contacts into contacts' columns, adding its"
        " indexes and constraints one at a time (the floor under our import)",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="outbound-bench-"))
    try:
        if not args.skip_postgres:
            path = tmp / "contacts.csv"
            start = time.perf_counter()
            facts = write_contact_file(path, args.rows, args.seed, dnc=1000)
            print(
                f"wrote {facts.rows:,} rows ({facts.bytes / 1e6:.0f} MB; {facts.junk_rows:,} with a"
                f" bad phone, {facts.repeated_phone1:,} repeating a Phone 1,"
                f" {len(facts.dnc_numbers):,} on the DNC list) in"
                f" {time.perf_counter() - start:.0f}s",
                flush=True,
            )
            print(f"PostgreSQL, {args.repeat} runs:", flush=True)
            bench_postgres(args, path, facts, tmp)
            path.unlink()
        if args.sqlite_rows:
            print(f"SQLite, {args.repeat} runs:", flush=True)
            bench_sqlite(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    width = max(map(len, SUMMARY), default=0)
    print(f"\nSummary (medians of {args.repeat} runs)")
    for key, value in SUMMARY.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
