"""The campaign form's answering-machine detection fields: shown with Asterisk's defaults,
saved as the campaign's ``amd`` settings, and refused by their own input."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error
from tests.web.test_web_campaign_dialing import _form, _selected

Login = Callable[[Account], str]
AMD_DEFAULTS = {
    "amd.machine_treatment": "hang_up",
    "amd.notsure_as": "human",
    "amd.machine_message": "",
    "amd.initial_silence": "2500",
    "amd.greeting": "1500",
    "amd.after_greeting_silence": "800",
    "amd.total_analysis_time": "5000",
    "amd.min_word_length": "100",
    "amd.between_words_silence": "50",
    "amd.maximum_number_of_words": "2",
    "amd.silence_threshold": "256",
    "amd.maximum_word_length": "5000",
}


def test_amd_fields_are_shown_and_saved(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "sales")
    token = login(admin)
    page = client.get(f"/campaigns/{campaign}").text
    assert 'name="amd.enabled"' in page and 'id="f-amd-enabled"' in page
    assert _selected(page, "amd-machine_treatment") == "hang_up"
    assert 'name="amd.silence_threshold" type="number" value="256"' in page
    assert "default 256, recommended 128" in page
    fields = AMD_DEFAULTS | {
        "amd.enabled": "on",
        "amd.machine_treatment": "leave_message",
        "amd.machine_message": "sorry.wav",
        "amd.silence_threshold": "128",
        "amd.maximum_number_of_words": "5",
    }
    saved = client.post(f"/campaigns/{campaign}", data=_form(token, **fields))
    assert saved.status_code == 200, saved.text  # the redirect followed to the page
    amd = client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()["amd"]
    assert amd["enabled"] is True
    assert (amd["machine_treatment"], amd["machine_message"]) == ("leave_message", "sorry.wav")
    assert (amd["silence_threshold"], amd["maximum_number_of_words"], amd["greeting"]) == (
        128,
        5,
        1500,
    )
    page = client.get(f"/campaigns/{campaign}").text
    assert _selected(page, "amd-machine_treatment") == "leave_message"
    assert 'name="amd.silence_threshold" type="number" value="128"' in page


def test_amd_errors_land_by_their_field(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "sales")
    token = login(admin)
    bad = client.post(
        f"/campaigns/{campaign}",
        data=_form(token, **AMD_DEFAULTS | {"amd.greeting": "10", "amd.min_word_length": "x"}),
    )
    assert bad.status_code == 422
    assert "greater than or equal to 100" in (field_error(bad.text, "f-amd-greeting") or "")
    assert field_error(bad.text, "f-amd-min_word_length") == "'x' is not a whole number"
    leave = AMD_DEFAULTS | {"amd.enabled": "on", "amd.machine_treatment": "leave_message"}
    no_message = client.post(f"/campaigns/{campaign}", data=_form(token, **leave))
    assert no_message.status_code == 422
    assert "set machine_message" in (field_error(no_message.text, "f-amd-machine_message") or "")
    amd = client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()["amd"]
    assert amd["enabled"] is False and amd["greeting"] == 1500
