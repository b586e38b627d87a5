"""Every write route answers a malformed JSON body with a 422 that points at the body."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Account


def _json_write_routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    routes = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return routes


def test_syntactically_broken_json_is_a_clear_422(client: TestClient, admin: Account) -> None:
    routes = _json_write_routes(client)
    assert len(routes) >= 15
    wrong = []
    for method, path in routes:
        response = client.request(
            method,
            path,
            content=b'{"name": "x",',
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        detail = response.json().get("detail")
        ok = (
            response.status_code == 422
            and isinstance(detail, list)
            and detail[0]["loc"][0] == "body"
            and detail[0]["type"] == "json_invalid"
        )
        if not ok:
            wrong.append((method, path, response.status_code, detail))
    assert wrong == []


def test_a_json_array_where_an_object_belongs_names_the_body(
    client: TestClient, admin: Account
) -> None:
    response = client.post("/api/v1/campaigns", json=[1, 2], headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]
