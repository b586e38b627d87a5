"""Helpers for the web pages' HTTP tests: log in through the form, read the CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def login_nonce(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    found = CSRF_INPUT.search(page.text)
    assert found is not None
    return found.group(1)


def csrf_of(client: TestClient, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_INPUT.search(page.text)
    assert found is not None, "the page carries no CSRF field"
    return found.group(1)


def field_error(page: str, field_id: str) -> str | None:
    """The message shown right under the field whose input has id ``field_id``."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">(.*?)</p>', page)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def login(client: TestClient) -> Callable[[Account], str]:
    """Log ``account`` in through the form; returns the session's CSRF token."""

    def log_in(account: Account) -> str:
        nonce = login_nonce(client)
        answer = client.post(
            "/login",
            data={"csrf_token": nonce, "username": account.username, "password": account.password},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return csrf_of(client)

    return log_in
