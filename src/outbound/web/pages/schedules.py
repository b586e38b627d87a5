"""Schedule editor: the list, and one schedule's settings, week grid and blackout dates.

Any user reads; an administrator writes. Each part is its own plain form answered by a
redirect, or by the page again (422) with every error next to the input it is about: the
windows of the week grid are sent to the service as one list, and an error on the list's
item ``k`` is shown on the row that produced it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from outbound.api.deps import DbSession, now_utc
from outbound.api.schemas import IdPath
from outbound.campaigns.repository import names_using
from outbound.models import Schedule
from outbound.schedules import service
from outbound.schedules.schemas import ScheduleIn, ScheduleUpdate
from outbound.schedules.windows import Weekday, format_time, is_time_zone
from outbound.web import forms, nesting
from outbound.web.auth import AdminPost, Form, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

SETTINGS_FIELDS: dict[str, forms.Converter] = {
    "name": forms.text,
    "time_zone": forms.text,
    "contact_local_time": forms.checkbox,
}
DAY_NAMES = {
    Weekday.MON: "Monday",
    Weekday.TUE: "Tuesday",
    Weekday.WED: "Wednesday",
    Weekday.THU: "Thursday",
    Weekday.FRI: "Friday",
    Weekday.SAT: "Saturday",
    Weekday.SUN: "Sunday",
}
DONE = {
    "created": "Schedule created: open every day 09:00-20:00 until you change its windows.",
    "saved": "Saved.",
    "windows": "Windows saved.",
    "blackout": "Blackout date added.",
    "unblocked": "Blackout date removed.",
    "removed": "Schedule deleted.",
}
_ROW = re.compile(r"windows\.(\d+)\.day")
_WINDOW_NUMBER = re.compile(r"\bwindow \d+ \(")


def _date(raw: str | None) -> str:
    value = forms.text(raw)
    if not value:
        raise ValueError("enter a date (YYYY-MM-DD)")
    return value


BLACKOUT_FIELDS: dict[str, forms.Converter] = {"date": _date, "note": forms.text}


def _zones() -> list[str]:
    import zoneinfo

    return sorted(z for z in zoneinfo.available_timezones() if is_time_zone(z))


# --- the list ----------------------------------------------------------------------------


def _summary(schedule: Schedule) -> str:
    days = sorted({w.weekday for w in schedule.windows})
    if not days:
        return "never open"
    return ", ".join(Weekday.of(d).value.capitalize() for d in days)


def _list_page(
    request: Request, session: Session, form: forms.FormState, *, status_code: int = 200
) -> Response:
    schedules = service.list_schedules(session)
    context = {
        "schedules": schedules,
        "summaries": {s.id: _summary(s) for s in schedules},
        "used_by": {s.id: names_using(session, schedule_id=s.id) for s in schedules},
        "form": form,
        "zones": _zones(),
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "schedules/list.html", context, status_code=status_code)


@router.get("/schedules")
def schedules_page(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    return _list_page(request, session, forms.FormState.initial({"time_zone": "UTC"}, prefix="new"))


@router.post("/schedules")
def create(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, SETTINGS_FIELDS, prefix="new")
    payload = form.bind(ScheduleIn, SETTINGS_FIELDS)
    if payload is not None:
        with form.catching(session):
            schedule = service.create_schedule(session, payload, now=now_utc())
            return see_other(request, f"/schedules/{schedule.id}?done=created")
    return _list_page(request, session, form, status_code=422)


# --- one schedule ------------------------------------------------------------------------


def _initial_windows(schedule: Schedule) -> forms.FormState:
    ordered = sorted(schedule.windows, key=lambda w: (w.weekday, w.start_minute))
    values: dict[str, Any] = {}
    for i, w in enumerate(ordered):
        values[f"windows.{i}.day"] = Weekday.of(w.weekday).value
        values[f"windows.{i}.start"] = format_time(w.start_minute)
        values[f"windows.{i}.end"] = format_time(w.end_minute)
    return forms.FormState.initial(values, prefix="w")


def _rows_by_day(form: forms.FormState, removed: str | None = None) -> dict[str, list[str]]:
    """The window rows the grid shows, per day: their name prefixes (``windows.3``)."""
    rows: dict[str, list[str]] = {d.value: [] for d in Weekday}
    indices = sorted(int(m.group(1)) for k in form.values if (m := _ROW.fullmatch(k)))
    for i in indices:
        if str(i) == removed:
            continue
        day = form.values[f"windows.{i}.day"]
        if day in rows:
            rows[day].append(f"windows.{i}")
    return rows


def _page(
    request: Request,
    session: Session,
    schedule_id: int,
    shown: dict[str, forms.FormState] | None = None,
    *,
    removed: str | None = None,
    status_code: int = 200,
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    shown = shown or {}
    windows = shown.get("w") or _initial_windows(schedule)
    settings = shown.get("s") or forms.FormState.initial(
        {name: getattr(schedule, name) for name in SETTINGS_FIELDS}, prefix="s"
    )
    context = {
        "schedule": schedule,
        "settings": settings,
        "windows": windows,
        "rows": _rows_by_day(windows, removed),
        "days": [(d.value, DAY_NAMES[d]) for d in Weekday],
        "blackouts": sorted(schedule.blackouts, key=lambda b: b.day),
        "blackout_form": shown.get("b") or forms.FormState(prefix="b"),
        "delete_form": shown.get("del") or forms.FormState(prefix="del"),
        "zones": _zones(),
        "used_by": names_using(session, schedule_id=schedule.id),
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "schedules/detail.html", context, status_code=status_code)


@router.get("/schedules/{schedule_id}")
def detail(
    request: Request, schedule_id: IdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    return _page(request, session, schedule_id)


@router.post("/schedules/{schedule_id}")
def update(
    request: Request, schedule_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    form = forms.FormState.submitted(data, SETTINGS_FIELDS, prefix="s")
    payload = form.bind(ScheduleUpdate, SETTINGS_FIELDS)
    if payload is not None:
        with form.catching(session):
            service.update_schedule(session, schedule, payload, now=now_utc())
            return see_other(request, f"/schedules/{schedule_id}?done=saved")
    return _page(request, session, schedule_id, {"s": form}, status_code=422)


def _window_fields(data: FormData) -> dict[str, forms.Converter]:
    return {
        key: forms.text
        for key in data
        if (key.startswith("windows.") or key.startswith("add.")) and key.count(".") == 2
    }


@router.post("/schedules/{schedule_id}/windows")
def save_windows(
    request: Request, schedule_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    """Save the week grid: its rows less the one whose Remove was pressed, plus new rows."""
    schedule = service.get_schedule(session, schedule_id)
    form = forms.FormState.submitted(data, _window_fields(data), prefix="w")
    removed = data.get("remove")
    removed = removed if isinstance(removed, str) else None
    body: list[dict[str, str]] = []
    rename: dict[str, str] = {}
    rows = _rows_by_day(form, removed)
    for day, _name in DAY_NAMES.items():
        for row in rows[day.value]:
            rename[f"windows.{len(body)}"] = row
            start, end = form.value(f"{row}.start"), form.value(f"{row}.end")
            body.append({"day": day.value, "start": start, "end": end})
        start, end = form.value(f"add.{day.value}.start"), form.value(f"add.{day.value}.end")
        if start or end:
            rename[f"windows.{len(body)}"] = f"add.{day.value}"
            body.append({"day": day.value, "start": start, "end": end})
    payload = nesting.validate(form, ScheduleUpdate, {"windows": body}, rename=rename)
    if payload is not None:
        with form.catching(session):
            service.update_schedule(session, schedule, payload, now=now_utc())
            return see_other(request, f"/schedules/{schedule_id}?done=windows")
        nesting.rename_errors(form, rename)
    rows_shown = [f"{row}{part}" for row in rename.values() for part in ("", ".start", ".end")]
    nesting.keep_only(form, rows_shown)
    form.errors = {
        name: [_WINDOW_NUMBER.sub("window (", m) for m in messages]
        for name, messages in form.errors.items()
    }
    return _page(request, session, schedule_id, {"w": form}, removed=removed, status_code=422)


def _blackout_body(schedule: Schedule, *, drop: date | None = None) -> list[dict[str, Any]]:
    return [
        {"date": b.day, "note": b.note}
        for b in sorted(schedule.blackouts, key=lambda b: b.day)
        if b.day != drop
    ]


@router.post("/schedules/{schedule_id}/blackouts")
def add_blackout(
    request: Request, schedule_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    form = forms.FormState.submitted(data, BLACKOUT_FIELDS, prefix="b")
    body = nesting.convert(form, BLACKOUT_FIELDS)
    if body is not None:
        existing = _blackout_body(schedule)
        n = len(existing)
        rename = {
            f"blackouts.{n}": "date",
            f"blackouts.{n}.date": "date",
            f"blackouts.{n}.note": "note",
        }
        payload = nesting.validate(
            form, ScheduleUpdate, {"blackouts": [*existing, body]}, rename=rename
        )
        if payload is not None:
            with form.catching(session):
                service.update_schedule(session, schedule, payload, now=now_utc())
                return see_other(request, f"/schedules/{schedule_id}?done=blackout")
            nesting.rename_errors(form, rename)
        nesting.keep_only(form, ("date", "note"))
    return _page(request, session, schedule_id, {"b": form}, status_code=422)


@router.post("/schedules/{schedule_id}/blackouts/delete")
def remove_blackout(
    request: Request, schedule_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    raw = data.get("date")
    try:
        day = date.fromisoformat(raw if isinstance(raw, str) else "")
    except ValueError:
        day = None
    body = _blackout_body(schedule, drop=day)
    service.update_schedule(
        session, schedule, ScheduleUpdate.model_validate({"blackouts": body}), now=now_utc()
    )
    return see_other(request, f"/schedules/{schedule_id}?done=unblocked")


@router.post("/schedules/{schedule_id}/delete")
def delete(
    request: Request, schedule_id: IdPath, _caller: AdminPost, session: DbSession
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    form = forms.FormState(prefix="del")
    with form.catching(session):
        service.delete_schedule(session, schedule)
        return see_other(request, "/schedules?done=removed")
    return _page(request, session, schedule_id, {"del": form}, status_code=409)
