"""Webhook retry timing and signatures: pure functions."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from outbound.webhooks import signing
from outbound.webhooks.deliverer import Policy


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = Policy(base=timedelta(seconds=10), cap=timedelta(minutes=5))
    rng = random.Random(4)
    for tries in range(1, 12):
        full = min(timedelta(seconds=10 * 2 ** (tries - 1)), timedelta(minutes=5))
        delays = {policy.backoff(tries, rng) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays), tries
        assert len(delays) > 1  # jitter: retries of many events do not fall together


def test_the_lease_outlasts_a_batch_of_slow_receivers() -> None:
    policy = Policy(timeout=10, batch=32, concurrency=8)
    assert policy.lease > timedelta(seconds=10 * 32 / 8)


def test_a_signature_binds_body_timestamp_and_secret() -> None:
    body = signing.body({"event_id": 1, "state": "connected"})
    header = signing.signature("s3cret-s3cret-s3cret", 1_700_000_000, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    ok: dict[str, Any] = {
        "body": body,
        "timestamp": "1700000000",
        "header": header,
        "now": 1_700_000_100,
    }
    assert signing.verify("s3cret-s3cret-s3cret", **ok)
    assert not signing.verify("another-secret-here", **ok)
    assert not signing.verify(
        "s3cret-s3cret-s3cret",
        **(ok | {"body": body.replace(b"connected", b"busy")}),
    )
    assert not signing.verify(
        "s3cret-s3cret-s3cret",
        **(ok | {"timestamp": "1700000001"}),
    )
    assert not signing.verify(
        "s3cret-s3cret-s3cret",
        **(ok | {"now": 1_700_000_000 + 301}),
    )
    assert not signing.verify(
        "s3cret-s3cret-s3cret",
        **(ok | {"timestamp": "yesterday"}),
    )
