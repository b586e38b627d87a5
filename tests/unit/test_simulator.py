"""The simulator channels on a virtual clock: the plan, the mix, latencies, capacity, ledger."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outbound.campaigns.types import CampaignType
from outbound.channels.base import ChannelError, Dial, Dialer, Result, Sms, SmsGateway
from outbound.channels.registry import (
    InvalidOptions,
    build_dialer,
    build_sms_gateway,
    validate_dialer_options,
    validate_sms_gateway_options,
)
from outbound.channels.simulator import (
    SimulatorConfig,
    SimulatorDialer,
    SimulatorSms,
    SmsSimulatorConfig,
)
from outbound.engine.clock import VirtualClock
from outbound.strategies.outcomes import Outcome

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=365)


def number(code: str, prefix: int = 0) -> str:
    return f"+1555{prefix:04d}{code}"


def call(attempt_id: int, code: str = "123", prefix: int = 0) -> Dial:
    return Dial(attempt_id, number(code, prefix), 1, CampaignType.AGENT, "queue")


def sms(attempt_id: int, code: str = "123", prefix: int = 0) -> Sms:
    return Sms(attempt_id, number(code, prefix), 1, "Hello")


def dialer(clock: VirtualClock | None = None, **options: Any) -> SimulatorDialer:
    options.setdefault("seed", 1)
    return SimulatorDialer(SimulatorConfig(**options), clock or VirtualClock(T0))


def firsts(results: list[Result]) -> list[Result]:
    """Each call's outcome report: a connected call's answer (its end follows), or the one
    result of a call that was not answered."""
    return [r for r in results if r.answered or r.outcome is not Outcome.CONNECTED]


def gateway(clock: VirtualClock | None = None, **options: Any) -> SimulatorSms:
    options.setdefault("seed", 1)
    return SimulatorSms(SmsSimulatorConfig(**options), clock or VirtualClock(T0))


VOICE_TABLE = [
    ("200", Outcome.CONNECTED, "200 OK"),
    ("201", Outcome.CONNECTED, "200 OK"),
    ("486", Outcome.BUSY, "486 Busy Here"),
    ("600", Outcome.BUSY, "600 Busy Everywhere"),
    ("480", Outcome.NO_ANSWER, "480 Temporarily Unavailable"),
    ("408", Outcome.NO_ANSWER, "408 Request Timeout"),
    ("404", Outcome.INVALID_NUMBER, "404 Not Found"),
    ("484", Outcome.INVALID_NUMBER, "484 Address Incomplete"),
    ("410", Outcome.INVALID_NUMBER, "410 Gone"),
    ("503", Outcome.NETWORK_ERROR, "503 Service Unavailable"),
    ("500", Outcome.NETWORK_ERROR, "500 Server Internal Error"),
    ("603", Outcome.DECLINED, "603 Decline"),
    ("700", Outcome.ANSWERING_MACHINE, "SIM 700 Answering Machine"),
    ("701", Outcome.FAX, "SIM 701 Fax"),
    ("702", Outcome.CUSTOMER_ABANDONED, "SIM 702 Customer Abandoned"),
    ("703", Outcome.DIALER_ABANDONED, "SIM 703 Dialer Abandoned"),
]


@pytest.mark.parametrize(("code", "outcome", "raw"), VOICE_TABLE)
def test_every_plan_code_gives_its_outcome_and_raw_status(
    code: str, outcome: Outcome, raw: str
) -> None:
    # The plan wins even when the weights say every call connects.
    sim = dialer(outcomes={"busy": 1} if outcome is Outcome.CONNECTED else {"connected": 1})
    sim.dial([call(7, code)])
    results = sim.poll(LATER)
    (result,) = firsts(results)
    assert (result.attempt_id, result.outcome, result.raw) == (7, outcome, raw)
    assert result.answered is (outcome is Outcome.CONNECTED)
    assert len(results) == (2 if result.answered else 1)


def test_a_connected_call_reports_its_answer_then_its_end_after_the_talk() -> None:
    clock = VirtualClock(T0)
    sim = dialer(clock, jitter=0, capacity=1, latency={"connected": 20}, talk_seconds=7200)
    sim.dial([call(1, "200")])
    answer = T0 + timedelta(seconds=20)
    assert sim.poll(answer) == [Result(1, Outcome.CONNECTED, "200 OK", answer, answered=True)]
    assert sim.capacity() == 0  # the line is held while the customer talks
    end = answer + timedelta(hours=2)
    assert sim.next_event() == end
    assert sim.poll(end - timedelta(seconds=1)) == []
    assert sim.poll(end) == [Result(1, Outcome.CONNECTED, "200 OK; hung up after 7200 s", end)]
    assert sim.capacity() == 1


def test_a_number_ending_999_never_gets_a_result_and_frees_its_line_later() -> None:
    sim = dialer(capacity=1, jitter=0, lost_call_seconds=120)
    sim.dial([call(1, "999")])
    assert sim.capacity() == 0
    assert sim.poll(T0 + timedelta(seconds=119)) == []
    assert sim.capacity() == 0
    assert sim.poll(LATER) == []
    assert sim.capacity() == 1
    assert sim.next_event() is None


def test_random_mix_matches_the_weights_over_ten_thousand_calls() -> None:
    sim = dialer(capacity=10_000, instant=True, seed=7)
    sim.dial([call(i, "123", prefix=i) for i in range(10_000)])
    counts = Counter(r.outcome for r in firsts(sim.poll(T0)))
    weights = SimulatorConfig().outcomes
    assert set(counts) == set(weights)
    for outcome, weight in weights.items():
        assert counts[outcome] / 10_000 == pytest.approx(weight, abs=0.015), outcome


def test_random_outcomes_use_the_sip_status_of_their_kind() -> None:
    sim = dialer(outcomes={"no_answer": 1, "busy": 1}, instant=True)
    sim.dial([call(i, "123", prefix=i) for i in range(50)])
    raws = {r.outcome: r.raw for r in sim.poll(T0)}
    assert raws == {Outcome.NO_ANSWER: "487 Request Terminated", Outcome.BUSY: "486 Busy Here"}


def _run(seed: int, order: list[int]) -> dict[int, tuple[Outcome, datetime]]:
    sim = dialer(seed=seed)
    sim.dial([call(i, "123", prefix=i) for i in order])
    return {r.attempt_id: (r.outcome, r.at) for r in sim.poll(LATER)}


def test_same_seed_same_results_whatever_the_batch_order() -> None:
    ids = list(range(300))
    first = _run(42, ids)
    assert _run(42, ids) == first
    assert _run(42, ids[::-1]) == first
    assert _run(43, ids) != first


def test_nothing_is_returned_before_it_is_due() -> None:
    clock = VirtualClock(T0)
    sim = dialer(clock, jitter=0, latency={"busy": 5})
    sim.dial([call(1, "486")])
    clock.advance(timedelta(seconds=10))
    sim.dial([call(2, "200")])
    assert sim.next_event() == T0 + timedelta(seconds=5)
    assert sim.poll(T0 + timedelta(seconds=4.999)) == []
    assert sim.poll(T0 + timedelta(seconds=5)) == [
        Result(1, Outcome.BUSY, "486 Busy Here", T0 + timedelta(seconds=5))
    ]
    # Latencies not given keep their default: a connected call answers after 15 s and talks
    # for 45 s.
    assert sim.next_event() == T0 + timedelta(seconds=25)
    assert sim.poll(T0 + timedelta(seconds=24)) == []
    assert [r.answered for r in sim.poll(T0 + timedelta(seconds=25))] == [True]
    assert sim.next_event() == T0 + timedelta(seconds=70)
    assert sim.poll(T0 + timedelta(seconds=69)) == []
    assert [(r.attempt_id, r.answered) for r in sim.poll(T0 + timedelta(seconds=70))] == [
        (2, False)
    ]
    assert sim.next_event() is None


def test_jitter_spreads_latency_within_its_bounds() -> None:
    sim = dialer(jitter=0.2, capacity=500)
    sim.dial([call(i, "486", prefix=i) for i in range(500)])
    delays = [(r.at - T0).total_seconds() for r in sim.poll(LATER)]
    assert all(2.4 <= d <= 3.6 for d in delays)
    assert max(delays) - min(delays) > 0.8


def test_results_come_in_due_order_across_batches() -> None:
    sim = dialer(jitter=0)
    sim.dial([call(1, "200"), call(2, "486"), call(3, "480"), call(4, "404")])
    results = sim.poll(LATER)
    assert [r.attempt_id for r in results] == [4, 2, 1, 3, 1]  # 1: answered, then its end
    assert [r.at for r in results] == sorted(r.at for r in results)


def test_capacity_is_enforced_whole_batch_and_freed_by_results(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    sim = dialer(capacity=2, jitter=0, ledger_path=str(ledger))
    with pytest.raises(ChannelError) as refused:
        sim.dial([call(1, "486"), call(2, "486"), call(3, "486")])
    assert refused.value.retriable
    assert sim.capacity() == 2
    assert ledger.read_text() == ""  # nothing of a refused batch was dialled
    sim.dial([call(1, "486"), call(2, "200")])
    assert sim.capacity() == 0
    with pytest.raises(ChannelError, match="0 free lines"):
        sim.dial([call(3, "486")])
    sim.poll(T0 + timedelta(seconds=3))
    assert sim.capacity() == 1
    sim.poll(LATER)
    assert sim.capacity() == 2


def test_instant_mode_makes_everything_due_at_once() -> None:
    clock = VirtualClock(T0)
    sim = dialer(clock, instant=True)
    clock.advance(timedelta(minutes=1))
    sim.dial([call(1, "200"), call(2, "480"), call(3, "123")])
    assert sim.next_event() == T0 + timedelta(minutes=1)
    results = firsts(sim.poll(clock.now()))
    assert [r.attempt_id for r in results] == [1, 2, 3]
    assert {r.at for r in results} == {clock.now()}


def test_the_ledger_has_one_line_per_hand_over(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    clock = VirtualClock(T0)
    first = dialer(clock, ledger_path=str(ledger))
    second = dialer(clock, ledger_path=str(ledger))  # another worker, same file
    first.dial([call(1, "200"), call(2, "999")])
    clock.advance(timedelta(seconds=1))
    second.dial([call(3, "486")])
    first.dial([])
    first.close()
    second.close()
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert lines == [
        {"attempt_id": 1, "number": number("200"), "at": T0.isoformat(), "kind": "dial"},
        {"attempt_id": 2, "number": number("999"), "at": T0.isoformat(), "kind": "dial"},
        {
            "attempt_id": 3,
            "number": number("486"),
            "at": (T0 + timedelta(seconds=1)).isoformat(),
            "kind": "dial",
        },
    ]


def test_dial_and_poll_from_several_threads_lose_nothing() -> None:
    sim = dialer(instant=True, capacity=2000)
    seen: list[Result] = []
    done = threading.Event()

    def poller() -> None:
        while not done.is_set() or sim.next_event() is not None:
            seen.extend(sim.poll(T0))

    def worker(base: int) -> None:
        for i in range(250):
            sim.dial([call(base + i, "123", prefix=i)])

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    watcher = threading.Thread(target=poller)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert sorted(r.attempt_id for r in firsts(seen)) == sorted(
        k * 1000 + i for k in range(4) for i in range(250)
    )
    assert sim.capacity() == 2000


def test_a_closed_dialer_takes_nothing_and_reports_nothing() -> None:
    sim = dialer()
    sim.dial([call(1, "200")])
    sim.close()
    assert sim.capacity() == 0
    assert sim.poll(LATER) == []
    assert sim.next_event() is None
    with pytest.raises(ChannelError):
        sim.dial([call(2, "200")])


# --- SMS ---------------------------------------------------------------------------------

SURE: dict[str, Any] = {"reject_probability": 0, "delivery_probability": 1, "reply_probability": 0}


def test_sms_is_accepted_then_delivered_and_holds_a_line_until_the_receipt() -> None:
    clock = VirtualClock(T0)
    sim = gateway(clock, jitter=0, capacity=1, stop_probability=0, **SURE)
    sim.send([sms(5)])
    assert sim.capacity() == 0
    assert sim.next_event() == T0 + timedelta(seconds=0.5)
    assert sim.poll(T0) == ([], [])
    accepted = T0 + timedelta(seconds=0.5)
    assert sim.poll(accepted) == (
        [Result(5, Outcome.SMS_ACCEPTED, "submit_sm_resp OK", accepted)],
        [],
    )
    assert sim.capacity() == 0
    delivered = accepted + timedelta(seconds=5)
    assert sim.poll(LATER) == ([Result(5, Outcome.SMS_DELIVERED, "DLR DELIVRD", delivered)], [])
    assert sim.capacity() == 1


def test_sms_rejected_at_submit_fails_at_once() -> None:
    sim = gateway(jitter=0)
    sim.send([sms(1, "998")])
    assert sim.poll(T0) == (
        [Result(1, Outcome.SMS_FAILED, "submit_sm_resp ESME_RINVDSTADR", T0)],
        [],
    )
    assert sim.next_event() is None
    assert sim.poll(LATER) == ([], [])


def test_sms_throttled_fails_after_the_submit_latency() -> None:
    sim = gateway(jitter=0)
    sim.send([sms(1, "997")])
    due = T0 + timedelta(seconds=0.5)
    assert sim.poll(LATER) == (
        [Result(1, Outcome.SMS_FAILED, "submit_sm_resp ESME_RTHROTTLED", due)],
        [],
    )


@pytest.mark.parametrize(("code", "raw"), [("999", "DLR UNDELIV"), ("996", "DLR EXPIRED")])
def test_sms_accepted_but_not_delivered(code: str, raw: str) -> None:
    sim = gateway(jitter=0, **SURE)
    sim.send([sms(1, code)])
    results, inbound = sim.poll(LATER)
    assert [(r.outcome, r.raw) for r in results] == [
        (Outcome.SMS_ACCEPTED, "submit_sm_resp OK"),
        (Outcome.SMS_FAILED, raw),
    ]
    assert results[1].at == T0 + timedelta(seconds=5.5)
    assert inbound == []


@pytest.mark.parametrize(("code", "text"), [("555", "YES"), ("556", "STOP")])
def test_sms_reply_arrives_as_inbound_after_delivery(code: str, text: str) -> None:
    clock = VirtualClock(T0)
    sim = gateway(clock, jitter=0, capacity=1, reply_latency=60)
    sim.send([sms(1, code)])
    results, inbound = sim.poll(T0 + timedelta(seconds=5.5))
    assert [r.outcome for r in results] == [Outcome.SMS_ACCEPTED, Outcome.SMS_DELIVERED]
    assert inbound == []
    assert sim.capacity() == 1  # a reply to come holds no line
    assert sim.next_event() == T0 + timedelta(seconds=65.5)
    results, inbound = sim.poll(LATER)
    assert results == []
    assert [(m.number, m.text, m.at) for m in inbound] == [
        (number(code), text, T0 + timedelta(seconds=65.5))
    ]


def test_sms_random_mix_follows_the_probabilities() -> None:
    sim = gateway(
        capacity=10_000,
        instant=True,
        seed=3,
        reject_probability=0.1,
        delivery_probability=0.8,
        reply_probability=0.3,
        stop_probability=0.1,
        reply_text="Ja",
    )
    sim.send([sms(i, "123", prefix=i) for i in range(10_000)])
    results, inbound = sim.poll(T0)
    raws = Counter(r.raw for r in results)
    assert raws["submit_sm_resp ESME_RSUBMITFAIL"] / 10_000 == pytest.approx(0.1, abs=0.015)
    assert raws["submit_sm_resp OK"] == 10_000 - raws["submit_sm_resp ESME_RSUBMITFAIL"]
    delivered = raws["DLR DELIVRD"]
    assert delivered / 10_000 == pytest.approx(0.9 * 0.8, abs=0.015)
    texts = Counter(m.text for m in inbound)
    assert texts["Ja"] / delivered == pytest.approx(0.3, abs=0.03)
    assert texts["STOP"] / delivered == pytest.approx(0.1, abs=0.03)
    assert sim.capacity() == 10_000


def test_sms_capacity_and_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "sms.jsonl"
    sim = gateway(capacity=1, ledger_path=str(ledger))
    sim.send([sms(1)])
    with pytest.raises(ChannelError) as refused:
        sim.send([sms(2)])
    assert refused.value.retriable
    sim.close()
    assert [json.loads(x)["kind"] for x in ledger.read_text().splitlines()] == ["sms"]


# --- registry and options ----------------------------------------------------------------


def test_registry_builds_working_simulators() -> None:
    clock = VirtualClock(T0)
    voice: Dialer = build_dialer("simulator", {"instant": True, "seed": 1}, clock)
    text: SmsGateway = build_sms_gateway("simulator", {"instant": True}, clock)
    voice.dial([call(1, "486")])
    text.send([sms(2, "998")])
    assert [r.outcome for r in voice.poll(T0)] == [Outcome.BUSY]
    assert [r.outcome for r in text.poll(T0)[0]] == [Outcome.SMS_FAILED]
    assert voice.name == text.name == "simulator"


def test_unknown_kinds_name_the_known_ones() -> None:
    clock = VirtualClock(T0)
    with pytest.raises(
        ValueError, match="unknown dialer 'asterisk'; known: cisco_ucce, cisco_uccx, simulator, sip"
    ):
        build_dialer("asterisk", {}, clock)
    known = "http, simulator, smpp"
    with pytest.raises(ValueError, match=f"unknown SMS gateway 'pigeon'; known: {known}"):
        validate_sms_gateway_options("pigeon", {})


def test_validated_options_fill_in_the_defaults() -> None:
    stored = validate_dialer_options("simulator", {"latency": {"busy": 1}})
    assert stored["capacity"] == 1000
    assert stored["latency"]["busy"] == 1
    assert stored["latency"]["no_answer"] == 30
    assert stored["outcomes"]["connected"] == 0.35
    assert SimulatorConfig.model_validate(stored) == SimulatorConfig(latency={"busy": 1})
    assert validate_sms_gateway_options("simulator", {})["reply_text"] == "YES"


@pytest.mark.parametrize(
    ("options", "loc", "words"),
    [
        ({"outcomes": {"sms_delivered": 1}}, ("outcomes",), "not a dialer outcome"),
        ({"outcomes": {"connected": 0}}, ("outcomes",), "above 0"),
        ({"outcomes": {"connected": -1}}, ("outcomes", "connected"), "greater than or equal"),
        ({"outcomes": {"hello": 1}}, ("outcomes", "hello", "[key]"), "Input should be"),
        ({"latency": {"busy": float("nan")}}, ("latency", "busy"), "finite"),
        ({"latency": {"busy": 100_000}}, ("latency", "busy"), "less than or equal"),
        ({"capacity": 0}, ("capacity",), "greater than or equal"),
        ({"speed": 3}, ("speed",), "Extra inputs"),
        ({"jitter": 2}, ("jitter",), "less than or equal"),
    ],
)
def test_bad_dialer_options_are_refused_naming_the_option(
    options: dict[str, Any], loc: tuple[str, ...], words: str
) -> None:
    with pytest.raises(InvalidOptions) as refused:
        validate_dialer_options("simulator", options)
    assert [p[0] for p in refused.value.problems] == [loc]
    assert words in refused.value.problems[0][1]


def test_bad_sms_options_are_refused_naming_the_option() -> None:
    with pytest.raises(InvalidOptions) as refused:
        build_sms_gateway(
            "simulator", {"reply_probability": 0.8, "stop_probability": 0.5}, VirtualClock(T0)
        )
    assert [p[0] for p in refused.value.problems] == [("stop_probability",)]
    assert "stop_probability: " in str(refused.value)
    with pytest.raises(InvalidOptions, match="outcomes"):
        validate_sms_gateway_options("simulator", {"outcomes": {"connected": 1}})
