"""Schema-driven fuzzing of the whole API (schemathesis), on both databases.

Generated requests include malformed and wrong-typed bodies, over-long strings and unknown
fields. Whatever arrives, the server must answer with a documented status and never 5xx;
every 422 must name the offending field. Operations are walked from the app's own OpenAPI
document, so new routes are fuzzed without touching this file.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from tests.conftest import Account

MAX_EXAMPLES = 12
# These would revoke the very token the fuzzer sends.
SKIP = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/users/me/tokens/{token_id}")}


def errors_name_the_field(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code != 422:
        return None
    body = response.json()
    details = body.get("detail")
    assert isinstance(details, list) and details, f"422 without field details: {body}"
    for item in details:
        assert item.get("loc") and item.get("msg"), f"422 item names no field: {item}"
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    errors_name_the_field,
]


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_no_request_breaks_the_server(db: Database, config: Config, admin: Account) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(config, db=db))
    failures: list[str] = []
    count = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        count += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, admin.headers)
            except Unsatisfiable:
                continue  # nothing to make invalid: the operation takes no input
            except Exception as exc:  # collect every operation's failure, not just the first
                failures.append(
                    f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}"
                )
    assert count >= 20
    assert failures == [], "\n\n".join(failures)
