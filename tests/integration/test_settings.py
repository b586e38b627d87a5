"""Settings through the API: defaults, partial updates, validation naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Account

URL = "/api/v1/settings"


def test_defaults_then_a_partial_update_keeps_the_rest(client: TestClient, admin: Account) -> None:
    before = client.get(URL, headers=admin.headers).json()
    assert before["feed_batch_size"] == 500 and before["dialer"]["kind"] == "simulator"
    changed = client.patch(
        URL, json={"dangling_timeout_minutes": 15, "watch_folder": "/srv/in"}, headers=admin.headers
    )
    assert changed.status_code == 200
    after = client.get(URL, headers=admin.headers).json()
    assert after["dangling_timeout_minutes"] == 15 and after["watch_folder"] == "/srv/in"
    assert after["feed_batch_size"] == 500
    cleared = client.patch(URL, json={"watch_folder": None}, headers=admin.headers).json()
    assert cleared["watch_folder"] is None


def test_bad_values_are_refused_with_the_field(client: TestClient, admin: Account) -> None:
    cases = {
        "feed_batch_size": 0,
        "default_region": "XX",
        "dialer": {"kind": "carrier-pigeon"},
        "default_sms_expiry_minutes": None,
    }
    for field, value in cases.items():
        response = client.patch(URL, json={field: value}, headers=admin.headers)
        assert response.status_code == 422, field
        assert response.json()["detail"][0]["field"].startswith(field), field


def test_watched_and_archive_folders_must_not_nest(client: TestClient, admin: Account) -> None:
    for watch, archive in [
        ("/srv/in", "/srv/in/"),
        ("/srv/in", "/srv/in/archive"),
        ("/srv/in/x", "/srv/in"),
    ]:
        response = client.patch(
            URL, json={"watch_folder": watch, "archive_folder": archive}, headers=admin.headers
        )
        assert response.status_code == 422, (watch, archive)
        assert response.json()["detail"][0]["field"] == "archive_folder"
    ok = client.patch(
        URL, json={"watch_folder": "/srv/in", "archive_folder": "/srv/done"}, headers=admin.headers
    )
    assert ok.status_code == 200


def test_only_admins_change_settings(client: TestClient, supervisor: Account) -> None:
    assert client.get(URL, headers=supervisor.headers).status_code == 200
    response = client.patch(URL, json={"feed_batch_size": 10}, headers=supervisor.headers)
    assert response.status_code == 403


def test_channel_options_are_validated_when_saved(client: TestClient, admin: Account) -> None:
    bad = client.patch(
        URL,
        json={"dialer": {"kind": "simulator", "options": {"capacity": -1}}},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "dialer.options.capacity"
    unknown = client.patch(
        URL,
        json={"sms_gateway": {"kind": "simulator", "options": {"colour": "red"}}},
        headers=admin.headers,
    )
    assert unknown.status_code == 422
    good = client.patch(
        URL,
        json={"dialer": {"kind": "simulator", "options": {"capacity": 50, "seed": 1}}},
        headers=admin.headers,
    )
    assert good.status_code == 200
    assert good.json()["dialer"]["options"]["capacity"] == 50


def test_opt_out_words_default_to_the_issues_list_and_can_be_replaced(
    client: TestClient, admin: Account
) -> None:
    words = client.get(URL, headers=admin.headers).json()["opt_out_words"]
    for word in ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "opt out"):
        assert word in words
    assert "optout" in words
    changed = client.patch(
        URL, json={"opt_out_words": ["  HALT ", "no   more", "Arrêt"]}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert client.get(URL, headers=admin.headers).json()["opt_out_words"] == [
        "HALT",
        "no more",
        "Arrêt",
    ]


def test_each_bad_opt_out_word_is_refused_by_its_place(client: TestClient, admin: Account) -> None:
    response = client.patch(
        URL,
        json={"opt_out_words": ["stop", "", "st*p", "x" * 41, 7, "a b c d e"]},
        headers=admin.headers,
    )
    assert response.status_code == 422
    found = {d["field"]: d["msg"] for d in response.json()["detail"]}
    assert set(found) == {f"opt_out_words.{i}" for i in (1, 2, 3, 4, 5)}
    assert "cannot be empty" in found["opt_out_words.1"]
    assert "letters or digits" in found["opt_out_words.2"]
    assert "longer than 40 characters" in found["opt_out_words.3"]
    assert "valid string" in found["opt_out_words.4"]
    assert "more than 4 words" in found["opt_out_words.5"]
    for body, field, why in [
        ({"opt_out_words": []}, "opt_out_words", "at least 1"),
        ({"opt_out_words": None}, "opt_out_words", "cannot be null"),
        ({"opt_out_words": "stop"}, "opt_out_words", "valid list"),
        ({"opt_out_words": ["stop"] * 101}, "opt_out_words", "at most 100"),
        (
            {"opt_out_words": ["stop", "opt out", "Opt-Out"]},
            "opt_out_words.2",
            "'Opt-Out' repeats 'opt out'",
        ),
    ]:
        response = client.patch(URL, json=body, headers=admin.headers)
        assert response.status_code == 422, body
        (detail,) = response.json()["detail"]
        assert (detail["field"], why in detail["msg"]) == (field, True), detail
    # Nothing was half-saved.
    assert "stop" in client.get(URL, headers=admin.headers).json()["opt_out_words"]
