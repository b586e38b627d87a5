"""REST routes for schedules: any user reads, an admin changes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from outbound.api.deps import Admin, DbSession, Viewer, now_utc
from outbound.schedules import service
from outbound.schedules.schemas import ScheduleIn, ScheduleOut, ScheduleUpdate

router = APIRouter(prefix="/schedules", tags=["schedules"])


@router.get("", response_model=list[ScheduleOut])
def list_schedules(_user: Viewer, session: DbSession) -> list[ScheduleOut]:
    return [ScheduleOut.build(s) for s in service.list_schedules(session)]


@router.post("", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED)
def create_schedule(body: ScheduleIn, _admin: Admin, session: DbSession) -> ScheduleOut:
    """Create a schedule; without `windows`, every day is open 09:00-20:00."""
    return ScheduleOut.build(service.create_schedule(session, body, now=now_utc()))


@router.get("/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: int, _user: Viewer, session: DbSession) -> ScheduleOut:
    return ScheduleOut.build(service.get_schedule(session, schedule_id))


@router.put("/{schedule_id}", response_model=ScheduleOut)
def replace_schedule(
    schedule_id: int, body: ScheduleIn, _admin: Admin, session: DbSession
) -> ScheduleOut:
    """Replace the whole schedule, windows and blackouts included."""
    schedule = service.get_schedule(session, schedule_id)
    return ScheduleOut.build(service.replace_schedule(session, schedule, body, now=now_utc()))


@router.patch("/{schedule_id}", response_model=ScheduleOut)
def update_schedule(
    schedule_id: int, body: ScheduleUpdate, _admin: Admin, session: DbSession
) -> ScheduleOut:
    """Change the fields given; a given `windows` or `blackouts` list replaces the old one."""
    schedule = service.get_schedule(session, schedule_id)
    return ScheduleOut.build(service.update_schedule(session, schedule, body, now=now_utc()))


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: int, _admin: Admin, session: DbSession) -> Response:
    """Delete a schedule no campaign uses; the built-in Default stays."""
    service.delete_schedule(session, service.get_schedule(session, schedule_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
