"""The settings page: an administrator saves, errors show by their field; others only read."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def form(token: str, **changes: str) -> dict[str, str]:
    base = {
        "csrf_token": token,
        "feed_batch_size": "500",
        "default_region": "US",
        "watch_folder": "",
        "archive_folder": "",
        "poll_interval_seconds": "30",
        "dangling_timeout_minutes": "60",
        "default_sms_expiry_minutes": "1440",
        "dialer.kind": "simulator",
        "dialer.options": "{}",
        "sms_gateway.kind": "simulator",
        "sms_gateway.options": "{}",
    }
    return base | changes


def option_errors(page: str, channel: str) -> list[tuple[str, str]]:
    box = re.search(rf'id="f-{channel}-options-error">(.*?)</div>', page, re.S)
    assert box is not None, f"no error under the {channel} options"
    return re.findall(r'data-path="([^"]*)">(?:<code>[^<]*</code>: )?(.*?)</p>', box.group(1))


def test_admin_saves_and_sees_errors_by_field(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    token = login(admin)
    saved = client.post(
        "/settings",
        data=form(
            token,
            feed_batch_size="250",
            default_region="gb",
            watch_folder="/srv/in",
            archive_folder="/srv/done",
            **{"dialer.options": '{"capacity": 20}'},
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    stored = client.get("/api/v1/settings", headers=admin.headers).json()
    assert stored["feed_batch_size"] == 250 and stored["default_region"] == "GB"
    assert stored["watch_folder"] == "/srv/in" and stored["dialer"]["options"]["capacity"] == 20
    page = client.get("/settings").text
    assert 'value="250"' in page and "&#34;capacity&#34;: 20" in page

    bad = client.post(
        "/settings",
        data=form(
            token,
            feed_batch_size="lots",
            poll_interval_seconds="0",
            default_region="XX",
            **{
                "dialer.options": '{"capacity": 0, "latency": {"connected": -1}}',
                "sms_gateway.options": "{not json",
            },
        ),
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "f-feed_batch_size") == "'lots' is not a whole number"
    assert "greater than or equal to 1" in (field_error(bad.text, "f-poll_interval_seconds") or "")
    assert "not a region code" in (field_error(bad.text, "f-default_region") or "")
    sms = option_errors(bad.text, "sms_gateway")
    assert len(sms) == 1 and sms[0][1].startswith("not valid JSON")
    assert "{not json" in bad.text  # what was typed stays

    # the schema's errors come first; with them fixed, the dialer's own rules speak by path
    nested = client.post(
        "/settings",
        data=form(token, **{"dialer.options": '{"capacity": 5, "latency": {"connected": -1}}'}),
    )
    assert nested.status_code == 422
    (path, message), *_ = option_errors(nested.text, "dialer")
    assert path == "latency.connected" and "greater than or equal to 0" in message
    unknown = client.post("/settings", data=form(token, **{"dialer.kind": "sip-trunk"}))
    assert "unknown dialer 'sip-trunk'" in (field_error(unknown.text, "f-dialer-kind") or "")
    nested_folders = client.post(
        "/settings", data=form(token, watch_folder="/srv/in", archive_folder="/srv/in/done")
    )
    assert "must not be the same or inside each other" in (
        field_error(nested_folders.text, "f-archive_folder") or ""
    )
    after = client.get("/api/v1/settings", headers=admin.headers).json()
    assert after == stored  # nothing refused was saved


def test_others_read_only_and_are_refused(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    token = login(supervisor)
    page = client.get("/settings")
    assert page.status_code == 200
    assert 'data-testid="settings-read"' in page.text and "<textarea" not in page.text
    refused = client.post("/settings", data=form(token, feed_batch_size="7"))
    assert refused.status_code == 403
    assert (
        client.get("/api/v1/settings", headers=supervisor.headers).json()["feed_batch_size"] == 500
    )


def test_opt_out_words_are_edited_one_a_line(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    token = login(admin)
    page = client.get("/settings").text
    box = re.search(r'<textarea id="f-opt_out_words"[^>]*>(.*?)</textarea>', page, re.S)
    assert box is not None and "opt out\noptout" in box.group(1)
    saved = client.post(
        "/settings", data=form(token, opt_out_words="halt\n\n  no more \n"), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    assert client.get("/api/v1/settings", headers=admin.headers).json()["opt_out_words"] == [
        "halt",
        "no more",
    ]

    bad = client.post("/settings", data=form(token, opt_out_words="stop\n\nhalt\nst*p\n"))
    assert bad.status_code == 422
    message = field_error(bad.text, "f-opt_out_words") or ""
    assert message.startswith("line 4: ") and "letters or digits" in message, message
    assert "st*p" in bad.text  # what was typed stays
    twice = client.post("/settings", data=form(token, opt_out_words="opt out\nstop\nOpt-Out"))
    assert twice.status_code == 422
    assert field_error(twice.text, "f-opt_out_words") == "line 3: 'Opt-Out' repeats 'opt out'"
    empty = client.post("/settings", data=form(token, opt_out_words=" \n "))
    assert empty.status_code == 422
    assert "at least 1" in (field_error(empty.text, "f-opt_out_words") or "")
    stored = client.get("/api/v1/settings", headers=admin.headers).json()["opt_out_words"]
    assert stored == ["halt", "no more"]  # nothing refused was saved
