"""A method the resource does not have is 405 with an Allow listing all the methods it has.

Oracles: the methods each path has in the published OpenAPI document (what a generated
client knows), and, for the fixed segments the issue names, the README's route table.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def _allow(response_headers: object) -> set[str]:
    assert hasattr(response_headers, "get")
    value = response_headers.get("allow")
    assert value, "a 405 without an Allow header"
    return {m.strip() for m in value.split(",")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        # Fixed segments that a parameter route (/dnc/{entry_id}, .../attempts/{attempt_id},
        # /users/{user_id}) also matches: these answered 422 "not an integer".
        ("DELETE", "/api/v1/dnc/check", {"GET"}),
        ("PATCH", "/api/v1/strategies/1/attempts/order", {"PUT"}),
        ("GET", "/api/v1/strategies/1/attempts/order", {"PUT"}),
        ("PATCH", "/api/v1/users/me", {"GET"}),
        ("DELETE", "/api/v1/users/me", {"GET"}),
        ("GET", "/api/v1/dnc/bulk", {"POST"}),
    ],
)
def test_fixed_segment_with_a_wrong_method_is_405(
    client: TestClient, admin: Account, method: str, path: str, allowed: set[str]
) -> None:
    response = client.request(method, path, headers=admin.headers, json={})
    assert response.status_code == 405, response.text
    assert _allow(response.headers) == allowed
    assert response.headers["content-type"].startswith("application/json")


def test_every_path_answers_405_listing_all_its_documented_methods(
    client: TestClient, admin: Account
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    checked = 0
    for template, operations in paths.items():
        documented = {m.upper() for m in operations}
        concrete = re.sub(r"\{[^}]+\}", "1", template)
        for method in ALL_METHODS:
            if method in documented:
                continue
            response = client.request(method, concrete, headers=admin.headers)
            assert response.status_code == 405, f"{method} {concrete}: {response.text}"
            assert _allow(response.headers) == documented, f"{method} {concrete}"
            checked += 1
    assert checked > 200


def test_the_documented_methods_still_reach_their_routes(
    client: TestClient, admin: Account
) -> None:
    assert (
        client.get("/api/v1/dnc/check?number=%2B33612345678", headers=admin.headers).status_code
        == 200
    )
    assert (
        client.get("/api/v1/users/me", headers=admin.headers).json()["username"] == admin.username
    )
    assert client.get("/api/v1/dnc/999", headers=admin.headers).status_code == 404
    assert client.get("/api/v1/dnc/check-x", headers=admin.headers).status_code == 422
