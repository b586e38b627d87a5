"""Users and API token pages (admin only), over HTTP on both databases."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def test_admin_creates_resets_and_disables_a_user(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    short = client.post(
        "/users",
        data={"csrf_token": token, "username": "agent-7", "password": "short", "role": "viewer"},
    )
    assert short.status_code == 422
    assert "at least 8 characters" in (field_error(short.text, "new-password") or "")
    made = client.post(
        "/users",
        data={
            "csrf_token": token,
            "username": "agent-7",
            "password": "long-enough-1",
            "role": "supervisor",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    taken = client.post(
        "/users",
        data={
            "csrf_token": token,
            "username": "AGENT-7",
            "password": "long-enough-1",
            "role": "viewer",
        },
    )
    assert "is taken" in (field_error(taken.text, "new-username") or "")
    users = client.get("/api/v1/users", headers=admin.headers).json()
    agent = next(u for u in users if u["username"] == "agent-7")
    assert agent["role"] == "supervisor"

    reset = client.post(
        f"/users/{agent['id']}/password", data={"csrf_token": token, "password": "x"}
    )
    assert reset.status_code == 422
    assert "at least 8" in (field_error(reset.text, f"pw{agent['id']}-password") or "")
    client.post(
        f"/users/{agent['id']}/password", data={"csrf_token": token, "password": "new-password-9"}
    )
    ok = client.post(
        "/api/v1/auth/login", json={"username": "agent-7", "password": "new-password-9"}
    )
    assert ok.status_code == 200
    client.post(f"/users/{agent['id']}/disable", data={"csrf_token": token})
    assert (
        client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
        ).status_code
        == 401
    )
    page = client.get("/users").text
    assert re.search(r'data-user="agent-7".*?Disabled', page, re.S)


def test_admin_cannot_disable_itself(client: TestClient, admin: Account, login: Login) -> None:
    token = login(admin)
    me = client.get("/api/v1/users/me", headers=admin.headers).json()
    page = client.get("/users").text
    assert f'action="/users/{me["id"]}/disable"' not in page
    refused = client.post(f"/users/{me['id']}/disable", data={"csrf_token": token})
    assert refused.status_code == 422 and "cannot demote or deactivate" in refused.text


def test_new_token_is_shown_once_and_works(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    me = client.get("/api/v1/users/me", headers=admin.headers).json()
    bad = client.post(
        f"/users/{me['id']}/tokens", data={"csrf_token": token, "name": "", "expires_in_days": "0"}
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "tok-name") and field_error(bad.text, "tok-expires_in_days")
    made = client.post(f"/users/{me['id']}/tokens", data={"csrf_token": token, "name": "crm-sync"})
    shown = re.search(r'data-testid="new-token">([^<]+)<', made.text)
    assert shown is not None
    plain = shown.group(1)
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 200
    )
    listing = client.get(f"/users/{me['id']}/tokens").text
    assert "crm-sync" in listing and plain not in listing
    token_id = next(
        t["id"]
        for t in client.get("/api/v1/users/me/tokens", headers=admin.headers).json()
        if t["name"] == "crm-sync"
    )
    client.post(f"/users/{me['id']}/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {plain}"}).status_code
        == 401
    )
