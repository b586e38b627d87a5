"""The file import pipeline across many small chunks: read ahead in a thread, stored chunk by
chunk. Duplicates and do-not-call numbers are found across chunks and imports, stopping
between chunks loses nothing, and a file that turns bad keeps the chunks before it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from outbound.cli import app
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.imports import service
from outbound.models import Campaign, Contact, DncEntry, ImportJob, ImportReject, ImportSource
from tests.factories import make_campaign

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def run_file(
    db: Database, campaign_id: int, path: Path, *, chunk_rows: int = 2, stop_after: int = 0
) -> ImportJob:
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        job_id = service.create_job(
            session,
            campaign=campaign,
            source=ImportSource.CLI,
            filename=path.name,
            stored_path=path,
            created_by=None,
            now=NOW,
        ).id
    return resume(db, job_id, chunk_rows=chunk_rows, stop_after=stop_after)


def resume(db: Database, job_id: int, *, chunk_rows: int = 2, stop_after: int = 0) -> ImportJob:
    assert service.claim_job(db, job_id, worker_id="w1", now=NOW)
    asked = iter(range(1, 10_000))
    return service.run_file_job(
        db,
        job_id,
        worker_id="w1",
        clock=clock,
        chunk_rows=chunk_rows,
        should_stop=lambda: bool(stop_after) and next(asked) > stop_after,
    )


def counters(job: ImportJob) -> tuple[int, int, int, int, int]:
    return (job.rows_read, job.rows_imported, job.rows_rejected, job.rows_duplicate, job.rows_dnc)


def states(db: Database, campaign_id: int) -> dict[str, str]:
    with db.transaction() as session:
        rows = session.execute(
            select(Contact.phone1_e164, Contact.state)
            .where(Contact.campaign_id == campaign_id)
            .order_by(Contact.import_seq)
        )
        return {number: state.value for number, state in rows}


def test_duplicates_and_dnc_are_found_across_chunks_and_imports(
    db: Database, tmp_path: Path
) -> None:
    mine, other = make_campaign(db, "mine"), make_campaign(db, "other")
    with db.transaction() as session:
        session.add_all(
            [
                DncEntry(number_e164="+14155550102", raw="x", campaign_id=None, created_at=NOW),
                DncEntry(number_e164="+14155550199", raw="x", campaign_id=mine, created_at=NOW),
                DncEntry(number_e164="+14155550104", raw="x", campaign_id=other, created_at=NOW),
            ]
        )
    first = tmp_path / "first.csv"
    first.write_text(
        "phone1,phone2,param1\n"
        "(415) 555-0100,,a\n"
        "415-555-0101,,b\n"
        "4155550102,,c\n"  # global DNC
        "+1 415 555 0100,,d\n"  # duplicate of line 2, one chunk later
        "415.555.0103,415 555 0199,e\n"  # Phone 2 on this campaign's DNC list
        "415 555 0104,,f\n"  # on the other campaign's list only
        "n/a,,g\n"
    )
    job = run_file(db, mine, first)
    assert job.status.value == "completed"
    assert counters(job) == (7, 3, 1, 1, 2)
    assert states(db, mine) == {
        "+14155550100": ContactState.PENDING.value,
        "+14155550101": ContactState.PENDING.value,
        "+14155550102": ContactState.DNC_LISTED.value,
        "+14155550103": ContactState.DNC_LISTED.value,
        "+14155550104": ContactState.PENDING.value,
    }
    second = tmp_path / "second.csv"
    second.write_text("phone1\n4155550104\n4155550105\n(415) 555-0101\n")
    again = run_file(db, mine, second, chunk_rows=1)
    assert counters(again) == (3, 1, 0, 2, 0)
    elsewhere = run_file(db, other, second)
    assert counters(elsewhere) == (3, 2, 0, 0, 1)
    with db.transaction() as session:
        reasons = session.execute(
            select(ImportReject.line, ImportReject.column)
            .where(ImportReject.job_id == again.id)
            .order_by(ImportReject.line)
        ).all()
    assert [tuple(r) for r in reasons] == [(2, "phone1"), (4, "phone1")]


def test_stopping_between_chunks_requeues_and_resuming_imports_the_rest_once(
    db: Database, tmp_path: Path
) -> None:
    campaign = make_campaign(db, "resumed")
    path = tmp_path / "many.csv"
    path.write_text("phone1\n" + "".join(f"415555{i:04d}\n" for i in range(100, 130)))
    stopped = run_file(db, campaign, path, chunk_rows=4, stop_after=3)
    assert stopped.status.value == "queued"
    assert stopped.rows_read == 12 and stopped.rows_imported == 12
    done = resume(db, stopped.id, chunk_rows=4)
    assert done.status.value == "completed"
    assert counters(done) == (30, 30, 0, 0, 0)
    assert len(states(db, campaign)) == 30


def test_a_line_that_is_not_utf8_midway_is_one_rejected_row_and_the_rest_imports(
    db: Database, tmp_path: Path
) -> None:
    """On main the bad byte failed the job after a partial import, with a wrong line."""
    campaign = make_campaign(db, "broken")
    path = tmp_path / "broken.csv"
    good = [f"+1415555{i:04d},{'p' * 20}\n".encode() for i in range(4000)]  # > 64 KiB
    good[3000] = b"+14155553000,caf\xe9\n"  # Latin-1, on file line 3002
    path.write_bytes(b"phone1,param1\n" + b"".join(good))
    job = run_file(db, campaign, path, chunk_rows=1000)
    assert job.status.value == "completed"
    assert counters(job) == (4000, 3999, 1, 0, 0)
    with db.transaction() as session:
        rejected = session.execute(
            select(ImportReject.line, ImportReject.reason).where(ImportReject.job_id == job.id)
        ).all()
    assert [tuple(r) for r in rejected] == [
        (3002, "not UTF-8 text: byte 17 of the line (0xE9) is not valid")
    ]
    assert "+14155553000" not in states(db, campaign)
    assert len(states(db, campaign)) == 3999


def test_an_unclosed_quote_loses_no_row_after_it(db: Database, tmp_path: Path) -> None:
    """On main the rows after the quote vanished into one field and the job said completed:
    now the counts add up to the file's rows, and only the quote's line is rejected."""
    campaign = make_campaign(db, "quoted")
    path = tmp_path / "quoted.csv"
    rows = [f"+1415555{i:04d},p{i}\n" for i in range(6000)]
    rows[100] = '+14155550100,"Smith, John\n'
    path.write_text("phone1,param1\n" + "".join(rows))
    job = run_file(db, campaign, path, chunk_rows=1000)
    assert job.status.value == "completed"
    assert counters(job) == (6000, 5999, 1, 0, 0)
    numbers = states(db, campaign)
    assert len(numbers) == 5999 and "+14155550100" not in numbers
    with db.transaction() as session:
        line = session.scalar(select(ImportReject.line).where(ImportReject.job_id == job.id))
    assert line == 102


def test_the_cli_imports_a_file_with_extra_columns_and_prints_the_warning(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On main the CLI refused the file whole: unknown column(s) in the header."""
    make_campaign(db, "cli-extra")
    path = tmp_path / "crm.csv"
    path.write_text("First name,Phone 1,Email\nAnn,+14155550100,a@x.org\n")
    monkeypatch.setenv("OUTBOUND_DATABASE_URL", db.url)
    monkeypatch.setenv("OUTBOUND_DATA_DIR", str(tmp_path / "data"))
    ran = CliRunner().invoke(app, ["import", str(path), "--campaign", "cli-extra"])
    assert ran.exit_code == 0, ran.output
    assert "completed: 1 imported, 0 rejected" in ran.output
    assert "warning: ignored column(s), not contact columns: 'First name', 'Email'" in ran.output
