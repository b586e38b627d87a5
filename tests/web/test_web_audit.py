"""The audit log page: changes made in the web UI are logged too; admins read and filter
them a page at a time and export them; other roles cannot open the page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Account

Login = Callable[[Account], str]


def shown(page: str) -> list[tuple[str, str, str]]:
    """(entry id, kind, action) of each row, newest first."""
    return re.findall(r'<tr data-entry="(\d+)" data-kind="([a-z_]+)" data-action="([a-z]+)">', page)


def test_web_changes_are_logged_and_the_page_filters_and_pages(
    client: TestClient, supervisor: Account, admin: Account, login: Login
) -> None:
    token = login(supervisor)
    for n in range(3):
        added = client.post(
            "/dnc",
            data={"csrf_token": token, "number": f"+1415555012{n}", "campaign": ""},
            follow_redirects=False,
        )
        assert added.status_code == 303
    assert client.get("/audit").status_code == 403  # a supervisor may not read it
    client.post(
        "/api/v1/campaigns", json={"name": "webaudit", "type": "sms"}, headers=admin.headers
    )
    client.cookies.clear()
    login(admin)
    page = client.get("/audit").text
    rows = shown(page)
    assert [(k, a) for _, k, a in rows] == [("campaign", "create")] + [("dnc_entry", "create")] * 3
    assert "test-supervisor" in page and "+14155550121" in page
    assert [k for _, k, _ in shown(client.get("/audit?kind=dnc_entry").text)] == ["dnc_entry"] * 3
    assert len(shown(client.get("/audit?user=test-admin").text)) == 1
    assert len(shown(client.get("/audit?object=%2B14155550121").text)) == 1
    assert shown(client.get("/audit?since=2000-01-01&until=2000-01-02").text) == []
    # Paging: the rows after the first one's id are the older ones.
    assert shown(client.get(f"/audit?after={rows[0][0]}").text) == rows[1:]
    export = client.get("/audit.csv?kind=dnc_entry")
    assert export.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["object_name"] for r in lines} == {f"+1415555012{n}" for n in range(3)}
    # The navigation offers it to admins.
    assert 'href="/audit"' in page


def test_viewers_cannot_open_the_page(client: TestClient, viewer: Account, login: Login) -> None:
    login(viewer)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit.csv").status_code == 403
    assert 'href="/audit"' not in client.get("/").text
