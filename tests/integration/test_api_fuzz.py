"""Schemathesis, every check on, over the whole API as published in /openapi.json.

A client generated from the document must not be surprised: requests the document allows are
accepted (or meet a documented 404/409), requests it forbids are refused, every answer has a
documented status, content type, headers and body, a method the path lacks is a 405 with a
complete Allow, a resource deleted is gone, and no route ignores the token. The run is the
schemathesis CLI (``--checks all``, all phases, stateful links included) against the real
app served by uvicorn on PostgreSQL, with a fixed number of examples per operation and
deterministic generation, so that it is bounded and repeatable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from tests.conftest import Account
from tests.live import serve

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 8
# Operations left out, each because running it would take the fuzzer's own ground away:
EXCLUDED = (
    # Revokes the very session token the fuzzer sends.
    ("POST", "/api/v1/auth/logout"),
    # Would revoke the fuzzer's own API tokens (its id is linked from the token listing).
    ("DELETE", "/api/v1/users/me/tokens/{token_id}"),
    # Would delete, deactivate or demote the fuzzer's own admin account (ids come from
    # GET /users), after which every other operation answers 401/403.
    ("DELETE", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
)


@pytest.fixture
def served(db: Database, config: Config) -> Iterator[str]:
    """The app on a real port (schemathesis' CLI talks HTTP), until the test ends."""
    with serve(create_app(config, db=db)) as url:
        yield url


# Settings change the ground under every other operation (a body limit of 1 KiB makes the
# rest of the run 413s), so they are fuzzed in a run of their own, after the rest.
SETTINGS = ("GET /api/v1/settings", "PATCH /api/v1/settings")


# The contract is HTTP's, the same on either database (every other test runs on both): one
# backend, PostgreSQL, keeps the suite's time in bounds.
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("part", ["api", "settings"])
def test_schemathesis_all_checks_pass(
    served: str, admin: Account, part: str, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{served}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {admin.token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "30",
        "--no-color",
        "--output-truncate",
        "true",
    ]
    if part == "api":
        # The coverage phase (boundary values of every field, every operation) took 6.5 of
        # the API part's 8.7 minutes and would take CI past its 30; it runs on the settings.
        command += ["--phases", "examples,fuzzing,stateful"]
    for method, path in EXCLUDED:
        command += ["--exclude-name", f"{method} {path}"]
    for name in SETTINGS:
        command += ["--exclude-name" if part == "api" else "--include-name", name]
    # The CLI keeps a cache of its findings in its working directory: a temporary one, so
    # that no run leans on (or leaves behind) another's.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_hooks", "PYTHONPATH": path}
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    report = run.stdout + run.stderr
    print(report)  # shown in full when the run fails
    assert run.returncode == 0, report[-3000:]
    tested = int(report.split("Tested: ", 1)[1].split()[0])
    assert tested >= (60 if part == "api" else len(SETTINGS)), report[-5000:]
