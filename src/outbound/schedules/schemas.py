"""API shapes for schedules: weekday windows written "HH:MM" and blackout dates."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from outbound.api.schemas import NoNul, Strict, not_null
from outbound.models import Schedule
from outbound.schedules.windows import MAX_WINDOWS_PER_DAY, Weekday, format_time, time_zones


def _date_text(value: object) -> object:
    # Without this, pydantic would read a number as seconds since 1970.
    if not isinstance(value, str | dt.date):
        raise ValueError('a date is written "YYYY-MM-DD"')
    return value


def _clean_name(value: str) -> str:
    if value != value.strip():
        raise ValueError("name may not start or end with spaces")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("name may not contain control characters")
    return value


# The same rule as _clean_name, for the document: no control character, no space at the ends.
_NAME_CHAR = "[^\\x00-\\x1f\\x7f-\\x9f]"
_NAME_END = "[^\\s\\x00-\\x1f\\x7f-\\x9f]"
ScheduleName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_clean_name),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": f"^{_NAME_END}(?:{_NAME_CHAR}*{_NAME_END})?$",
        }
    ),
]
# The zones this server's tz database knows, listed in the document (the service checks).
TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    WithJsonSchema({"type": "string", "enum": sorted(time_zones())}),
]
# The service parses times so it can say which window is wrong and why; the document gives
# the same rule as a pattern ("9:00" and "09:00" alike; only an end may be "24:00").
_HOUR_MINUTE = "(?:[01]?[0-9]|2[0-3]):[0-5][0-9]"
StartText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=5),
    WithJsonSchema({"type": "string", "pattern": f"^{_HOUR_MINUTE}$"}),
]
EndText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=5),
    WithJsonSchema({"type": "string", "pattern": f"^(?:{_HOUR_MINUTE}|24:00)$"}),
]
Note = Annotated[str, StringConstraints(max_length=255), NoNul]

MAX_WINDOWS = 7 * MAX_WINDOWS_PER_DAY
MAX_BLACKOUTS = 1000


class WindowIn(Strict):
    day: Weekday
    start: StartText = Field(description='"HH:MM", from "00:00" to "23:59"')
    end: EndText = Field(description='"HH:MM", after start; "24:00" means midnight')


class BlackoutIn(Strict):
    date: Annotated[dt.date, BeforeValidator(_date_text)]
    note: Note = ""


WindowList = Annotated[list[WindowIn], Field(max_length=MAX_WINDOWS)]
BlackoutList = Annotated[list[BlackoutIn], Field(max_length=MAX_BLACKOUTS)]


class ScheduleIn(Strict):
    """A whole schedule (create, or replace with PUT).

    Without ``windows`` every day is open 09:00-20:00; an empty list means never open.
    """

    name: ScheduleName
    time_zone: TimeZoneName = Field(description='IANA zone, e.g. "Europe/Paris"')
    contact_local_time: StrictBool = Field(
        default=False,
        description="Apply the windows in each contact's own time zone, from the phone number",
    )
    windows: WindowList | None = None
    blackouts: BlackoutList = Field(default_factory=list)


class ScheduleUpdate(Strict):
    """Only the fields given change; a given ``windows`` or ``blackouts`` replaces that list."""

    # Optional, never null (the service refuses a null: leave the field out to keep it).
    name: ScheduleName | None = Field(default=None, json_schema_extra=not_null)
    time_zone: TimeZoneName | None = Field(default=None, json_schema_extra=not_null)
    contact_local_time: StrictBool | None = Field(default=None, json_schema_extra=not_null)
    windows: WindowList | None = Field(default=None, json_schema_extra=not_null)
    blackouts: BlackoutList | None = Field(default=None, json_schema_extra=not_null)


class WindowOut(BaseModel):
    day: Weekday
    start: str
    end: str


class BlackoutOut(BaseModel):
    date: dt.date
    note: str


class ScheduleOut(BaseModel):
    id: int
    name: str
    time_zone: str
    contact_local_time: bool
    builtin: bool
    windows: list[WindowOut]
    blackouts: list[BlackoutOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def build(cls, schedule: Schedule) -> ScheduleOut:
        windows = sorted(schedule.windows, key=lambda w: (w.weekday, w.start_minute))
        return cls(
            id=schedule.id,
            name=schedule.name,
            time_zone=schedule.time_zone,
            contact_local_time=schedule.contact_local_time,
            builtin=schedule.builtin,
            windows=[
                WindowOut(
                    day=Weekday.of(w.weekday),
                    start=format_time(w.start_minute),
                    end=format_time(w.end_minute),
                )
                for w in windows
            ],
            blackouts=[
                BlackoutOut(date=b.day, note=b.note)
                for b in sorted(schedule.blackouts, key=lambda b: b.day)
            ],
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )
