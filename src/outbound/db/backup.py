"""Back up a live database to one file, and restore such a file into an empty database.

SQLite: the online backup API copies the database in one step under one read transaction,
so the copy is the database as of one instant (WAL mode lets the service keep writing
meanwhile); the copy is checked (``PRAGMA integrity_check``) before it replaces ``FILE``.
PostgreSQL: ``pg_dump -Fc`` (custom format), which dumps one snapshot of the database too;
``pg_restore`` reads it back. Either way the file is written next to ``FILE`` and renamed
over it only when complete, so a failed backup never destroys the previous one.

A restore goes only into an empty database (no table at all): merging a backup into live
data is never what anyone wants. The database is migrated to the newest schema afterwards,
so a backup taken by an older version restores into a newer one.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

from outbound.db.migrate import upgrade_head

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Where Debian and Ubuntu put each PostgreSQL version's client tools (often not on PATH).
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/libpq/bin")
PG_BIN_ENV = "OUTBOUND_PG_BIN"


class BackupError(Exception):
    """Why a backup or a restore cannot be done, in words an operator can act on."""


@dataclass(frozen=True)
class Done:
    path: Path
    size: int
    method: str


def backup(url: str, target: Path) -> Done:
    """Write a backup of the database at ``url`` to ``target`` (replaced if it exists)."""
    parsed = make_url(url)
    target = target.expanduser().resolve()
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            method = _sqlite_backup(_sqlite_path(parsed), partial)
        elif parsed.get_backend_name() == "postgresql":
            method = _pg_dump(parsed, partial)
        else:
            raise BackupError(f"no backup for {parsed.get_backend_name()} databases")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Done(target, target.stat().st_size, method)


def restore(url: str, source: Path) -> Done:
    """Restore ``source`` into the empty database at ``url``, then migrate it."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kind = (
        "sqlite"
        if head == SQLITE_MAGIC
        else "postgresql"
        if head.startswith(PGDUMP_MAGIC)
        else None
    )
    if kind is None:
        raise BackupError(f"{source} is neither an SQLite backup nor a pg_dump custom-format file")
    if kind != backend:
        raise BackupError(
            f"{source} is a {kind} backup and the database is {backend}: restore it into a "
            f"{kind} database (OUTBOUND_DATABASE_URL)"
        )
    _refuse_unless_empty(url)
    if backend == "sqlite":
        method = _sqlite_restore(source, _sqlite_path(parsed))
    else:
        method = _pg_restore(parsed, source)
    upgrade_head(url)
    return Done(source, source.stat().st_size, method)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(url.database)


def _sqlite_backup(path: Path, partial: Path) -> str:
    if not path.is_file():
        raise BackupError(f"no database file at {path}")
    source = sqlite3.connect(path, timeout=30)  # read only in effect; WAL needs write access
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)  # all pages in one step: one consistent snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        source.close()
    if verdict != "ok":
        raise BackupError(f"the copy of {path} fails SQLite's integrity check: {verdict}")
    return "sqlite online backup"


def _sqlite_restore(source: Path, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        verdict = backup_file.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupError(f"{source} fails SQLite's integrity check: {verdict}")
        target = sqlite3.connect(path, timeout=30)
        try:
            backup_file.backup(target)
        finally:
            target.close()
    finally:
        backup_file.close()
    return "sqlite online backup"


def _refuse_unless_empty(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
    except Exception as exc:  # the database cannot be opened: say which and why
        raise BackupError(f"cannot open the database to restore into: {exc}") from None
    finally:
        engine.dispose()
    if tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise BackupError(
            f"the database to restore into is not empty ({len(tables)} tables: {shown}); "
            "restore only into an empty database: create a new one (a new SQLite file, or "
            "createdb for PostgreSQL) and point OUTBOUND_DATABASE_URL at it"
        )


def find_pg_tool(name: str) -> Path:
    """The newest ``pg_dump``/``pg_restore`` found: in ``$OUTBOUND_PG_BIN`` if set (only
    there), else on PATH and in the usual install folders of PostgreSQL's client tools."""
    pinned = os.environ.get(PG_BIN_ENV)
    folders: list[str] = [pinned] if pinned else []
    if not pinned:
        folders += os.environ.get("PATH", "").split(os.pathsep)
        for pattern in PG_BIN_GLOBS:
            folders += glob(pattern)
    found = [Path(f) / name for f in folders if f and os.access(Path(f) / name, os.X_OK)]
    if not found:
        where = f"${PG_BIN_ENV} ({pinned})" if pinned else "PATH and " + ", ".join(PG_BIN_GLOBS)
        raise BackupError(
            f"{name} is not installed (looked in {where}): install PostgreSQL's client tools "
            f"(Debian/Ubuntu: apt install postgresql-client; the same major version as the "
            f"server or newer) or set {PG_BIN_ENV} to the folder holding {name}"
        )
    return max(found, key=_version)


def _version(tool: Path) -> tuple[int, ...]:
    try:
        out = subprocess.run(  # noqa: S603 (a PostgreSQL tool found by find_pg_tool)
            [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return ()
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    return tuple(int(g) for g in match.groups() if g) if match else ()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment carrying it (never
    on a command line other users can read)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(args: Sequence[str], env: dict[str, str], what: str) -> None:
    # A PostgreSQL tool found by find_pg_tool, with a list of arguments (no shell).
    done = subprocess.run(list(args), capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _pg_dump(url: URL, partial: Path) -> str:
    tool = find_pg_tool("pg_dump")
    uri, env = _libpq(url)
    _run([str(tool), "--format=custom", f"--file={partial}", f"--dbname={uri}"], env, "pg_dump")
    return f"pg_dump -Fc ({tool})"


def _pg_restore(url: URL, source: Path) -> str:
    tool = find_pg_tool("pg_restore")
    uri, env = _libpq(url)
    args = [
        str(tool),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={uri}",
        str(source),
    ]
    _run(args, env, "pg_restore")
    return f"pg_restore ({tool})"
