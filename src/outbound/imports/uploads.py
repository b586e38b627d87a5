"""Uploaded contact files: checked and copied to the data folder, where they wait for their job.

Shared by the REST upload and the web UI's upload page, so both refuse the same files.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.errors import Invalid
from outbound.imports.reader import SNIFF_BYTES, FileRejected, check_text
from outbound.models import ImportJob, ImportSource, ImportStatus

ALLOWED_SUFFIXES = (".csv", ".txt")
COPY_CHUNK = 1024 * 1024


class Upload(Protocol):
    """What FastAPI's and Starlette's ``UploadFile`` both offer."""

    filename: str | None
    file: BinaryIO


def safe_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", base)[:120] or "upload.csv"


def store_upload(upload: Upload, folder: Path) -> Path:
    """Copy the upload to ``folder``; 422 on ``file`` if it is no contact file.

    "Empty" is judged on the whole file, not its first bytes: blank lines may come before
    the first row, and however many there are, the row is imported.
    """
    name = upload.filename or ""
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise Invalid(("body", "file"), "the file must be a .csv or .txt file")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}-{safe_name(name)}"
    try:
        with target.open("wb") as out:
            has_text = _copy(upload.file, out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if not has_text:
        target.unlink(missing_ok=True)
        raise Invalid(("body", "file"), "the file is empty")
    return target


def _copy(source: BinaryIO, out: BinaryIO) -> bool:
    """Copy; True if the file holds more than white space. Its first bytes that are not
    white space are checked to be text."""
    has_text = False
    while chunk := source.read(COPY_CHUNK):
        if not has_text and chunk.strip():
            has_text = True
            try:
                check_text(chunk.lstrip()[:SNIFF_BYTES])
            except FileRejected as exc:
                raise Invalid(("body", "file"), str(exc)) from None
        out.write(chunk)
    return has_text


def discard_finished(session: Session, folder: Path) -> int:
    """Delete the files of finished upload jobs (kept forever before); returns how many.

    The job keeps its counts and its rejected rows (the report is built from those), so
    nothing a user can ask for is lost. Only files inside the uploads ``folder`` are ever
    deleted: a CLI import points at the user's own file, a folder job is archived instead.
    """
    done = select(ImportJob).where(
        ImportJob.source == ImportSource.UPLOAD,
        ImportJob.status.in_([ImportStatus.COMPLETED, ImportStatus.FAILED]),
        ImportJob.stored_path.is_not(None),
    )
    root = folder.resolve()
    removed = 0
    for job in session.scalars(done.limit(100)):
        path = Path(job.stored_path or "")
        if path.resolve().parent == root:
            path.unlink(missing_ok=True)
            removed += 1
        job.stored_path = None
    return removed
