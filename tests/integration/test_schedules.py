"""Schedules over the REST API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from outbound.models import Campaign
from outbound.strategies.service import ensure_default_strategy
from tests.conftest import Account

URL = "/api/v1/schedules"
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULT_WINDOWS = [{"day": d, "start": "09:00", "end": "20:00"} for d in ALL_DAYS]


def _fields(response: Any) -> list[str]:
    return [item["field"] for item in response.json()["detail"]]


def _create(client: TestClient, admin: Account, **body: Any) -> dict[str, Any]:
    body = {"name": "Weekdays", "time_zone": "Europe/Paris"} | body
    response = client.post(URL, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_builtin_default_schedule_is_utc_every_day(client: TestClient, viewer: Account) -> None:
    response = client.get(URL, headers=viewer.headers)
    assert response.status_code == 200
    [default] = response.json()
    assert default["name"] == "Default"
    assert default["builtin"] is True
    assert default["time_zone"] == "UTC"
    assert default["windows"] == DEFAULT_WINDOWS


def test_create_without_windows_opens_every_day(client: TestClient, admin: Account) -> None:
    created = _create(client, admin)
    assert created["windows"] == DEFAULT_WINDOWS
    assert created["blackouts"] == []
    assert created["contact_local_time"] is False
    assert created["builtin"] is False
    fetched = client.get(f"{URL}/{created['id']}", headers=admin.headers).json()
    assert fetched == created


def test_create_with_windows_and_blackouts(client: TestClient, admin: Account) -> None:
    windows = [
        {"day": "tue", "start": "18:00", "end": "24:00"},
        {"day": "mon", "start": "13:30", "end": "17:00"},
        {"day": "mon", "start": "08:00", "end": "12:00"},
        {"day": "mon", "start": "12:00", "end": "13:30"},  # touching is not overlapping
    ]
    blackouts = [
        {"date": "2030-12-25", "note": "Christmas"},
        {"date": "2030-01-01", "note": ""},
    ]
    created = _create(
        client,
        admin,
        name="Split days",
        time_zone="America/New_York",
        contact_local_time=True,
        windows=windows,
        blackouts=blackouts,
    )
    assert created["contact_local_time"] is True
    assert created["windows"] == [
        {"day": "mon", "start": "08:00", "end": "12:00"},
        {"day": "mon", "start": "12:00", "end": "13:30"},
        {"day": "mon", "start": "13:30", "end": "17:00"},
        {"day": "tue", "start": "18:00", "end": "24:00"},
    ]
    assert [b["date"] for b in created["blackouts"]] == ["2030-01-01", "2030-12-25"]
    names = [s["name"] for s in client.get(URL, headers=admin.headers).json()]
    assert names == ["Default", "Split days"]


def test_an_empty_window_list_means_never_open(client: TestClient, admin: Account) -> None:
    assert _create(client, admin, windows=[])["windows"] == []


def test_invalid_schedules_are_refused_naming_the_field(client: TestClient, admin: Account) -> None:
    mon = {"day": "mon", "start": "09:00", "end": "12:00"}
    many = [{"day": "fri", "start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(21)]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "IANA"),
        ({"time_zone": "localtime"}, "time_zone", "IANA"),
        ({"name": ""}, "name", ""),
        ({"name": "x" * 65}, "name", ""),
        ({"name": "tab\there"}, "name", "control"),
        ({"name": " padded"}, "name", "spaces"),
        ({"windows": [{**mon, "start": "25:00"}]}, "windows.0.start", "time of day"),
        ({"windows": [{**mon, "start": "9h"}]}, "windows.0.start", "HH:MM"),
        ({"windows": [{**mon, "end": "12:00:00"}]}, "windows.0.end", ""),
        ({"windows": [{**mon, "start": "10:60"}]}, "windows.0.start", ""),
        ({"windows": [{**mon, "start": "24:00"}]}, "windows.0.start", "24:00"),
        ({"windows": [{**mon, "end": "24:01"}]}, "windows.0.end", ""),
        ({"windows": [mon, {**mon, "start": "12:00", "end": "12:00"}]}, "windows.1.end", "after"),
        ({"windows": [mon, {**mon, "start": "14:00", "end": "13:00"}]}, "windows.1.end", "after"),
        ({"windows": [{**mon, "day": "monday"}]}, "windows.0.day", ""),
        (
            {
                "windows": [
                    mon,
                    {"day": "tue", **_t("09:00", "10:00")},
                    {**mon, **_t("11:59", "13:00")},
                ]
            },
            "windows.2",
            "overlaps window 0",
        ),
        ({"windows": [{**mon, **_t("10:00", "11:00")}, mon]}, "windows.1", "overlaps window 0"),
        ({"windows": many}, "windows.20", "at most 20"),
        (
            {"blackouts": [{"date": "2030-05-01"}, {"date": "2030-05-01", "note": "again"}]},
            "blackouts.1.date",
            "already",
        ),
        ({"blackouts": [{"date": "2030-02-30"}]}, "blackouts.0.date", ""),
        ({"blackouts": [{"date": 0}]}, "blackouts.0.date", ""),
        ({"blackouts": [{"date": "2030-05-01", "note": "n" * 256}]}, "blackouts.0.note", ""),
        ({"contact_local_time": 1}, "contact_local_time", ""),
        ({"colour": "red"}, "colour", ""),
    ]
    for patch, field, words in cases:
        body = {"name": "Checked", "time_zone": "UTC"} | patch
        response = client.post(URL, json=body, headers=admin.headers)
        assert response.status_code == 422, (patch, response.text)
        assert _fields(response) == [field], (patch, response.json())
        assert words in response.json()["detail"][0]["msg"], (patch, response.json())
    assert len(client.get(URL, headers=admin.headers).json()) == 1


def _t(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end}


def test_twenty_windows_a_day_are_allowed(client: TestClient, admin: Account) -> None:
    windows = [{"day": "fri", **_t(f"{h:02d}:00", f"{h:02d}:30")} for h in range(20)]
    assert len(_create(client, admin, windows=windows)["windows"]) == 20


def test_names_are_unique_ignoring_case(client: TestClient, admin: Account) -> None:
    first = _create(client, admin, name="Evenings")
    response = client.post(
        URL, json={"name": "EVENINGS", "time_zone": "UTC"}, headers=admin.headers
    )
    assert response.status_code == 409
    other = _create(client, admin, name="Mornings")
    response = client.patch(
        f"{URL}/{other['id']}", json={"name": "evenings"}, headers=admin.headers
    )
    assert response.status_code == 409
    # Renaming a schedule to another spelling of its own name is fine.
    response = client.patch(
        f"{URL}/{first['id']}", json={"name": "EVENINGS"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["name"] == "EVENINGS"


def test_put_replaces_the_whole_schedule(client: TestClient, admin: Account) -> None:
    created = _create(
        client,
        admin,
        contact_local_time=True,
        windows=[{"day": "sat", **_t("10:00", "14:00")}],
        blackouts=[{"date": "2030-07-14", "note": "Bastille Day"}],
    )
    response = client.put(
        f"{URL}/{created['id']}",
        json={"name": "Renamed", "time_zone": "Asia/Tokyo"},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    replaced = client.get(f"{URL}/{created['id']}", headers=admin.headers).json()
    assert replaced["name"] == "Renamed"
    assert replaced["time_zone"] == "Asia/Tokyo"
    assert replaced["contact_local_time"] is False
    assert replaced["windows"] == DEFAULT_WINDOWS
    assert replaced["blackouts"] == []
    response = client.put(f"{URL}/{created['id']}", json={"name": "No zone"}, headers=admin.headers)
    assert response.status_code == 422
    assert _fields(response) == ["time_zone"]


def test_patch_changes_only_what_is_given(client: TestClient, admin: Account) -> None:
    created = _create(client, admin, blackouts=[{"date": "2030-12-25", "note": "Christmas"}])
    url = f"{URL}/{created['id']}"
    response = client.patch(
        url, json={"windows": [{"day": "wed", **_t("08:00", "09:00")}]}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    patched = client.get(url, headers=admin.headers).json()
    assert patched["windows"] == [{"day": "wed", "start": "08:00", "end": "09:00"}]
    assert patched["blackouts"] == created["blackouts"]
    assert patched["time_zone"] == "Europe/Paris"
    # A new list may keep a date it already had (the date is unique per schedule).
    blackouts = [{"date": "2030-12-25", "note": "Noël"}, {"date": "2030-12-26", "note": ""}]
    response = client.patch(url, json={"blackouts": blackouts}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["blackouts"] == blackouts
    assert response.json()["windows"] == patched["windows"]


def test_patch_refuses_bad_values_and_keeps_the_schedule(
    client: TestClient, admin: Account
) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    for body, field in [
        ({"time_zone": "Nowhere/Special"}, "time_zone"),
        ({"time_zone": None}, "time_zone"),
        ({"windows": None}, "windows"),
        ({"name": "Fine", "windows": [{"day": "sun", **_t("20:00", "08:00")}]}, "windows.0.end"),
    ]:
        response = client.patch(url, json=body, headers=admin.headers)
        assert response.status_code == 422, (body, response.text)
        assert _fields(response) == [field]
    assert client.get(url, headers=admin.headers).json() == created


def test_delete_schedule(client: TestClient, db: Database, admin: Account) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    with db.transaction() as session:
        strategy = ensure_default_strategy(session)
        session.add(
            Campaign(
                name="uses_it",
                type=CampaignType.SMS,
                strategy_id=strategy.id,
                schedule_id=created["id"],
            )
        )
    response = client.delete(url, headers=admin.headers)
    assert response.status_code == 409
    assert "uses_it" in response.json()["detail"]
    with db.transaction() as session:
        session.query(Campaign).delete()
    assert client.delete(url, headers=admin.headers).status_code == 204
    assert client.get(url, headers=admin.headers).status_code == 404
    assert client.delete(url, headers=admin.headers).status_code == 404


def test_the_builtin_schedule_cannot_be_deleted(client: TestClient, admin: Account) -> None:
    [default] = client.get(URL, headers=admin.headers).json()
    response = client.delete(f"{URL}/{default['id']}", headers=admin.headers)
    assert response.status_code == 409
    assert "built in" in response.json()["detail"]


def test_unknown_ids_are_404(client: TestClient, viewer: Account) -> None:
    for schedule_id in ("999", "0", "99999999999999999999"):
        response = client.get(f"{URL}/{schedule_id}", headers=viewer.headers)
        assert response.status_code == 404, schedule_id


def test_only_admins_change_schedules(
    client: TestClient, admin: Account, supervisor: Account, viewer: Account
) -> None:
    created = _create(client, admin)
    url = f"{URL}/{created['id']}"
    body = {"name": "Other", "time_zone": "UTC"}
    for account in (viewer, supervisor):
        headers = account.headers
        assert client.get(url, headers=headers).status_code == 200
        assert client.post(URL, json=body, headers=headers).status_code == 403
        assert client.put(url, json=body, headers=headers).status_code == 403
        assert client.patch(url, json=body, headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
    assert client.get(URL).status_code == 401
    assert client.get(url, headers=admin.headers).json() == created
