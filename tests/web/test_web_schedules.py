"""Schedule editor over HTTP: week grid windows, blackout dates, time zone; errors by field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def _schedule(client: TestClient, admin: Account, schedule_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/schedules/{schedule_id}", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _create(client: TestClient, token: str, name: str = "office-hours") -> int:
    made = client.post(
        "/schedules",
        data={"csrf_token": token, "name": name, "time_zone": "Europe/Paris"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    return int(made.headers["location"].split("?")[0].rsplit("/", 1)[1])


def _grid(stored: dict[str, Any], **fields: str) -> dict[str, str]:
    """The week grid form as the page fills it from ``stored``, with ``fields`` changed."""
    data: dict[str, str] = {}
    for i, w in enumerate(stored["windows"]):
        data |= {f"windows.{i}.day": w["day"], f"windows.{i}.start": w["start"]}
        data[f"windows.{i}.end"] = w["end"]
    return data | fields


def _windows(stored: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(w["day"], w["start"], w["end"]) for w in stored["windows"]]


def test_week_grid_add_edit_remove_windows_and_blackouts(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    stored = _schedule(client, admin, sid)
    assert stored["time_zone"] == "Europe/Paris" and len(stored["windows"]) == 7  # every day
    # Monday (row 0) gets a second window to midnight; Sunday (row 6) is removed
    data = _grid(stored, **{"add.mon.start": "21:00", "add.mon.end": "24:00"})
    data |= {"windows.0.end": "12:00", "csrf_token": token, "remove": "6"}
    saved = client.post(f"/schedules/{sid}/windows", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    windows = _windows(_schedule(client, admin, sid))
    assert windows[:2] == [("mon", "09:00", "12:00"), ("mon", "21:00", "24:00")]
    assert [d for d, _s, _e in windows] == ["mon", "mon", "tue", "wed", "thu", "fri", "sat"]
    page = client.get(f"/schedules/{sid}").text
    assert 'value="24:00"' in page and 'data-day="sun"' in page

    added = client.post(
        f"/schedules/{sid}/blackouts",
        data={"csrf_token": token, "date": "2026-12-25", "note": "Christmas"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    again = client.post(
        f"/schedules/{sid}/blackouts", data={"csrf_token": token, "date": "2026-12-25"}
    )
    assert again.status_code == 422
    assert "already blacked out" in (field_error(again.text, "b-date") or "")
    for bad, message in (("", "enter a date"), ("2026-02-30", "valid date")):
        refused = client.post(
            f"/schedules/{sid}/blackouts", data={"csrf_token": token, "date": bad}
        )
        assert message in (field_error(refused.text, "b-date") or ""), bad
    assert _schedule(client, admin, sid)["blackouts"] == [
        {"date": "2026-12-25", "note": "Christmas"}
    ]
    removed = client.post(
        f"/schedules/{sid}/blackouts/delete",
        data={"csrf_token": token, "date": "2026-12-25"},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert _schedule(client, admin, sid)["blackouts"] == []


def _row(row: str, start: str, end: str) -> dict[str, str]:
    return {f"{row}.start": start, f"{row}.end": end}


def test_window_errors_land_on_the_offending_row(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    stored = _schedule(client, admin, sid)
    before = _windows(stored)
    cases = [
        # a new Tuesday window overlapping the stored 09:00-20:00 one: the error is on it
        (_row("add.tue", "19:00", "21:00"), "w-add-tue", "overlaps window (tue 09:00-20:00)"),
        (_row("add.wed", "7pm", "21:00"), "w-add-wed-start", "not a time written HH:MM"),
        (_row("add.thu", "24:00", "24:00"), "w-add-thu-start", "24:00 may only end"),
        (_row("windows.2", "18:00", "08:00"), "w-windows-2-end", "must be after start"),
        (_row("windows.3", "09:00", "25:00"), "w-windows-3-end", "not a time of day"),
        (_row("windows.4", "09:00:00", "20:00"), "w-windows-4-start", "at most 5 characters"),
    ]
    for fields, field_id, message in cases:
        answer = client.post(
            f"/schedules/{sid}/windows", data=_grid(stored, csrf_token=token, **fields)
        )
        assert answer.status_code == 422, fields
        shown = field_error(answer.text, field_id)
        assert shown is not None and message in shown, (fields, shown)
        for value in fields.values():
            assert f'value="{value}"' in answer.text  # what was typed stays
    assert _windows(_schedule(client, admin, sid)) == before
    # the overlap is named by the row that clashes with an earlier one, here Monday's second
    overlap = client.post(
        f"/schedules/{sid}/windows",
        data=_grid(stored, csrf_token=token, **{"add.mon.start": "08:00", "add.mon.end": "10:00"}),
    )
    assert "overlaps" in (field_error(overlap.text, "w-add-mon") or "")
    assert field_error(overlap.text, "w-windows-0") is None


def test_settings_time_zone_name_and_contact_local_time(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    make_campaign(db, "uses-sched")
    token = login(admin)
    sid = _create(client, token)
    bad_zone = client.post(
        f"/schedules/{sid}",
        data={"csrf_token": token, "name": "office-hours", "time_zone": "Mars/Olympus"},
    )
    assert bad_zone.status_code == 422
    assert "not an IANA time zone" in (field_error(bad_zone.text, "s-time_zone") or "")
    assert "Europe/Paris" in bad_zone.text  # the datalist offers real zones
    taken = client.post(
        f"/schedules/{sid}",
        data={"csrf_token": token, "name": "SCHEDULE-USES-SCHED", "time_zone": "UTC"},
    )
    assert "already exists" in (field_error(taken.text, "s-name") or "")
    saved = client.post(
        f"/schedules/{sid}",
        data={
            "csrf_token": token,
            "name": "nights",
            "time_zone": "America/New_York",
            "contact_local_time": "on",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    stored = _schedule(client, admin, sid)
    assert (stored["name"], stored["time_zone"], stored["contact_local_time"]) == (
        "nights", "America/New_York", True,
    )  # fmt: skip
    new_bad = client.post("/schedules", data={"csrf_token": token, "name": "", "time_zone": "UTC"})
    assert "at least 1 character" in (field_error(new_bad.text, "new-name") or "")

    used = next(
        s["id"]
        for s in client.get("/api/v1/schedules", headers=admin.headers).json()
        if s["name"] == "schedule-uses-sched"
    )
    refused = client.post(f"/schedules/{used}/delete", data={"csrf_token": token})
    assert refused.status_code == 409 and "give them another schedule first" in refused.text
    gone = client.post(
        f"/schedules/{sid}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert client.get(f"/api/v1/schedules/{sid}", headers=admin.headers).status_code == 404


def test_viewer_reads_without_write_controls_and_writes_are_refused(
    client: TestClient, admin: Account, viewer: Account, login: Login
) -> None:
    admin_token = login(admin)
    sid = _create(client, admin_token)
    assert client.post(f"/schedules/{sid}/delete", data={}).status_code == 403  # no CSRF
    token = login(viewer)
    for path in ("/schedules", f"/schedules/{sid}"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<form" not in re.sub(
            r'<form method="post" action="/logout".*?</form>', "", page.text, flags=re.S
        )
    assert "09:00\u201320:00" in client.get(f"/schedules/{sid}").text
    for path in (
        "/schedules",
        f"/schedules/{sid}",
        f"/schedules/{sid}/windows",
        f"/schedules/{sid}/blackouts",
        f"/schedules/{sid}/blackouts/delete",
        f"/schedules/{sid}/delete",
    ):
        answer = client.post(path, data={"csrf_token": token, "name": "x", "date": "2026-01-01"})
        assert answer.status_code == 403, path
    assert _schedule(client, admin, sid)["name"] == "office-hours"


def test_unknown_schedule_is_a_404_page(client: TestClient, admin: Account, login: Login) -> None:
    token = login(admin)
    assert client.get("/schedules/999999").status_code == 404
    answer = client.post("/schedules/999999/windows", data={"csrf_token": token})
    assert answer.status_code == 404 and "not found" in answer.text
