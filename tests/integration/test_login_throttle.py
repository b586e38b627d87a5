"""The log-in throttle under concurrent guessing, over real HTTP, on both databases.

The oracle is the count of 401 answers: each one is a password check that ran (argon2),
each 429 a guess refused before any check. Blocks double from one second, so while the
guessing lasts ``elapsed`` seconds at most ``log2(elapsed + 1) + 1`` blocks can run out and
let one more guess through each.
"""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from outbound.app import create_app
from outbound.config import Config
from outbound.db.engine import Database
from outbound.users import service as users
from outbound.users.roles import Role
from tests.live import serve

THREADS, TRIES = 40, 5
USER_FREE, ADDRESS_FREE = 5, 20
LONG_BLOCK = 8


def _guess_concurrently(url: str, usernames: list[str]) -> tuple[list[httpx.Response], float]:
    """``THREADS`` clients, each sending ``TRIES`` wrong passwords; all answers and the time."""

    def one_client(index: int) -> list[httpx.Response]:
        with httpx.Client(base_url=url, timeout=60) as http:
            return [
                http.post(
                    "/api/v1/auth/login",
                    json={"username": usernames[index * TRIES + i], "password": f"guess-{i}"},
                )
                for i in range(TRIES)
            ]

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        answers = [r for rs in pool.map(one_client, range(THREADS)) for r in rs]
    return answers, time.monotonic() - started


def _checked_at_most(free: int, elapsed: float) -> int:
    return free + math.floor(math.log2(elapsed + 1)) + 1


def _assert_refusals_say_how_long(answers: list[httpx.Response], who: str) -> None:
    refused = [r for r in answers if r.status_code == 429]
    assert refused
    for r in refused:
        wait = int(r.headers["Retry-After"])
        assert wait >= 1
        assert re.search(rf"from {who}; try again in {wait} s", r.json()["detail"]), r.text


def _blocked_for_a_while(url: str, wrong: dict[str, str], who: str) -> None:
    """Return once a wrong try is refused with at least ``LONG_BLOCK`` seconds still to run.

    The concurrent guessing ends at any point of a block, maybe a millisecond before it runs
    out; a check made right after it would race that end. Waiting out the short blocks (each
    checked guess doubles the next) until one is refused with ``Retry-After >= LONG_BLOCK``
    leaves more than ``LONG_BLOCK - 1`` seconds for the next request, which needs no
    password check to be refused."""
    for _ in range(12):
        answer = httpx.post(f"{url}/api/v1/auth/login", json=wrong)
        assert answer.status_code in (401, 429), answer.text
        if answer.status_code == 429:
            assert who in answer.json()["detail"]
            wait = int(answer.headers["Retry-After"])
            if wait >= LONG_BLOCK:
                return
            time.sleep(wait)
    raise AssertionError(f"no block of {LONG_BLOCK} s came")


def _app(db: Database, tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data", engine=False)


def test_concurrent_guesses_at_one_account_are_mostly_not_checked(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        users.create_user(session, username="guessed", password="right-password", role=Role.VIEWER)
    app = create_app(_app(db, tmp_path), db=db, background=False)
    with serve(app) as url:
        answers, elapsed = _guess_concurrently(url, ["guessed"] * THREADS * TRIES)
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {401, 429}
        checked = statuses.count(401)
        assert USER_FREE <= checked <= _checked_at_most(USER_FREE, elapsed), (checked, elapsed)
        _assert_refusals_say_how_long(answers, "this account")
        # Even the right password waits for the block to run out.
        _blocked_for_a_while(url, {"username": "guessed", "password": "wrong"}, "this account")
        right = httpx.post(
            f"{url}/api/v1/auth/login", json={"username": "guessed", "password": "right-password"}
        )
        assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1


def test_concurrent_guesses_from_one_address_are_limited_too(db: Database, tmp_path: Path) -> None:
    """Guessing many user names (none of them real) from one address is slowed down."""
    with db.transaction() as session:
        users.create_user(
            session, username="bystander", password="right-password", role=Role.VIEWER
        )
    app = create_app(_app(db, tmp_path), db=db, background=False)
    names = [f"nobody-{i}" for i in range(THREADS * TRIES)]
    with serve(app) as url:
        answers, elapsed = _guess_concurrently(url, names)
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {401, 429}
        checked = statuses.count(401)
        assert ADDRESS_FREE <= checked <= _checked_at_most(ADDRESS_FREE, elapsed)
        _assert_refusals_say_how_long(answers, "this address")
        # The address is blocked for every account, real ones included.
        _blocked_for_a_while(url, {"username": "nobody", "password": "wrong"}, "this address")
        right = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"username": "bystander", "password": "right-password"},
        )
        assert right.status_code == 429
        assert "this address" in right.json()["detail"]
