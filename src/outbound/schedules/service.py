"""Schedules: create, replace, patch and delete, and the built-in Default schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.api.schemas import MAX_ID
from outbound.campaigns.repository import names_using
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Schedule, ScheduleBlackout, ScheduleWindow
from outbound.schedules.schemas import BlackoutIn, ScheduleIn, ScheduleUpdate, WindowIn
from outbound.schedules.windows import (
    Window,
    WindowError,
    default_windows,
    first_duplicate,
    is_time_zone,
    parse_windows,
)

DEFAULT_NAME = "Default"
DEFAULT_TIME_ZONE = "UTC"
# Ids above this cannot exist (32-bit primary keys); answering 404 spares the database.


def list_schedules(session: Session) -> list[Schedule]:
    return list(session.scalars(select(Schedule).order_by(Schedule.id)))


def get_schedule(session: Session, schedule_id: int) -> Schedule:
    schedule = session.get(Schedule, schedule_id) if 0 < schedule_id <= MAX_ID else None
    if schedule is None:
        raise NotFound(f"schedule {schedule_id} not found")
    return schedule


def create_schedule(session: Session, data: ScheduleIn, *, now: datetime) -> Schedule:
    _check_name(session, data.name)
    _check_zone(data.time_zone)
    windows = default_windows() if data.windows is None else _windows(data.windows)
    blackouts = _blackouts(data.blackouts)
    schedule = Schedule(
        name=data.name,
        time_zone=data.time_zone,
        contact_local_time=data.contact_local_time,
        builtin=False,
        created_at=now,
        updated_at=now,
    )
    schedule.windows = _window_rows(windows)
    schedule.blackouts = blackouts
    session.add(schedule)
    session.flush()
    return schedule


def replace_schedule(
    session: Session, schedule: Schedule, data: ScheduleIn, *, now: datetime
) -> Schedule:
    """PUT: the body is the whole schedule; what it leaves out takes the creation default."""
    _check_name(session, data.name, exclude_id=schedule.id)
    _check_zone(data.time_zone)
    windows = default_windows() if data.windows is None else _windows(data.windows)
    blackouts = _blackouts(data.blackouts)
    schedule.name = data.name
    schedule.time_zone = data.time_zone
    schedule.contact_local_time = data.contact_local_time
    _replace_lists(session, schedule, windows=windows, blackouts=blackouts)
    schedule.updated_at = now
    session.flush()
    return schedule


def update_schedule(
    session: Session, schedule: Schedule, patch: ScheduleUpdate, *, now: datetime
) -> Schedule:
    """PATCH: only the fields given change; validated whole before anything is touched."""
    for key in patch.model_fields_set:
        if getattr(patch, key) is None:
            raise Invalid(("body", key), f"{key} cannot be null; leave it out to keep it")
    if patch.name is not None:
        _check_name(session, patch.name, exclude_id=schedule.id)
    if patch.time_zone is not None:
        _check_zone(patch.time_zone)
    windows = _windows(patch.windows) if patch.windows is not None else None
    blackouts = _blackouts(patch.blackouts) if patch.blackouts is not None else None
    if patch.name is not None:
        schedule.name = patch.name
    if patch.time_zone is not None:
        schedule.time_zone = patch.time_zone
    if patch.contact_local_time is not None:
        schedule.contact_local_time = patch.contact_local_time
    _replace_lists(session, schedule, windows=windows, blackouts=blackouts)
    schedule.updated_at = now
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: Schedule) -> None:
    if schedule.builtin:
        raise Conflict(f"schedule {schedule.name!r} is built in and cannot be deleted")
    users = names_using(session, schedule_id=schedule.id)
    if users:
        names = ", ".join(repr(n) for n in users[:5]) + (", …" if len(users) > 5 else "")
        raise Conflict(
            f"schedule {schedule.name!r} is used by campaign(s) {names}; "
            "give them another schedule first"
        )
    session.delete(schedule)
    session.flush()


def default_schedule(session: Session) -> Schedule:
    """The built-in schedule a campaign gets when it names none."""
    return ensure_default_schedule(session)


def ensure_default_schedule(session: Session) -> Schedule:
    """Create the built-in Default schedule (UTC, every day 09:00-20:00) if it is missing."""
    schedule = session.scalar(
        select(Schedule).where(Schedule.builtin.is_(True)).order_by(Schedule.id).limit(1)
    )
    if schedule is None:
        # A hand-made schedule may hold the name if the built-in one was removed in the database.
        taken = session.scalar(select(Schedule.id).where(Schedule.name == DEFAULT_NAME))
        name = DEFAULT_NAME if taken is None else f"{DEFAULT_NAME} (built-in)"
        schedule = Schedule(name=name, time_zone=DEFAULT_TIME_ZONE, builtin=True)
        schedule.windows = _window_rows(default_windows())
        session.add(schedule)
        session.flush()
    return schedule


def _check_name(session: Session, name: str, *, exclude_id: int | None = None) -> None:
    # Compared in Python: SQLite's lower() folds only ASCII, and schedules are few.
    wanted = name.casefold()
    for other_id, other in session.execute(select(Schedule.id, Schedule.name)):
        if other_id != exclude_id and other.casefold() == wanted:
            raise Conflict(
                f"a schedule named {other!r} already exists (names ignore case)",
                loc=("body", "name"),
            )


def _check_zone(name: str) -> None:
    if not is_time_zone(name):
        raise Invalid(
            ("body", "time_zone"),
            f"{name!r} is not an IANA time zone; use a name such as 'Europe/Paris' or 'UTC'",
        )


def _windows(raw: Sequence[WindowIn]) -> list[Window]:
    try:
        return parse_windows([(w.day, w.start, w.end) for w in raw])
    except WindowError as exc:
        loc: tuple[str | int, ...] = ("body", "windows", exc.index)
        raise Invalid((*loc, exc.field) if exc.field else loc, exc.message) from None


def _blackouts(raw: Sequence[BlackoutIn]) -> list[ScheduleBlackout]:
    duplicate = first_duplicate(b.date for b in raw)
    if duplicate is not None:
        first, second = duplicate
        raise Invalid(
            ("body", "blackouts", second, "date"),
            f"{raw[second].date.isoformat()} is already blacked out by blackout {first}",
        )
    return [ScheduleBlackout(day=b.date, note=b.note) for b in raw]


def _window_rows(windows: Sequence[Window]) -> list[ScheduleWindow]:
    return [
        ScheduleWindow(weekday=w.weekday, start_minute=w.start, end_minute=w.end)
        for w in sorted(windows)
    ]


def _replace_lists(
    session: Session,
    schedule: Schedule,
    *,
    windows: Sequence[Window] | None,
    blackouts: list[ScheduleBlackout] | None,
) -> None:
    if windows is not None:
        schedule.windows = _window_rows(windows)
    if blackouts is not None:
        # Flush the removals first: the new rows may reuse a date, which is unique per schedule.
        schedule.blackouts.clear()
        session.flush()
        schedule.blackouts.extend(blackouts)
