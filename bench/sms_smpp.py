"""Benchmark: the ``smpp`` SMS gateway's submit throughput against the test SMSC (smpp34).

In one run, against one SMSC simulator (tests/peers/smsc.py) on loopback, with no rate
limit (``max_per_second`` at its maximum):

- **window 1** (the baseline): one submit_sm at a time, each waiting for its response;
- **window W** (``--window``, default 50): up to W submits awaiting their response.

Counted: messages from ``send()`` until every one has its ``submit_sm_resp`` result
(polled), per second. Phases alternate ``--repeat`` times; prints each run, the medians and
the ratio window W / window 1. The SMSC runs in this process (its Rust core on its own
threads), so both sides share the machine alike.

    PYTHONPATH=src:. .venv/bin/python bench/sms_smpp.py [--messages 3000] [--window 50]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time

from tests.peers.smsc import Smsc

from outbound.channels.base import Sms
from outbound.channels.smpp import SmppConfig, SmppGateway
from outbound.engine.clock import SystemClock
from outbound.strategies.outcomes import Outcome


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(port: int, messages: int, window: int, first_id: int) -> float:
    config = SmppConfig(
        host="127.0.0.1",
        port=port,
        system_id="bench",
        window=window,
        max_per_second=100_000,
        capacity=messages,
    )
    gateway = SmppGateway(config, SystemClock())
    try:
        while gateway.capacity() == 0:
            time.sleep(0.01)
        batch = [
            # numbers ending 0: plain accepted and delivered (no throttling, no failure)
            Sms(first_id + i, f"+1415{first_id + i:06d}0", 1, "Hello")
            for i in range(messages)
        ]
        started = time.perf_counter()
        gateway.send(batch)
        answered = 0
        while answered < messages:
            results, _ = gateway.poll(SystemClock().now())
            answered += sum(1 for r in results if r.outcome is Outcome.SMS_ACCEPTED)
            time.sleep(0.001)
        return messages / (time.perf_counter() - started)
    finally:
        gateway.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    smsc = Smsc(free_port()).start()
    one: list[float] = []
    many: list[float] = []
    next_id = 1
    try:
        for i in range(args.repeat):
            for window, sink in ((1, one), (args.window, many)):
                rate = run(smsc.port, args.messages, window, next_id)
                next_id += args.messages
                sink.append(rate)
                print(f"run {i + 1}: window {window:>4}: {rate:8.0f} submits/s", flush=True)
    finally:
        smsc.stop()
    assert set(smsc.accepted.values()) == {1}, "a message was submitted twice"
    m1, mw = statistics.median(one), statistics.median(many)
    print(f"median window 1: {m1:.0f}/s, window {args.window}: {mw:.0f}/s, ratio {mw / m1:.2f}")


if __name__ == "__main__":
    main()
