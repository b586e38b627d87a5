"""Every route of the app refuses a request without a token, and a viewer cannot write.

The routes are walked from the app's own OpenAPI document, so a route added later is
covered without touching this test.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from outbound.db.engine import Database
from outbound.users.roles import Role
from tests.conftest import Account, _account

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


@pytest.fixture
def agent_account(db: Database) -> Account:
    return _account(db, Role.AGENT)


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


# The agent's own desk (the CTI API): agents, and supervisors and admins who take calls; a
# viewer may not, not even read. Every route under /agents/me is listed here.
AGENT_DESK = {
    ("GET", "/api/v1/agents/me"),
    ("POST", "/api/v1/agents/me/state"),
    ("POST", "/api/v1/agents/me/heartbeat"),
    ("PUT", "/api/v1/agents/me/campaigns"),
    ("GET", "/api/v1/agents/me/call"),
    ("POST", "/api/v1/agents/me/call/end"),
    ("POST", "/api/v1/agents/me/call/disposition"),
    ("GET", "/api/v1/agents/me/events"),
    ("GET", "/api/v1/agents/me/callbacks"),
    ("GET", "/api/v1/agents/me/preview"),
    ("POST", "/api/v1/agents/me/preview/call"),
    ("POST", "/api/v1/agents/me/preview/skip"),
}
# Supervisors watch every agent; an agent sees only its own desk.
SUPERVISED = {
    ("GET", "/api/v1/agents"),
    ("GET", "/api/v1/agents/{agent_id}"),
    ("GET", "/api/v1/agents/{agent_id}/history"),
    ("GET", "/api/v1/reports/agents"),
}


def test_the_agent_desk_is_for_agents_only(
    client: TestClient, viewer: Account, agent_account: Account
) -> None:
    walked = {(m, p) for m, p in _operations(client) if p.startswith("/api/v1/agents/me")}
    assert walked == AGENT_DESK
    opened = [
        (method, path)
        for method, path in sorted(AGENT_DESK)
        if client.request(method, path, json={}, headers=viewer.headers).status_code != 403
    ]
    assert opened == []
    # An agent without a profile yet: its desk says so (404), never another agent's.
    assert client.get("/api/v1/agents/me", headers=agent_account.headers).status_code == 404
    watched = [
        (method, path)
        for method, path in sorted(SUPERVISED)
        if client.request(method, _concrete(path), headers=agent_account.headers).status_code != 403
    ]
    assert watched == []


# Routes left out of the OpenAPI document on purpose, with who may use them. The web UI's
# pages (HTML, session log-in) are tested in tests/web; /metrics takes the metrics token
# (OUTBOUND_METRICS_TOKEN), never a user's: 404 when none is configured, else 401 without it.
OUTSIDE_THE_DOCUMENT = {("GET", "/metrics")}


def test_routes_outside_the_document_are_listed_and_closed(
    client: TestClient, admin: Account
) -> None:
    from fastapi.routing import APIRoute

    from outbound.metrics.endpoints import router as metrics_router

    hidden = {
        (method, route.path)
        for route in metrics_router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert hidden == OUTSIDE_THE_DOCUMENT
    assert not OUTSIDE_THE_DOCUMENT & set(_operations(client))
    for method, path in sorted(OUTSIDE_THE_DOCUMENT):
        for headers in ({}, admin.headers):  # no metrics token configured: nothing there
            assert client.request(method, path, headers=headers).status_code == 404


def test_testing_a_dialer_connection_is_for_admins_only(
    client: TestClient, viewer: Account, supervisor: Account, admin: Account
) -> None:
    """It reaches out with stored credentials: a supervisor may not, an admin may."""
    route = "/api/v1/settings/dialer/test"
    for account in (viewer, supervisor):
        assert client.post(route, headers=account.headers).status_code == 403
    assert client.post(route, headers=admin.headers).status_code == 200
