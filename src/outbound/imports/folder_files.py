"""File-system side of the watched folder: naming, link refusal, atomic writes and moves.

No database here. Nothing in this module follows a link: paths are judged by ``lstat``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

PROCESSING = ".processing"
FAILED = "failed"
ACCEPTED_SUFFIXES = (".csv", ".txt")
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload")
MAX_NAME_BYTES = 200  # leaves room for the uuid or timestamp prefix and the report suffix
FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Folders:
    """The two configured folders, as real paths (links resolved once, here)."""

    watch: Path
    archive: Path

    @property
    def processing(self) -> Path:
        return self.watch / PROCESSING


def folder_problem(folders: Folders) -> str | None:
    for label, path in (("watched", folders.watch), ("archive", folders.archive)):
        if not path.is_dir():
            return f"the {label} folder {path} does not exist or is not a folder"
    processing = folders.processing
    if processing.is_symlink() or (os.path.lexists(processing) and not processing.is_dir()):
        return f"{processing} is a link or a file: refused"
    watch, archive = folders.watch, folders.archive  # both real paths already
    if watch.is_relative_to(archive) or archive.is_relative_to(watch):
        return "the watched folder and the archive folder must not contain each other"
    return None


def entries(directory: Path) -> list[os.DirEntry[str]]:
    """A folder's entries by name; none if it vanished or can't be listed (logged)."""
    try:
        with os.scandir(directory) as listing:
            return sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        log.warning("cannot list %s: %s", directory, exc)
        return []


def subdirs(root: Path) -> Iterable[Path]:
    for entry in entries(root):
        if entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def is_candidate(name: str) -> bool:
    lower = name.lower()
    if name.startswith(".") or lower.endswith(PARTIAL_SUFFIXES):
        return False
    return lower.endswith(ACCEPTED_SUFFIXES)


def in_progress(name: str) -> bool:
    """A name writers give a file until it is whole (then they rename it): waited for."""
    return name.lower().endswith(PARTIAL_SUFFIXES)


def not_imported(name: str) -> str:
    """Why a file that is no candidate is not imported (said in its reason file)."""
    if name.startswith("."):
        return "a hidden file (its name starts with '.'): not imported"
    return "not a contact file: only .csv and .txt files are imported"


def ends_a_line(path: Path) -> bool:
    """True if the file is empty or its last byte ends a line.

    A writer that pauses mid-file has most often written a part that stops mid-row, which
    would import as a cut row (and its rest, written later under the same name, as a file
    of its own without a header). Such a file is given longer to settle (see folder.py).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return True  # judged when it is taken
    try:
        size = os.fstat(fd).st_size
        return size == 0 or os.pread(fd, 1, size - 1) == b"\n"
    finally:
        os.close(fd)


def file_problem(path: Path) -> str | None:
    """Why this path must not be imported, judged without following it."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "the file is a symbolic link: links are refused and the linked file was not read"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"
    if info.st_nlink > 1:
        return f"the file is a hard link ({info.st_nlink} names): links are refused"
    return None


def unreadable(path: Path) -> str | None:
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC))
    except PermissionError:
        return "the service may not read the file (permission denied)"
    return None


def being_written(path: Path) -> bool:
    """True if a process on this machine has the file open for writing.

    A read lease is refused exactly then. Best effort: writers on other machines (shares)
    are not seen, nor is anything where leases are unsupported; the stable-size rule
    covers those.
    """
    set_lease = getattr(fcntl, "F_SETLEASE", None)
    if set_lease is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.fcntl(fd, set_lease, fcntl.F_RDLCK)
        fcntl.fcntl(fd, set_lease, fcntl.F_UNLCK)
    except OSError as exc:
        return exc.errno == errno.EAGAIN
    finally:
        os.close(fd)
    return False


def own_dir(root: Path, *parts: str, private: bool = False) -> Path:
    """``root/parts…``, created as needed; refuses a link or a file on the way."""
    path = root
    for part in parts:
        path = path / part
        if path.is_symlink() or (os.path.lexists(path) and not path.is_dir()):
            raise RuntimeError(f"{path} is a link or a file, not a folder: refused")
        if not path.exists():
            path.mkdir(mode=0o700 if private else 0o777, exist_ok=True)
    return path


def safe_name(name: str) -> str:
    """A name that is one path component and valid UTF-8 (file names may be any bytes)."""
    clean = os.fsencode(name).decode("utf-8", "replace").replace("\x00", "")
    clean = re.split(r"[/\\]", clean)[-1]
    return "file" if clean in ("", ".", "..") else clean


def split_name(name: str) -> tuple[str, str]:
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 15:
        return name, ""
    return stem, f".{suffix}"


def fit(name: str) -> str:
    """Shorten a name to MAX_NAME_BYTES, keeping its extension."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, suffix = split_name(name)
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode("utf-8", "ignore") + suffix


def free_name(folder: Path, stamp: datetime, name: str, taken: set[str]) -> Path:
    """``<UTC timestamp>-<name>``, or ``…-<stem>-2.csv`` and on if that is used."""
    prefix = stamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = fit(safe_name(name))
    stem, suffix = split_name(base)
    number = 1
    while True:
        candidate = folder / (
            f"{prefix}-{base}" if number == 1 else f"{prefix}-{stem}-{number}{suffix}"
        )
        if str(candidate) not in taken and not os.path.lexists(candidate):
            return candidate
        number += 1


def beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def move(source: Path, dest: Path, *, copy: bool = True) -> None:
    """Move a file, or finish a move a crash interrupted (source gone, dest there).

    Across file systems the file is copied under a temporary name, renamed into place and
    only then removed. With ``copy=False`` (links, fifos) the name is only removed there:
    a link's data lives on at its other end.
    """
    if not os.path.lexists(source) and os.path.lexists(dest):
        return
    try:
        os.rename(source, dest)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    if copy:
        temporary = dest.with_name(f".{dest.name}.partial")
        with source.open("rb") as src, temporary.open("wb") as out:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, dest)
    source.unlink()


def write_atomic(path: Path, write: Callable[[TextIO], object]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8", newline="") as out:
        write(out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def cell(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ gets an apostrophe."""
    return f"'{value}" if value.startswith(FORMULA_LEAD) else value
