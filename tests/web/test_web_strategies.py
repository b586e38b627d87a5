"""Strategy editor over HTTP: build, edit, re-order and delete attempts; errors by their field."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def _strategy(client: TestClient, admin: Account, strategy_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v1/strategies/{strategy_id}", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _create(client: TestClient, token: str, name: str = "busy-then-sms") -> int:
    made = client.post(
        "/strategies",
        data={"csrf_token": token, "name": name, "description": "", "max_attempts": "6"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    assert location.endswith("?done=created")
    return int(location.split("?")[0].rsplit("/", 1)[1])


def _add(client: TestClient, token: str, strategy_id: int, **fields: str) -> Any:
    data = {"csrf_token": token, "channel": "voice", "phone_slot": "1"} | fields
    return client.post(f"/strategies/{strategy_id}/attempts", data=data, follow_redirects=False)


def _edit(
    client: TestClient, token: str, strategy_id: int, attempt: dict[str, Any], **fields: str
) -> Any:
    """Post an attempt's form as the page fills it, with ``fields`` changed."""
    data: dict[str, str] = {
        "csrf_token": token,
        "channel": attempt["channel"],
        "phone_slot": str(attempt["phone_slot"]),
        "sms_template": attempt["sms_template"] or "",
        "sms_expiry_minutes": str(attempt["sms_expiry_minutes"] or ""),
        "sms_mode": attempt["sms_mode"] or "",
    }
    for outcome, rule in attempt["rules"].items():
        data[f"rules.{outcome}.action"] = rule["action"]
        close = rule["action"] == "close"
        data[f"rules.{outcome}.delay_minutes"] = "" if close else str(rule["delay_minutes"])
        data[f"rules.{outcome}.attempt"] = str(rule["attempt"] or "")
    return client.post(
        f"/strategies/{strategy_id}/attempts/{attempt['id']}",
        data=data | fields,
        follow_redirects=False,
    )


def test_admin_builds_busy_to_sms_fallback_moves_and_deletes(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    assert _add(client, token, sid).status_code == 303
    sms = _add(
        client,
        token,
        sid,
        channel="sms",
        sms_template="We tried to call you",
        sms_expiry_minutes="120",
        sms_mode="await_reply",
        **{"rules.sms_expired.action": "close", "rules.sms_expired.delay_minutes": ""},
    )
    assert sms.status_code == 303, sms.text
    stored = _strategy(client, admin, sid)
    voice, text = stored["attempts"]
    assert (voice["channel"], voice["phone_slot"]) == ("voice", 1)
    assert text["sms_template"] == "We tried to call you" and text["sms_expiry_minutes"] == 120
    assert text["rules"]["sms_expired"]["action"] == "close"

    on_busy = {
        "rules.busy.action": "goto",
        "rules.busy.delay_minutes": "5",
        "rules.busy.attempt": "2",
    }
    saved = _edit(client, token, sid, voice, **on_busy)
    assert saved.status_code == 303, saved.text
    busy = _strategy(client, admin, sid)["attempts"][0]["rules"]["busy"]
    assert busy == {"action": "goto", "delay_minutes": 5, "attempt": 2}

    # a third attempt, moved up twice: the goto still names the SMS attempt
    assert _add(client, token, sid, phone_slot="2").status_code == 303
    third = _strategy(client, admin, sid)["attempts"][2]
    for _ in range(2):
        moved = client.post(
            f"/strategies/{sid}/attempts/{third['id']}/move",
            data={"csrf_token": token, "direction": "up"},
            follow_redirects=False,
        )
        assert moved.status_code == 303
    order = _strategy(client, admin, sid)["attempts"]
    assert [a["id"] for a in order] == [third["id"], voice["id"], text["id"]]
    assert order[1]["rules"]["busy"]["attempt"] == 3  # the SMS attempt, now third
    page = client.get(f"/strategies/{sid}").text
    assert page.index(f'id="attempt-{third["id"]}"') < page.index(f'id="attempt-{voice["id"]}"')

    # the SMS attempt is a goto target: deleting it is refused, on its card
    refused = client.post(
        f"/strategies/{sid}/attempts/{text['id']}/delete", data={"csrf_token": token}
    )
    assert refused.status_code == 409
    assert "goto target" in refused.text
    gone = client.post(
        f"/strategies/{sid}/attempts/{third['id']}/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert [a["id"] for a in _strategy(client, admin, sid)["attempts"]] == [voice["id"], text["id"]]


def _rule(outcome: str, **cells: str) -> dict[str, str]:
    return {f"rules.{outcome}.{name}": value for name, value in cells.items()}


def test_htmx_requests_get_the_page_to_swap_in_place(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    for slot in ("1", "2"):
        assert _add(client, token, sid, phone_slot=slot).status_code == 303
    first, second = _strategy(client, admin, sid)["attempts"]
    hx = {"HX-Request": "true"}
    moved = client.post(
        f"/strategies/{sid}/attempts/{second['id']}/move",
        data={"csrf_token": token, "direction": "up"},
        headers=hx,
    )
    assert moved.status_code == 200
    region = moved.text[moved.text.index('<div id="attempts">') :]
    assert "Attempt moved." in region
    assert region.index(f'id="attempt-{second["id"]}"') < region.index(
        f'id="attempt-{first["id"]}"'
    )
    goto = _rule("busy", action="goto", attempt="2", delay_minutes="0")
    assert _edit(client, token, sid, _strategy(client, admin, sid)["attempts"][0], **goto)
    refused = client.post(
        f"/strategies/{sid}/attempts/{first['id']}/delete", data={"csrf_token": token}, headers=hx
    )
    assert refused.status_code == 422  # htmx swaps a 422 in, not a 409
    assert "goto target" in refused.text


def test_each_rule_error_lands_on_its_cell(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    assert _add(client, token, sid).status_code == 303
    attempt = _strategy(client, admin, sid)["attempts"][0]
    aid = attempt["id"]
    cases = [
        (_rule("busy", action="goto", attempt=""), "busy-attempt", "goto needs"),
        (_rule("busy", action="goto", attempt="4"), "busy-attempt", "does not exist"),
        (_rule("busy", action="next", attempt="1"), "busy-attempt", "only for the goto"),
        (_rule("busy", action="close", delay_minutes="60"), "busy-delay_minutes", "takes no delay"),
        (_rule("no_answer", delay_minutes="soon"), "no_answer-delay_minutes", "not a whole number"),
        (
            _rule("no_answer", delay_minutes="-5"),
            "no_answer-delay_minutes",
            "greater than or equal",
        ),
        (_rule("fax", action="redial"), "fax-action", "'next', 'retry', 'goto' or 'close'"),
        (_rule("connected", action="next"), "connected-action", "always closes"),
    ]
    for fields, cell, message in cases:
        answer = _edit(client, token, sid, attempt, **fields)
        assert answer.status_code == 422, (fields, answer.text[:300])
        shown = field_error(answer.text, f"a{aid}-rules-{cell}")
        assert shown is not None and message in shown, (fields, shown)
        # the page shows what was typed, not what is stored
        assert _strategy(client, admin, sid)["attempts"][0]["rules"] == attempt["rules"]

    fields_cases = [
        ({"phone_slot": "6"}, "phone_slot", "less than or equal to 5"),
        ({"sms_template": "Hello"}, "sms_template", "applies to sms attempts only"),
        ({"channel": "fax"}, "channel", "'voice' or 'sms'"),
    ]
    for fields, name, message in fields_cases:
        answer = _edit(client, token, sid, attempt, **fields)
        assert answer.status_code == 422
        shown = field_error(answer.text, f"a{aid}-{name}")
        assert shown is not None and message in shown, (fields, shown)

    bad_sms = _add(client, token, sid, channel="sms", sms_expiry_minutes="0", position="9")
    assert bad_sms.status_code == 422
    assert "greater than or equal to 1" in (
        field_error(bad_sms.text, "new-sms_expiry_minutes") or ""
    )
    assert "'sms_template'" not in bad_sms.text
    past_end = _add(client, token, sid, position="9")
    assert "the position must be 1 to 2" in (field_error(past_end.text, "new-position") or "")


def test_settings_errors_and_max_attempts_cap(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token, "first")
    _create(client, token, "second")
    answer = client.post(
        f"/strategies/{sid}", data={"csrf_token": token, "name": "SECOND", "max_attempts": "101"}
    )
    assert answer.status_code == 422
    assert "less than or equal to 100" in (field_error(answer.text, "s-max_attempts") or "")
    answer = client.post(
        f"/strategies/{sid}", data={"csrf_token": token, "name": "SECOND", "max_attempts": "3"}
    )
    assert "already exists" in (field_error(answer.text, "s-name") or "")
    saved = client.post(
        f"/strategies/{sid}",
        data={"csrf_token": token, "name": "renamed", "description": "d", "max_attempts": "3"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    stored = _strategy(client, admin, sid)
    assert (stored["name"], stored["max_attempts"], stored["description"]) == ("renamed", 3, "d")
    taken = client.post("/strategies", data={"csrf_token": token, "name": "Renamed"})
    assert "already exists" in (field_error(taken.text, "new-name") or "")


def test_sms_campaign_strategy_refuses_voice_by_the_channel_field(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    make_campaign(db, "texts-only", campaign_type=CampaignType.SMS)
    listed = client.get("/api/v1/strategies", headers=admin.headers).json()
    sid = next(s["id"] for s in listed if s["name"] == "strategy-texts-only")
    token = login(admin)
    refused = _add(client, token, sid)
    assert refused.status_code == 422
    assert "used by SMS campaign(s) 'texts-only'" in (
        field_error(refused.text, "new-channel") or ""
    )
    assert _add(client, token, sid, channel="sms").status_code == 303
    attempt = _strategy(client, admin, sid)["attempts"][0]
    switched = _edit(client, token, sid, attempt, channel="voice")
    assert "SMS attempts only" in (field_error(switched.text, f"a{attempt['id']}-channel") or "")
    page = client.get(f"/strategies/{sid}").text
    assert "Used by campaign texts-only" in page
    in_use = client.post(f"/strategies/{sid}/delete", data={"csrf_token": token})
    assert in_use.status_code == 409 and "give them another strategy first" in in_use.text
    builtin = next(s for s in listed if s["builtin"])
    renamed = client.post(
        f"/strategies/{builtin['id']}", data={"csrf_token": token, "name": "mine"}
    )
    assert "cannot be renamed" in (field_error(renamed.text, "s-name") or "")


def test_viewer_reads_without_write_controls_and_writes_are_refused(
    client: TestClient, admin: Account, viewer: Account, login: Login
) -> None:
    admin_token = login(admin)
    sid = _create(client, admin_token)
    assert _add(client, admin_token, sid, **{"rules.busy.action": "retry"}).status_code == 303
    aid = _strategy(client, admin, sid)["attempts"][0]["id"]
    # without (or with another session's) CSRF token, even an admin is refused
    assert client.post(f"/strategies/{sid}/attempts/{aid}/delete", data={}).status_code == 403
    token = login(viewer)
    for path in ("/strategies", f"/strategies/{sid}"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<form" not in re.sub(
            r'<form method="post" action="/logout".*?</form>', "", page.text, flags=re.S
        )
    page = client.get(f"/strategies/{sid}").text
    assert "Retry after 60 min" in page and "Add an attempt" not in page
    for path in (
        "/strategies",
        f"/strategies/{sid}",
        f"/strategies/{sid}/delete",
        f"/strategies/{sid}/attempts",
        f"/strategies/{sid}/attempts/{aid}",
        f"/strategies/{sid}/attempts/{aid}/move",
        f"/strategies/{sid}/attempts/{aid}/delete",
    ):
        answer = client.post(path, data={"csrf_token": token, "name": "x", "direction": "up"})
        assert answer.status_code == 403, path
    assert len(_strategy(client, admin, sid)["attempts"]) == 1


def test_unknown_strategy_attempt_or_direction_is_an_error_page(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    sid = _create(client, token)
    assert _add(client, token, sid).status_code == 303
    aid = _strategy(client, admin, sid)["attempts"][0]["id"]
    assert client.get("/strategies/999999").status_code == 404
    missing = client.post(f"/strategies/{sid}/attempts/999999", data={"csrf_token": token})
    assert missing.status_code == 404
    sideways = client.post(
        f"/strategies/{sid}/attempts/{aid}/move", data={"csrf_token": token, "direction": "left"}
    )
    assert sideways.status_code == 422
    assert "direction must be &#39;up&#39; or &#39;down&#39;" in sideways.text
    # moving the only attempt up or down changes nothing and is no error
    for direction in ("up", "down"):
        stays = client.post(
            f"/strategies/{sid}/attempts/{aid}/move",
            data={"csrf_token": token, "direction": direction},
            follow_redirects=False,
        )
        assert stays.status_code == 303


def test_strategy_of_a_running_campaign_is_shown_locked_and_refuses_posts(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    """The controls are disabled with the reason on the page; posting anyway changes nothing
    and answers the page with that reason; once the campaign stops the editor works again."""
    campaign_id = make_campaign(db, "winter-calls")
    listed = client.get("/api/v1/strategies", headers=admin.headers).json()
    sid = next(s["id"] for s in listed if s["name"] == "strategy-winter-calls")
    token = login(admin)
    assert _add(client, token, sid).status_code == 303
    assert _add(client, token, sid, channel="sms").status_code == 303
    before = _strategy(client, admin, sid)
    first, second = before["attempts"]
    started = client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=admin.headers)
    assert started.status_code == 200
    page = client.get(f"/strategies/{sid}").text
    reason = "Used by running campaign(s) winter-calls: stop them to edit."
    assert reason in page
    fieldset = re.search(r"<fieldset class=\"editor\"([^>]*)>(.*)</fieldset>", page, re.S)
    assert fieldset is not None and " disabled" in fieldset.group(1)
    assert 'action="/strategies/' not in page.replace(fieldset.group(2), "")
    for path, data in (
        (f"/strategies/{sid}", {"name": "renamed", "max_attempts": "3"}),
        (f"/strategies/{sid}/attempts", {"channel": "voice", "phone_slot": "2"}),
        (f"/strategies/{sid}/attempts/{second['id']}/delete", {}),
        (f"/strategies/{sid}/attempts/{second['id']}/move", {"direction": "up"}),
        (f"/strategies/{sid}/delete", {}),
    ):
        refused = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert refused.status_code == 409, path
        assert "used by running campaign(s) &#39;winter-calls&#39;: stop them to edit" in (
            refused.text
        ), path
    edited = _edit(client, token, sid, first, phone_slot="2")
    assert edited.status_code == 409
    assert _strategy(client, admin, sid) == before
    client.post(f"/api/v1/campaigns/{campaign_id}/stop", headers=admin.headers)
    assert reason not in client.get(f"/strategies/{sid}").text
    assert _edit(client, token, sid, first, phone_slot="2").status_code == 303
    assert _strategy(client, admin, sid)["attempts"][0]["phone_slot"] == 2


def _said(page: str) -> dict[int, list[str]]:
    """Each attempt's rules in words, by attempt id, as lines of text."""
    found = re.findall(
        r'id="attempt-(\d+)".*?data-testid="rules-said">(.*?)</div>', page, flags=re.S
    )
    return {
        int(aid): [html.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in lines]
        for aid, block in found
        if (lines := re.findall(r"<(?:li|p)[^>]*>(.*?)</(?:li|p)>", block, flags=re.S))
    }


def _opened(page: str) -> dict[str, bool]:
    """Which disclosures are open: each attempt's rules table (by attempt id) and the add form."""
    shown = {
        f"attempt-{aid}": " open" in attrs
        for aid, attrs in re.findall(
            r'id="attempt-(\d+)".*?<details class="rules-details"([^>]*)>', page, flags=re.S
        )
    }
    add = re.search(r'<details class="card" id="add-attempt"([^>]*)>', page)
    shown["add"] = add is not None and " open" in add.group(1)
    return shown


def test_each_attempt_says_its_rules_and_shows_its_table_on_demand(
    client: TestClient, admin: Account, viewer: Account, login: Login
) -> None:
    """Issue 13: every attempt showed its twelve rule rows, the add form was always open,
    and nothing said what an SMS reply or STOP does."""
    goto_3 = {"action": "goto", "attempt": 3, "delay_minutes": 10}
    body = {
        "name": "said",
        "max_attempts": 6,
        "attempts": [
            {
                "channel": "voice",
                "rules": {
                    "busy": goto_3,
                    "no_answer": goto_3,
                    "fax": {"action": "retry", "delay_minutes": 5},
                    "network_error": {"action": "retry", "delay_minutes": 15},  # the default
                },
            },
            {"channel": "sms", "rules": {"sms_expired": {"action": "close"}}},
            {"channel": "sms", "sms_mode": "send_and_close", "phone_slot": 2},
            {"channel": "voice"},
        ],
    }
    made = client.post("/api/v1/strategies", json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    first, waiting, closing, last = (a["id"] for a in made.json()["attempts"])
    token = login(admin)
    page = client.get(f"/strategies/{sid}").text
    opt_out = (
        "A reply with an opt-out word (STOP, UNSUBSCRIBE…: see Settings) puts the number on "
        "the DNC list and closes the contact as DNC Listed."
    )
    assert _said(page) == {
        first: [
            "Busy, No answer → attempt 3 after 10 min",
            "Fax → attempt 1 again after 5 min",
            "Other outcomes: the defaults.",
        ],
        waiting: [
            "A reply closes the contact as SMS responded.",
            opt_out,
            "No reply within 1440 min (the default setting) → close (SMS sent and Closed).",
            "Not accepted or not delivered (SMS failed) → close (Not Connected).",
        ],
        closing: [
            "Once the gateway accepts it the contact closes as SMS sent and Closed: no reply "
            "is awaited.",
            "A reply is still kept on the contact. " + opt_out,
            "Refused by the gateway (SMS failed) → close (Not Connected).",
        ],
        last: ["Every outcome follows the default rules."],
    }
    closed = {f"attempt-{a}": False for a in (first, waiting, closing, last)} | {"add": False}
    assert _opened(page) == closed
    # Every rule is still in the page (behind its disclosure), the form posts as before.
    assert page.count('<tr data-outcome="') == 12 + 2 + 2 + 12 + 12 + 2

    attempt = _strategy(client, admin, sid)["attempts"][3]
    wrong = _edit(client, token, sid, attempt, **_rule("busy", action="goto", attempt="9"))
    assert wrong.status_code == 422
    assert _opened(wrong.text) == closed | {f"attempt-{last}": True}  # the error shows
    bad_add = _add(client, token, sid, **_rule("busy", delay_minutes="soon"))
    assert bad_add.status_code == 422
    assert _opened(bad_add.text) == closed | {"add": True}

    client.cookies.clear()
    login(viewer)
    read = client.get(f"/strategies/{sid}").text
    assert _said(read)[first][0] == "Busy, No answer → attempt 3 after 10 min"
    assert "All rules" in read and "Retry after 5 min" in read
