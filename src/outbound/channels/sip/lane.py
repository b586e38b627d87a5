"""One baresip process and the calls it carries: started, watched, restarted.

A thread per lane drives the process over its control connection, one command at a time:
first the follow-ups of calls already up (transfer, hang-up), then new dials. Events come
in on the connection's reader thread and are decided in ``calls``. When the process or the
connection dies, the calls it carried are dropped without a result (the engine's dangling
sweep closes them; they are never dialled again), calls not yet dialled are reported as a
network error, and the process is started afresh.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outbound.amd.detector import Cause, Decision
from outbound.amd.detector import Verdict as AmdVerdict
from outbound.amd.session import AmdSession, action_for
from outbound.amd.wav import GrowingWav, WavFormatError
from outbound.channels.base import Result
from outbound.channels.sip.calls import (
    Call,
    Mode,
    Step,
    Verdict,
    on_deadline,
    on_decision,
    on_event,
    on_verdict,
)
from outbound.channels.sip.config import SipDialerConfig
from outbound.channels.sip.ctrl import Ctrl, CtrlClosed
from outbound.channels.sip.handover import Hands
from outbound.channels.sip.process import BaresipProcess, account_line
from outbound.channels.sip.relay import Relay
from outbound.channels.sip.tap import TapDir
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome

log = logging.getLogger(__name__)
START_WITHIN = 10.0  # seconds for a fresh process to open its control port
RESTART_PAUSE = (0.2, 5.0)  # first and longest pause between failed starts
LONGEST_BACKOFF = 3600.0  # seconds: the longest Retry-After honoured
AMD_POLL = 0.02  # seconds between reads of the calls' taps while any is listened to


class Gauge:
    """Calls answered and up right now, over every lane, and the most seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def add(self, delta: int) -> None:
        with self._lock:
            self.now += delta
            self.peak = max(self.peak, self.now)


class BackOff:
    """The trunk asked for a pause (a 503 with Retry-After): no new calls until it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.until = 0.0  # monotonic seconds
        self.reason = ""

    def start(self, seconds: float, reason: str) -> None:
        """Pause for ``seconds``, at most ``LONGEST_BACKOFF`` (a trunk's typo must not stop
        the dialer for a day); a longer pause already running stands."""
        with self._lock:
            until = time.monotonic() + min(seconds, LONGEST_BACKOFF)
            if until > self.until:
                self.until, self.reason = until, reason

    def left(self) -> float:
        """Seconds of the pause still to run (0 when there is none)."""
        with self._lock:
            return max(0.0, self.until - time.monotonic())


class Lane:
    def __init__(
        self,
        config: SipDialerConfig,
        index: int,
        root: Path,
        *,
        clock: Clock,
        report: Callable[[Result], None],
        held: Gauge,
        relay: Relay,
        backoff: BackOff,
        hands: Hands,
    ) -> None:
        self.config = config
        self._hands = hands
        self.index = index
        self.process = BaresipProcess(config, index, root)
        self._clock = clock
        self._report = report
        self._held = held
        self._relay = relay
        self._backoff = backoff
        self._cond = threading.Condition()
        self._calls: dict[str, Call] = {}  # by dial URI: every call holding or awaiting a line
        self._dials: deque[Call] = deque()
        self._follow: deque[tuple[Call, str]] = deque()
        self._deadlines: list[tuple[float, int, Call]] = []
        self._seq = itertools.count()
        self._ctrl: Ctrl | None = None
        self._up = False
        self._stopping = False
        self._ua_of_file: dict[str, str] = {}
        self.taps = TapDir(self.process.snd)
        self._listening: dict[str, tuple[Call, AmdSession | None]] = {}  # by dial URI
        self._current_ua: str | None = None
        self._live = 0  # dialled and not yet closed
        self._answered = 0
        self.peak_live = 0
        self.peak_answered = 0
        self.lost = 0  # calls dropped with their process
        self._thread = threading.Thread(target=self._run, name=f"sip-lane-{index}", daemon=True)

    # -- what the dialer asks ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    @property
    def up(self) -> bool:
        with self._cond:
            return self._up

    def free(self) -> int:
        with self._cond:
            return self.config.calls_per_process - len(self._calls) if self._up else 0

    def submit(self, call: Call) -> None:
        with self._cond:
            if not self._up:
                self._result(call, Outcome.NETWORK_ERROR, "not dialled: dialer process down")
                return
            self._calls[call.uri] = call
            self._dials.append(call)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._ctrl is not None:
            self._ctrl.close()
        self._thread.join(10)
        self.process.stop()

    # -- the lane's thread -------------------------------------------------------------------
    def _run(self) -> None:
        """Start, drive, and start again until stopped; the process never outlives this."""
        pause = RESTART_PAUSE[0]
        try:
            while not self._stopping:
                try:
                    self._start_process()
                except CtrlClosed as exc:
                    log.warning("baresip %d did not start: %s", self.index, exc)
                    self._down()
                    with self._cond:
                        self._cond.wait_for(lambda: self._stopping, timeout=pause)
                    pause = min(pause * 2, RESTART_PAUSE[1])
                    continue
                pause = RESTART_PAUSE[0]
                try:
                    self._drive()
                except Exception:
                    log.exception("baresip %d: lane failed; restarting its process", self.index)
                self._down()
        finally:
            self.process.stop()

    def _start_process(self) -> None:
        self.taps.reset()
        self.process.start()
        self._ctrl = Ctrl.connect(
            self.config.listen_address,
            self.process.ctrl_port,
            self._on_event,
            within=START_WITHIN,
            alive=lambda: self.process.alive() and not self._stopping,
        )
        self._ctrl.command("uafind", self._default_aor())  # answers once the UA is ready
        self._current_ua = self._default_aor()
        with self._cond:
            self._up = True
        log.info("baresip %d up (pid %s)", self.index, self.process.pid)

    def _drive(self) -> None:
        ctrl = self._ctrl
        assert ctrl is not None
        while True:
            with self._cond:
                if self._stopping:
                    return
                job = self._next_job()
                listening = list(self._listening.values())
                if job is None:
                    self._cond.wait(AMD_POLL if listening else 0.05)
            if ctrl.closed.is_set() or not self.process.alive():
                return
            if listening:
                self._listen(listening)
            if job is None:
                continue
            try:
                job(ctrl)
            except CtrlClosed as exc:
                log.warning("baresip %d lost: %s", self.index, exc)
                return

    def _next_job(self) -> Callable[[Ctrl], None] | None:
        """Due deadlines first, then follow-ups, then one dial (caller holds the lock)."""
        now = time.monotonic()
        while self._deadlines and self._deadlines[0][0] <= now:
            due, _, call = heapq.heappop(self._deadlines)
            if call.deadline == due and self._calls.get(call.uri) is call:
                seen = self._relay.seen(call.attempt_id)
                self._apply(call, on_deadline(call, now=now, config=self.config, seen=seen))
        if self._follow:
            call, command = self._follow.popleft()
            return lambda ctrl: self._follow_up(ctrl, call, command)
        if self._dials:
            call = self._dials.popleft()
            call.dialled = True  # from here on it may have gone out: never a guessed result
            self._live += 1
            self.peak_live = max(self.peak_live, self._live)
            call.deadline = now + self.config.ring_timeout_seconds
            self._watch(call)
            return lambda ctrl: self._dial(ctrl, call)
        return None

    def _down(self) -> None:
        with self._cond:
            self._up = False
            lost = [c for c in self._calls.values() if c.dialled and not c.reported]
            for call in self._calls.values():
                if not call.dialled:
                    self._result(
                        call, Outcome.NETWORK_ERROR, "not dialled: dialer process restarted"
                    )
            if lost:
                log.warning(
                    "baresip %d ended with %d calls in progress; they get no result",
                    self.index,
                    len(lost),
                )
            self.lost += len(lost)
            for call in self._calls.values():
                self._relay.forget(call.attempt_id)
            self._calls.clear()
            self._dials.clear()
            self._follow.clear()
            self._deadlines.clear()
            self._ua_of_file.clear()
            self._listening.clear()
            self._held.add(-self._answered)
            self._live = self._answered = 0
        if self._ctrl is not None:
            self._ctrl.close()
        self.process.stop()

    # -- commands (lane thread, lock not held) -----------------------------------------------
    def _default_aor(self) -> str:
        return f"sip:{self.config.from_user}@{self.config.listen_address}"

    def _dial(self, ctrl: Ctrl, call: Call) -> None:
        aor: str | None = self._default_aor()
        if call.plan.amd is not None:
            pass  # listened to first: silent until the verdict, then "play" what it needs
        elif call.plan.mode is Mode.PLAY:
            aor = self._ua_for(ctrl, call.plan.target)
        elif call.plan.mode is Mode.AGENT:  # the abandon message is its audio from the answer
            aor = self._ua_for(ctrl, call.plan.audio)
        if aor is None or not self._use_ua(ctrl, aor):
            self._failed(call, "not dialled: baresip refused the account to call from")
            return
        call.aor = aor
        response = ctrl.command("dial", call.uri)
        if not response.get("ok"):
            self._failed(call, f"dial refused by baresip: {response.get('data', '')}".strip())

    def _use_ua(self, ctrl: Ctrl, aor: str) -> bool:
        """Make ``aor`` the current user agent: dial, callfind and hangup act on it."""
        if self._current_ua != aor:
            self._current_ua = None
            if not ctrl.command("uafind", aor).get("ok"):
                return False
            self._current_ua = aor
        return True

    def _ua_for(self, ctrl: Ctrl, audio_file: str) -> str | None:
        """The account that plays this file, created on first use."""
        aor = self._ua_of_file.get(audio_file)
        if aor is None:
            user = f"{self.config.from_user}-play{len(self._ua_of_file) + 1}"
            self._current_ua = None
            line = account_line(self.config, user, audio_file)
            if not ctrl.command("uanew", line).get("ok"):
                return None
            aor = self._ua_of_file[audio_file] = f"sip:{user}@{self.config.listen_address}"
        return aor

    def _follow_up(self, ctrl: Ctrl, call: Call, command: str) -> None:
        """``hangup`` and ``transfer`` act on the current call: make it this one first.

        A call no event named yet (no response, or only a 100 Trying) is found by the
        Call-ID the relay saw on its INVITE: baresip's call id is the SIP Call-ID.
        """
        seen = self._relay.seen(call.attempt_id)
        call_id = call.call_id or (seen.call_id if seen is not None else None)
        if call_id is None:
            log.warning("baresip %d: call %s has no Call-ID to %s", self.index, call.uri, command)
            return
        if not self._use_ua(ctrl, call.aor):
            return
        found = ctrl.command("callfind", call_id)
        if "setting current call" not in str(found.get("data", "")):
            return  # already gone; its CALL_CLOSED tells the rest
        if command == "play":
            response = ctrl.command("ausrc", f"aufile,{call.playing}")
            if not response.get("ok"):
                log.warning("baresip %d: could not play %s: %s", self.index, call.playing, response)
                ctrl.command("hangup")
        elif command == "transfer":
            response = ctrl.command("transfer", call.transfer_to or call.plan.target)
            if not response.get("ok"):
                with self._cond:
                    self._apply(
                        call,
                        Step(
                            result=(Outcome.DIALER_ABANDONED, "200 OK; transfer not sent"),
                            command="hangup",
                        ),
                    )
        else:
            ctrl.command("hangup")

    def _failed(self, call: Call, raw: str) -> None:
        with self._cond:
            if self._calls.get(call.uri) is call:
                self._apply(call, Step(result=(Outcome.NETWORK_ERROR, raw), released=True))

    # -- events (reader thread) --------------------------------------------------------------
    def _on_event(self, message: dict[str, Any]) -> None:
        kind = str(message.get("type", ""))
        with self._cond:
            call = self._calls.get(str(message.get("peeruri", "")))
            if call is None or not call.dialled:
                return
            if call.call_id is None and message.get("id"):
                call.call_id = str(message["id"])
            was_answered = call.answered
            if kind == "CALL_ESTABLISHED" and not was_answered:
                # Its tap file is named by the second only: claim it before another call's.
                tap = self.taps.claim(call.attempt_id)
                if call.plan.amd is None:
                    self.taps.release(call.attempt_id)
                else:
                    session = None
                    if tap is not None:
                        session = AmdSession(call.plan.amd, tap=GrowingWav(tap))
                    self._listening[call.uri] = (call, session)
            step = on_event(
                call,
                kind,
                str(message.get("param") or ""),
                now=time.monotonic(),
                config=self.config,
                seen=self._relay.seen(call.attempt_id),
            )
            if call.answered and not was_answered:
                self._answered += 1
                self.peak_answered = max(self.peak_answered, self._answered)
                self._held.add(1)
            self._apply(call, step)

    # -- bookkeeping (lock held) -------------------------------------------------------------
    def _apply(self, call: Call, step: Step) -> None:
        if step.result is not None:
            call.reported = True
            outcome, raw = step.result
            self._report(
                Result(
                    call.attempt_id,
                    outcome,
                    raw,
                    self._clock.now(),
                    answered=step.answered,
                    abandoned=step.abandoned,
                    amd_ms=call.amd_ms,
                    amd_verdict=call.amd_verdict,
                )
            )
        if step.retry_after is not None and step.result is not None:
            self._backoff.start(step.retry_after, step.result[1])
        if step.command == "handover":
            self._hands.submit(lambda: self._hand_over(call))
        elif step.command == "opt_out":
            self._hands.submit(lambda: self._opt_out(call))
        elif step.command == "amd":
            pass  # listened to from the lane's loop (``_listen``)
        elif step.command is not None:
            self._follow.append((call, step.command))
            self._cond.notify()
        if step.released or not call.detecting:
            self._listening.pop(call.uri, None)
        if step.released:
            self._relay.forget(call.attempt_id)
            if call.plan.amd is not None:
                self.taps.release(call.attempt_id)
            if self._calls.pop(call.uri, None) is not None and call.dialled:
                self._live -= 1
                if call.answered:
                    self._answered -= 1
                    self._held.add(-1)
        else:
            self._watch(call)

    def _watch(self, call: Call) -> None:
        if call.deadline is not None and call.deadline != call.watched:
            call.watched = call.deadline
            heapq.heappush(self._deadlines, (call.deadline, next(self._seq), call))

    # -- answering-machine detection (lane thread) ---------------------------------------
    def _listen(self, listening: list[tuple[Call, AmdSession | None]]) -> None:
        """Read what each listened call's tap gained; act on the calls that have a step."""
        for call, session in listening:
            verdict = self._verdict(call, session)
            if verdict is None:
                continue
            with self._cond:
                if self._calls.get(call.uri) is call:
                    self._apply(
                        call, on_verdict(call, verdict, now=time.monotonic(), config=self.config)
                    )

    def _verdict(self, call: Call, session: AmdSession | None) -> Verdict | None:
        settings = call.plan.amd
        assert settings is not None
        if session is None or self.taps.is_collided(call.attempt_id):
            # No audio of its own (two calls' taps collided): not sure, as the campaign says.
            decision = Decision(AmdVerdict.NOTSURE, Cause.NOTAP, 0, 0, 0)
            action = action_for(settings, decision.verdict)
            end = "no audio to wait on (NOTAP)"
            return Verdict(action, decision.verdict.value, decision.cause.value, 0, end)
        try:
            step = session.poll()
        except (OSError, WavFormatError) as exc:
            log.warning("baresip %d: tap of call %s unreadable: %s", self.index, call.uri, exc)
            self.taps.collided.add(call.attempt_id)
            return None
        if step is None:
            return None
        decision = step.decision
        end = ""
        if step.greeting_end is not None:
            end = f"{step.greeting_end.cause.value} at {step.greeting_end.end_ms} ms"
        return Verdict(
            step.action, decision.verdict.value, decision.cause.value, decision.decision_ms, end
        )

    # -- hand-over (the hands' pool) -----------------------------------------------------
    def _hand_over(self, call: Call) -> None:
        """An answered progressive call: the agent (checked and claimed) or the message."""
        agent = self._hands.decide(call.attempt_id, call.plan.target)
        with self._cond:
            if self._calls.get(call.uri) is not call or call.reported:
                # The customer hung up meanwhile; an agent that took it is left talking
                # until the desktop ends the call.
                return
            self._apply(call, on_decision(call, agent, now=time.monotonic(), config=self.config))

    def _opt_out(self, call: Call) -> None:
        self._hands.opt_out(call.attempt_id)
        with self._cond:
            if self._calls.get(call.uri) is call:
                call.hung_up = True
                self._apply(call, Step(command="hangup"))

    def _result(self, call: Call, outcome: Outcome, raw: str) -> None:
        call.reported = True
        self._report(Result(call.attempt_id, outcome, raw, self._clock.now()))
