"""Every route of the app refuses a request without a token, and a viewer cannot write.

The routes are walked from the app's own OpenAPI document, so a route added later is
covered without touching this test.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Account

PUBLIC = {("GET", "/health"), ("GET", "/ready"), ("POST", "/api/v1/auth/login")}
# A viewer may still manage their own account: log out, change the password, own tokens.
SELF_SERVICE = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/users/me/password"),
    ("POST", "/api/v1/users/me/tokens"),
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"),
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Called by an SMS gateway, not by a user: they take the gateway's own credentials (a
# report's per-attempt token, the shared key of replies) and no user token opens them.
GATEWAY_CALLBACKS = {("GET", "/api/v1/sms/http/receipt"), ("GET", "/api/v1/sms/http/inbound")}


def _operations(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method.upper() in {"GET", *WRITE_METHODS}
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_the_walk_covers_the_whole_api(client: TestClient) -> None:
    paths = {path for _, path in _operations(client)}
    for expected in (
        "/api/v1/campaigns",
        "/api/v1/strategies",
        "/api/v1/schedules",
        "/api/v1/dnc",
        "/api/v1/settings",
        "/api/v1/users",
    ):
        assert expected in paths


def test_every_route_but_health_and_login_needs_a_token(client: TestClient) -> None:
    open_routes = []
    for method, path in _operations(client):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, _concrete(path), json={})
        if response.status_code != 401:
            open_routes.append((method, path, response.status_code))
    assert open_routes == []


def test_a_bad_token_is_refused_everywhere(client: TestClient) -> None:
    headers = {"Authorization": "Bearer ob_not-a-real-token"}
    accepted = [
        (method, path)
        for method, path in _operations(client)
        if (method, path) not in PUBLIC
        and client.request(method, _concrete(path), json={}, headers=headers).status_code != 401
    ]
    assert accepted == []


def test_a_viewer_cannot_write_anything(client: TestClient, viewer: Account) -> None:
    allowed = []
    for method, path in _operations(client):
        if method not in WRITE_METHODS or (method, path) in PUBLIC | SELF_SERVICE:
            continue
        response = client.request(method, _concrete(path), json={}, headers=viewer.headers)
        if response.status_code != 403:
            allowed.append((method, path, response.status_code))
    assert allowed == []


def test_a_viewer_can_read(client: TestClient, viewer: Account) -> None:
    for path in (
        "/api/v1/campaigns",
        "/api/v1/strategies",
        "/api/v1/schedules",
        "/api/v1/settings",
        "/api/v1/dnc",
    ):
        assert client.get(path, headers=viewer.headers).status_code == 200, path


def test_gateway_callbacks_take_no_user_token_not_even_an_admin_s(
    client: TestClient, admin: Account
) -> None:
    walked = {(m, p) for m, p in _operations(client) if p.startswith("/api/v1/sms/")}
    assert walked == GATEWAY_CALLBACKS
    opened = [
        (method, path)
        for method, path in sorted(walked)
        if client.request(method, path, headers=admin.headers).status_code != 401
    ]
    assert opened == []


# Reads only an admin may make (everything else a viewer may read).
ADMIN_READS = {("GET", "/api/v1/audit"), ("GET", "/api/v1/audit.csv")}


def test_admin_only_reads_refuse_viewers_and_supervisors(
    client: TestClient, viewer: Account, supervisor: Account, admin: Account
) -> None:
    walked = {(m, p) for m, p in _operations(client) if p.startswith("/api/v1/audit")}
    assert walked == ADMIN_READS
    for method, path in sorted(ADMIN_READS):
        for account in (viewer, supervisor):
            assert client.request(method, path, headers=account.headers).status_code == 403
        assert client.request(method, path, headers=admin.headers).status_code == 200


def test_testing_a_dialer_connection_is_for_admins_only(
    client: TestClient, viewer: Account, supervisor: Account, admin: Account
) -> None:
    """It reaches out with stored credentials: a supervisor may not, an admin may."""
    route = "/api/v1/settings/dialer/test"
    for account in (viewer, supervisor):
        assert client.post(route, headers=account.headers).status_code == 403
    assert client.post(route, headers=admin.headers).status_code == 200
