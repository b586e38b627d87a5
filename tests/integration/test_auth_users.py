"""Log-in, tokens, roles and user management through the API, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Account

API = "/api/v1"


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    return response.status_code, response.json()


def test_login_gives_a_token_that_identifies_the_user(client: TestClient, admin: Account) -> None:
    status, body = _login(client, admin.username, admin.password)
    assert status == 200
    me = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == admin.username
    assert me.json()["role"] == "admin"


def test_wrong_password_and_unknown_user_get_the_same_401(
    client: TestClient, admin: Account
) -> None:
    wrong = _login(client, admin.username, "not-the-password")
    unknown = _login(client, "nobody-here", "whatever-password")
    assert wrong == unknown == (401, {"detail": "wrong user name or password"})


def test_repeated_failed_logins_are_slowed_down(client: TestClient, admin: Account) -> None:
    created = client.post(
        f"{API}/users",
        json={"username": "brute-target", "password": "right-password", "role": "viewer"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    statuses = [_login(client, "brute-target", f"guess-{i}")[0] for i in range(6)]
    assert statuses[:5] == [401] * 5
    # The sixth failure starts a block: even the right password now waits.
    blocked = client.post(
        f"{API}/auth/login", json={"username": "brute-target", "password": "right-password"}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "try again" in blocked.json()["detail"]


def test_logout_revokes_the_session_token(client: TestClient, viewer: Account) -> None:
    _, body = _login(client, viewer.username, viewer.password)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    again = client.get(f"{API}/users/me", headers=headers)
    assert again.status_code == 401
    assert again.headers["WWW-Authenticate"] == "Bearer"


def test_api_token_lifecycle(client: TestClient, supervisor: Account) -> None:
    created = client.post(
        f"{API}/users/me/tokens", json={"name": "crm"}, headers=supervisor.headers
    )
    assert created.status_code == 201
    token = created.json()["token"]
    crm_headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/users/me", headers=crm_headers).json()["role"] == "supervisor"
    listed = client.get(f"{API}/users/me/tokens", headers=supervisor.headers).json()
    assert any(t["name"] == "crm" and "token" not in t for t in listed)
    revoke = client.delete(
        f"{API}/users/me/tokens/{created.json()['id']}", headers=supervisor.headers
    )
    assert revoke.status_code == 204
    assert client.get(f"{API}/users/me", headers=crm_headers).status_code == 401


def test_admin_manages_users_and_roles_take_effect(client: TestClient, admin: Account) -> None:
    created = client.post(
        f"{API}/users",
        json={"username": "carol", "password": "carol-password", "role": "viewer"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    duplicate = client.post(
        f"{API}/users",
        json={"username": "CAROL", "password": "carol-password", "role": "viewer"},
        headers=admin.headers,
    )
    assert duplicate.status_code == 409
    _, body = _login(client, "carol", "carol-password")
    carol = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(f"{API}/users", headers=carol).status_code == 403
    promoted = client.patch(f"{API}/users/{user_id}", json={"role": "admin"}, headers=admin.headers)
    assert promoted.json()["role"] == "admin"
    assert client.get(f"{API}/users", headers=carol).status_code == 200
    deactivated = client.patch(
        f"{API}/users/{user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200
    assert client.get(f"{API}/users", headers=carol).status_code == 401
    assert _login(client, "carol", "carol-password")[0] == 403


def test_admin_cannot_lock_themselves_out(client: TestClient, admin: Account) -> None:
    me = client.get(f"{API}/users/me", headers=admin.headers).json()
    demote = client.patch(f"{API}/users/{me['id']}", json={"role": "viewer"}, headers=admin.headers)
    assert demote.status_code == 409
    assert client.delete(f"{API}/users/{me['id']}", headers=admin.headers).status_code == 409


def test_user_input_is_validated(client: TestClient, admin: Account) -> None:
    short = client.post(
        f"{API}/users",
        json={"username": "dave", "password": "short", "role": "viewer"},
        headers=admin.headers,
    )
    assert short.status_code == 422
    assert short.json()["detail"][0]["field"] == "password"
    bad_role = client.post(
        f"{API}/users",
        json={"username": "dave", "password": "long-enough", "role": "root"},
        headers=admin.headers,
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["detail"][0]["field"] == "role"


def test_changing_own_password_needs_the_current_one(client: TestClient, admin: Account) -> None:
    client.post(
        f"{API}/users",
        json={"username": "erin", "password": "erin-password", "role": "viewer"},
        headers=admin.headers,
    )
    _, body = _login(client, "erin", "erin-password")
    erin = {"Authorization": f"Bearer {body['access_token']}"}
    wrong = client.post(
        f"{API}/users/me/password",
        json={"current_password": "nope", "new_password": "erin-password-2"},
        headers=erin,
    )
    assert wrong.status_code == 403
    assert "current password" in wrong.json()["detail"]
    ok = client.post(
        f"{API}/users/me/password",
        json={"current_password": "erin-password", "new_password": "erin-password-2"},
        headers=erin,
    )
    assert ok.status_code == 204
    assert _login(client, "erin", "erin-password-2")[0] == 200


def test_health_needs_no_token_and_reports_the_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in {"sqlite", "postgresql"}


def test_user_update_refuses_loose_booleans(client: TestClient, admin: Account) -> None:
    """``"no"`` or ``0`` for is_active is a 422 naming the field; the account stays active."""
    created = client.post(
        f"{API}/users",
        json={"username": "loose-bool", "password": "right-password", "role": "viewer"},
        headers=admin.headers,
    )
    user_id = created.json()["id"]
    for loose in ("no", 0, "false", "0"):
        r = client.patch(f"{API}/users/{user_id}", json={"is_active": loose}, headers=admin.headers)
        assert r.status_code == 422, (loose, r.text)
        assert r.json()["detail"][0]["field"] == "is_active"
    shown = client.get(f"{API}/users/{user_id}", headers=admin.headers).json()
    assert shown["is_active"] is True
    ok = client.patch(f"{API}/users/{user_id}", json={"is_active": False}, headers=admin.headers)
    assert ok.status_code == 200 and ok.json()["is_active"] is False
