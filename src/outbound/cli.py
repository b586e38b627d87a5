"""Command line: ``outbound serve | migrate | users …``. Thin: it calls the services."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.engine import make_url

from outbound.campaigns.repository import get_by_name_or_ref
from outbound.config import Config
from outbound.db.engine import Database
from outbound.logs.setup import configure as configure_logs
from outbound.models import ImportJob
from outbound.users.roles import Role

app = typer.Typer(
    help="outbound: outbound campaign manager for contact centres", no_args_is_help=True
)
users_app = typer.Typer(help="Manage users", no_args_is_help=True)
app.add_typer(users_app, name="users")
amd_app = typer.Typer(help="Answering-machine detection", no_args_is_help=True)
app.add_typer(amd_app, name="amd")


def _database(config: Config) -> Database:
    return Database(config.effective_database_url)


def _announce_admin(config: Config, password: str | None) -> None:
    if password is None:
        return
    path = config.data_dir / "initial-admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    typer.echo(f"Created user 'admin'; its password is in {path.resolve()}")


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest version and create built-in rows."""
    from outbound.bootstrap import prepare

    config = Config()
    db = _database(config)
    _announce_admin(config, prepare(db))
    typer.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Migrate, then run the web service (API at /api/v1, docs at /docs)."""
    import uvicorn

    from outbound.api.http import LingeringH11Protocol
    from outbound.app import create_app
    from outbound.bootstrap import prepare

    config = Config()
    configure_logs(config.log_format)
    db = _database(config)
    _announce_admin(config, prepare(db))
    bind_host, bind_port = host or config.host, port or config.port
    typer.echo(f"outbound listening on http://{bind_host}:{bind_port}/ (API docs at /docs)")
    uvicorn.run(
        create_app(config, db=db),
        host=bind_host,
        port=bind_port,
        log_config=None,  # ours (configure_logs): one line per event, no secrets
        access_log=False,  # the request middleware logs each request, without its query
        http=LingeringH11Protocol,  # a malformed request gets its 400, not a reset
    )


@app.command()
def worker() -> None:
    """Run a dialing engine worker and a webhook deliverer (PostgreSQL: run as many as you
    like; SQLite: one in all)."""
    import signal
    import threading

    from outbound.engine.service import build_engine, timing_from
    from outbound.engine.worker import Engine
    from outbound.health.supervisor import Supervised
    from outbound.metrics.exposition import MetricsConfigError, MetricsListener
    from outbound.metrics.series import REGISTRY
    from outbound.webhooks.deliverer import Deliverer

    config = Config()
    configure_logs(config.log_format)
    listener = None
    if config.metrics_listen:  # this process's own series (the database's: from serve)
        token = config.metrics_token.get_secret_value() if config.metrics_token else None
        try:
            listener = MetricsListener(
                config.metrics_listen, token=token, registries=lambda: [REGISTRY]
            ).start()
        except (MetricsConfigError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    db = _database(config)
    timing = timing_from(config)
    # Both restart themselves with backoff when they die (a database refusing writes).
    engine = Supervised(
        "engine", lambda: build_engine(db, timing=timing), close=Engine.close_channels
    )
    deliverer = Supervised("webhook_deliverer", lambda: Deliverer(db), close=Deliverer.close)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    typer.echo(f"worker running on {db.dialect}")
    engine.start()
    deliverer.start()
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        deliverer.stop()
        engine.stop()
        if listener is not None:
            listener.stop()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    campaign: Annotated[str, typer.Option(help="Campaign name, id, or crm:<crm id>")],
) -> None:
    """Import a contact file (.csv/.txt) into a campaign, with a progress bar."""
    from datetime import UTC, datetime

    from outbound.errors import DomainError
    from outbound.imports import service
    from outbound.imports.runner import new_worker_id
    from outbound.models import ImportSource, ImportStatus

    config = Config()
    db = _database(config)

    def clock() -> datetime:
        return datetime.now(UTC)

    try:
        with db.transaction() as session:
            target = get_by_name_or_ref(session, campaign)
            job = service.create_job(
                session,
                campaign=target,
                source=ImportSource.CLI,
                filename=file.name,
                stored_path=file.resolve(),
                created_by="cli",
                now=clock(),
            )
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    worker = new_worker_id()
    service.claim_job(db, job.id, worker_id=worker, now=clock())
    with typer.progressbar(length=max(job.bytes_total, 1), label=f"import {job.id}") as bar:
        done = 0

        def advance(current: ImportJob) -> None:
            nonlocal done
            bar.update(current.bytes_done - done)
            done = current.bytes_done

        job = service.run_file_job(
            db,
            job.id,
            worker_id=worker,
            clock=clock,
            on_progress=advance,
            chunk_rows=config.import_chunk_rows,
        )
    typer.echo(
        f"{job.status.value}: {job.rows_imported} imported, {job.rows_rejected} rejected, "
        f"{job.rows_duplicate} duplicates, {job.rows_dnc} DNC listed"
    )
    for warning in (job.warnings or "").splitlines():
        typer.echo(f"warning: {warning}")
    if job.rows_rejected or job.rows_duplicate:
        typer.echo(f"rejected rows: outbound import-rejects {job.id}")
    if job.status is ImportStatus.FAILED:
        typer.echo(f"error: {job.error}", err=True)
        raise typer.Exit(1)


@app.command("import-rejects")
def import_rejects(job_id: int) -> None:
    """Print an import job's rejected rows as CSV."""
    from outbound.imports import report, service

    db = _database(Config())
    with db.transaction() as session:
        service.get_job(session, job_id)
        for chunk in report.csv_lines(service.iter_rejects(session, job_id)):
            typer.echo(chunk, nl=False)


@app.command()
def simulate(
    campaign: Annotated[str, typer.Option(help="Campaign name, id, or crm:<crm id>")],
    days: Annotated[int, typer.Option(min=1, max=366, help="Horizon in simulated days")] = 30,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of the simulator, for repeatable runs")
    ] = None,
) -> None:
    """Forecast a campaign: its strategy and schedule over its open contacts, on the simulator
    and a virtual clock, in a scratch database (the live data is only read)."""
    from datetime import UTC, datetime

    from outbound.engine.forecast import forecast, report_lines
    from outbound.errors import DomainError

    db = _database(Config())
    try:
        result = forecast(db, campaign, now=datetime.now(UTC), days=days, seed=seed)
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    for line in report_lines(result):
        typer.echo(line)


def _ms_option(meaning: str) -> Any:
    return typer.Option(help=meaning)


@amd_app.command("classify")
def amd_classify(
    files: Annotated[list[Path], typer.Argument(help="8 kHz 16-bit mono PCM WAV files")],
    campaign: Annotated[
        str | None, typer.Option(help="Use this campaign's settings (name, id or crm:<id>)")
    ] = None,
    recommended: Annotated[
        bool, typer.Option(help="Start from the recommended settings, not Asterisk's defaults")
    ] = False,
    initial_silence: Annotated[int | None, _ms_option("Longest initial silence, ms")] = None,
    greeting: Annotated[int | None, _ms_option("Longest greeting, ms")] = None,
    after_greeting_silence: Annotated[
        int | None, _ms_option("Silence after a greeting that makes a human, ms")
    ] = None,
    total_analysis_time: Annotated[int | None, _ms_option("Longest analysis, ms")] = None,
    min_word_length: Annotated[int | None, _ms_option("Shortest word, ms")] = None,
    between_words_silence: Annotated[
        int | None, _ms_option("Shortest silence between words, ms")
    ] = None,
    maximum_number_of_words: Annotated[int | None, _ms_option("Words that make a machine")] = None,
    silence_threshold: Annotated[
        int | None, _ms_option("Mean absolute sample value of silence")
    ] = None,
    maximum_word_length: Annotated[int | None, _ms_option("Longest word, ms")] = None,
) -> None:
    """Classify recordings as HUMAN, MACHINE or NOTSURE: one line per file,
    ``FILE VERDICT cause decision_ms``. Parameters not given are the campaign's (--campaign),
    the recommended ones (--recommended) or Asterisk's defaults. Tune a campaign's settings on
    your own recordings."""
    from outbound.amd import AmdParams
    from outbound.amd.recommended import RECOMMENDED
    from outbound.amd.schemas import stored
    from outbound.amd.wav import WavFormatError, classify_wav
    from outbound.errors import DomainError

    base = RECOMMENDED if recommended else AmdParams()
    if campaign is not None:
        try:
            with _database(Config()).transaction() as session:
                base = stored(get_by_name_or_ref(session, campaign).amd).params()
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc
    given = {
        "initial_silence": initial_silence,
        "greeting": greeting,
        "after_greeting_silence": after_greeting_silence,
        "total_analysis_time": total_analysis_time,
        "min_word_length": min_word_length,
        "between_words_silence": between_words_silence,
        "maximum_number_of_words": maximum_number_of_words,
        "silence_threshold": silence_threshold,
        "maximum_word_length": maximum_word_length,
    }
    try:
        params = base.replace(**{k: v for k, v in given.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    failed = False
    for path in files:
        try:
            decision = classify_wav(path, params)
        except (WavFormatError, OSError) as exc:
            message = str(exc) if isinstance(exc, WavFormatError) else f"{path}: {exc.strerror}"
            typer.echo(f"error: {message}", err=True)
            failed = True
            continue
        typer.echo(f"{path} {decision.verdict} {decision.cause} {decision.decision_ms}")
    if failed:
        raise typer.Exit(1)


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[Role, typer.Option(help="admin, supervisor, viewer or agent")] = Role.ADMIN,
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file instead of a prompt")
    ] = None,
) -> None:
    """Create a user (the first admin, typically)."""
    from outbound.bootstrap import prepare
    from outbound.errors import DomainError
    from outbound.users import service

    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("the password must have at least 8 characters")
    config = Config()
    db = _database(config)
    prepare(db, first_admin=False)
    try:
        with db.transaction() as session:
            service.create_user(session, username=username, password=password, role=role)
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Created {role.value} {username!r}")


@users_app.command("list")
def users_list() -> None:
    """List users and their roles."""
    from outbound.users import service

    db = _database(Config())
    with db.transaction() as session:
        for user in service.list_users(session):
            state = "active" if user.is_active else "deactivated"
            typer.echo(f"{user.id}\t{user.username}\t{user.role.value}\t{state}")


@users_app.command("set-password")
def users_set_password(
    username: str,
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file")
    ] = None,
) -> None:
    """Reset a user's password (and lift a log-in block)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from outbound.models import User
    from outbound.users import service

    if password_file is not None:
        password = password_file.read_text(encoding="utf-8").strip()
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    db = _database(Config())
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            typer.echo(f"error: no user {username!r}", err=True)
            raise typer.Exit(1)
        service.update_user(session, user, actor=user, password=password, now=datetime.now(UTC))
    typer.echo(f"Password of {username!r} changed")


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The backup file to write")],
) -> None:
    """Back up the database to FILE while the service runs (SQLite: online backup API;
    PostgreSQL: pg_dump custom format). FILE is replaced only once the backup is complete."""
    from outbound.db import backup as backups

    url = Config().effective_database_url
    try:
        done = backups.backup(url, file)
    except backups.BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Backup written to {done.path} ({done.size} bytes, {done.method})")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A file written by outbound backup")],
) -> None:
    """Restore FILE into the (empty) database of OUTBOUND_DATABASE_URL, then migrate it."""
    from outbound.db import backup as backups

    url = Config().effective_database_url
    try:
        done = backups.restore(url, file)
    except backups.BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    shown = make_url(url).render_as_string(hide_password=True)
    typer.echo(f"Restored {done.path} into {shown} ({done.method}); schema migrated")


@app.command("check-db")
def check_db() -> None:
    """Check the database's integrity (schema version, foreign keys, contacts vs attempts)."""
    from outbound.db import integrity

    report = integrity.check(_database(Config()))
    states = ", ".join(f"{k} {v}" for k, v in sorted(report.states.items())) or "none"
    typer.echo(f"schema {report.revision} (newest {report.head}); contacts: {states}")
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if report.problems:
        raise typer.Exit(1)
    typer.echo("integrity: ok")


if __name__ == "__main__":
    app()
