"""Log-in, session cookie, CSRF and role checks of the web pages, on both databases."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import login_nonce

Login = Callable[[Account], str]


def test_pages_redirect_to_login_without_a_session(client: TestClient) -> None:
    answer = client.get("/campaigns/1?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/campaigns/1%3Fx%3D1"
    dashboard = client.get("/", follow_redirects=False)
    assert (dashboard.status_code, dashboard.headers["location"]) == (303, "/login")
    # htmx polling with an expired session is sent to the log-in page too
    polled = client.get("/campaigns/rows", headers={"HX-Request": "true"})
    assert (polled.status_code, polled.headers["HX-Redirect"]) == (204, "/login")


def test_session_cookie_is_httponly_and_samesite(client: TestClient, viewer: Account) -> None:
    nonce = login_nonce(client)
    answer = client.post(
        "/login",
        data={"csrf_token": nonce, "username": viewer.username, "password": viewer.password},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("outbound_session=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http here; Secure when the page came over https
    assert client.get("/").status_code == 200


def test_cookie_is_secure_over_https(db: Database, config: Config, viewer: Account) -> None:
    with TestClient(create_app(config, db=db), base_url="https://testserver") as secure:
        nonce = login_nonce(secure)
        answer = secure.post(
            "/login",
            data={"csrf_token": nonce, "username": viewer.username, "password": viewer.password},
            follow_redirects=False,
        )
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("outbound_session=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_login_form_without_its_token_is_refused(client: TestClient, viewer: Account) -> None:
    client.get("/login")
    answer = client.post(
        "/login",
        data={"csrf_token": "forged", "username": viewer.username, "password": viewer.password},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "outbound_session" not in answer.headers.get("set-cookie", "")


def test_wrong_password_is_shown_and_throttled_like_the_api(
    client: TestClient, viewer: Account
) -> None:
    nonce = login_nonce(client)
    statuses = []
    for _ in range(7):
        answer = client.post(
            "/login",
            data={"csrf_token": nonce, "username": viewer.username, "password": "wrong-one"},
        )
        statuses.append(answer.status_code)
        if len(statuses) == 1:
            assert "wrong user name or password" in answer.text
    assert statuses[0] == 401
    assert 429 in statuses  # after the free failures the form is slowed down too
    refused = client.post(
        "/login",
        data={"csrf_token": nonce, "username": viewer.username, "password": viewer.password},
    )
    assert refused.status_code == 429 and "too many failed log-ins" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    # the API sees the same throttle
    api = client.post(
        "/api/v1/auth/login", json={"username": viewer.username, "password": viewer.password}
    )
    assert api.status_code == 429


def test_post_without_csrf_token_is_refused(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "csrf-check")
    token = login(supervisor)
    assert client.post(f"/campaigns/{campaign}/start", data={}).status_code == 403
    assert (
        client.post(f"/campaigns/{campaign}/start", data={"csrf_token": "x" * 64}).status_code
        == 403
    )
    running = client.get(f"/api/v1/campaigns/{campaign}", headers=supervisor.headers).json()
    assert running["running"] is False
    # the same request with the session's token (header, as htmx sends it) goes through
    done = client.post(
        f"/campaigns/{campaign}/start",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert done.status_code == 200
    running = client.get(f"/api/v1/campaigns/{campaign}", headers=supervisor.headers).json()
    assert running["running"] is True


def test_another_sessions_token_is_refused(
    client: TestClient, db: Database, supervisor: Account, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "csrf-other")
    other_token = login(admin)
    login(supervisor)
    answer = client.post(f"/campaigns/{campaign}/start", data={"csrf_token": other_token})
    assert answer.status_code == 403


def test_viewer_sees_no_write_controls_and_is_refused(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "viewer-view")
    token = login(viewer)
    dashboard = client.get("/")
    assert 'data-campaign="viewer-view"' in dashboard.text
    assert "/start" not in dashboard.text and "New campaign" not in dashboard.text
    page = client.get(f"/campaigns/{campaign}")
    assert page.status_code == 200
    assert "<form" not in re.sub(
        r'<form method="post" action="/logout".*?</form>', "", page.text, flags=re.S
    )
    for path in (f"/campaigns/{campaign}/start", f"/campaigns/{campaign}", "/campaigns/new"):
        assert client.post(path, data={"csrf_token": token, "name": "x"}).status_code == 403
    for path in ("/users", "/tokens", "/campaigns/new"):
        assert client.get(path).status_code == 403


def test_supervisor_toggles_but_cannot_edit_or_manage_users(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "super-view")
    token = login(supervisor)
    dashboard = client.get("/")
    assert f'action="/campaigns/{campaign}/start' in dashboard.text
    assert "New campaign" not in dashboard.text
    answer = client.post(f"/campaigns/{campaign}", data={"csrf_token": token, "name": "renamed"})
    assert answer.status_code == 403
    assert client.post("/users", data={"csrf_token": token, "username": "zzz"}).status_code == 403
    nav = client.get("/").text
    assert 'href="/users"' not in nav


def test_logout_revokes_the_session(client: TestClient, viewer: Account, login: Login) -> None:
    token = login(viewer)
    cookie = client.cookies.get("outbound_session")
    answer = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    # the old cookie value is dead, not only forgotten by the browser
    client.cookies.set("outbound_session", cookie)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_next_parameter_only_leads_inside_the_site(client: TestClient, viewer: Account) -> None:
    nonce = login_nonce(client)
    answer = client.post(
        "/login",
        data={
            "csrf_token": nonce,
            "username": viewer.username,
            "password": viewer.password,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_unknown_pages_are_html_404_and_api_stays_json(
    client: TestClient, viewer: Account, login: Login
) -> None:
    login(viewer)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert client.get("/campaigns/999999").status_code == 404
    assert client.get("/campaigns/abc").status_code == 404
    api = client.get("/api/v1/campaigns/999999", headers=viewer.headers)
    assert api.status_code == 404 and api.json()["detail"]


def test_pages_send_security_headers(client: TestClient, viewer: Account, login: Login) -> None:
    login(viewer)
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


def test_the_site_icon_is_served_and_linked(client: TestClient) -> None:
    """Every browser asks for /favicon.ico: a 404 there fills logs and looks broken."""
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")
    page = client.get("/login")
    linked = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page.text)
    assert linked is not None
    assert client.get(linked.group(1)).content == icon.content
