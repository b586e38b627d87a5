"""One call's life as the dialer sees it, as pure decisions: baresip's events and our own
deadlines in, a result to report and a command to send out.

A result is reported once, the moment the outcome is known; the call may hold its line a
little longer (a CANCEL on its way, a message still playing) until baresip says it closed.
"""

from __future__ import annotations

import os
import re
import wave
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from outbound.amd.schemas import AmdSettings, MachineTreatment
from outbound.amd.session import Action, message_to_leave
from outbound.campaigns.types import CampaignType
from outbound.channels.base import Dial
from outbound.channels.sip.config import SipDialerConfig
from outbound.channels.sip.outcomes import outcome_for_closed, outcome_for_status, status_code
from outbound.channels.sip.relay import NOT_FOLLOWED, Seen, usable
from outbound.strategies.outcomes import Outcome

_SIP_URI = re.compile(r"^sips?:[^\s<>;,\"]+(?:;[^\s<>,\"]+)?$")
_EXTENSION = re.compile(r"^[A-Za-z0-9._~+*#-]{1,64}$")
# baresip reads an account line: these characters would end the audio_source parameter.
_UNSAFE_PATH = re.compile(r"[\s;,<>\"]")
LINGER = 64.0
TRANSFERRED = "Call transfered"  # baresip's spelling
END_OF_MESSAGE = "end of file"
# libre ends a session the callee hung up (its BYE) with ECONNRESET.
CALLEE_BYE = "Connection reset by peer"


class Mode(StrEnum):
    TRANSFER = "transfer"  # Agent and IVR campaigns: REFER the answered call to the target
    PLAY = "play"  # Automated campaigns: play the audio file, then hang up
    # Progressive Agent campaigns: the answered customer goes to the reserved agent (checked
    # and claimed first), or hears the abandon message (``audio``) when none is free.
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Plan:
    mode: Mode
    target: str  # the SIP URI to transfer to, or the audio file to play
    audio: str = ""  # AGENT: the abandon message (as played: led in by silence)
    digit: str = ""  # AGENT: the opt-out key during the abandon message
    # Answering-machine detection on the answer (None: off) and the file a machine is left
    # (leave_message; absolute, checked)
    amd: AmdSettings | None = None
    machine_message: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answering-machine detection's step for a call (from amd.session), as the call
    needs it."""

    action: Action
    verdict: str  # HUMAN, MACHINE, NOTSURE
    cause: str
    decision_ms: int
    greeting_end: str = ""  # LEAVE_MESSAGE: how the greeting ended and when ("BEEP at 5.2 s")


def amd_wait(settings: AmdSettings) -> float:
    """Seconds an answered call may wait for its detection's step: the analysis time, the
    wait for a greeting's end (30 s of audio at most) and some slack."""
    return settings.total_analysis_time / 1000 + 35.0


def transfer_uri(target: str, config: SipDialerConfig) -> str | None:
    """A SIP URI as it is, an extension at the trunk; None for anything else."""
    if _SIP_URI.match(target):
        return target
    if _EXTENSION.match(target):
        return f"sip:{target}@{config.target_host()}"
    return None


def plan_call(
    dial: Dial, config: SipDialerConfig, *, abandon_audio: Path | str | None = None
) -> Plan | str:
    """What to do once the call is answered, or why the call cannot be made at all.
    ``abandon_audio``: for a call dialled for a reserved agent, the message to play should
    no agent be free (the dialer's copy), or (a str) why there is none: then no call."""
    plan = _plan(dial, config, abandon_audio)
    if isinstance(plan, str) or dial.amd is None or not dial.amd.enabled:
        return plan
    settings = dial.amd
    message = ""
    if settings.machine_treatment is MachineTreatment.LEAVE_MESSAGE:
        automated = plan.target if plan.mode is Mode.PLAY else ""
        message = message_to_leave(settings, automated_message=automated)
        if not message:
            return "answering-machine detection leaves a message, but none is set (machine_message)"
        message = os.path.join(config.audio_dir or "", message)
        problem = _checked_audio(message)
        if problem is not None:
            return f"machine_message: {problem}"
        message = os.path.abspath(message)
    return Plan(plan.mode, plan.target, plan.audio, plan.digit, settings, message)


def _plan(dial: Dial, config: SipDialerConfig, abandon_audio: Path | str | None) -> Plan | str:
    if dial.agent:
        agent = transfer_uri(dial.agent.strip(), config)
        if agent is None:
            return f"agent address {dial.agent!r} is neither a SIP URI nor an extension"
        if not isinstance(abandon_audio, Path):
            return f"no abandon message to play: {abandon_audio or 'none given'}"
        return Plan(Mode.AGENT, agent, str(abandon_audio), dial.opt_out_digit)
    target = dial.target.strip()
    if dial.campaign_type in (CampaignType.AGENT, CampaignType.IVR):
        if not target:
            return "the campaign has no transfer target (dialer_target)"
        if _SIP_URI.match(target):
            return Plan(Mode.TRANSFER, target)
        if _EXTENSION.match(target):
            return Plan(Mode.TRANSFER, f"sip:{target}@{config.target_host()}")
        return f"transfer target {target!r} is neither a SIP URI nor an extension"
    if dial.campaign_type is CampaignType.AUTOMATED:
        if not target:
            return "the campaign has no audio file to play (dialer_target)"
        path = os.path.join(config.audio_dir or "", target)
        problem = _checked_audio(path)
        return Plan(Mode.PLAY, os.path.abspath(path)) if problem is None else problem
    return f"a {dial.campaign_type.value} campaign does not make calls"


def _checked_audio(path: str) -> str | None:
    """``audio_problem`` once per version of the file, not once per call."""
    try:
        stat = os.stat(path)
    except OSError:
        return audio_problem(path)
    return _audio_problem_of(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=256)
def _audio_problem_of(path: str, mtime_ns: int, size: int) -> str | None:
    return audio_problem(path)


def audio_problem(path: str) -> str | None:
    """Why baresip could not play this file (it takes 8 kHz mono 16-bit WAV only)."""
    if not os.path.isabs(path):
        return f"audio file {path!r} must be an absolute path (or set the dialer's audio_dir)"
    if _UNSAFE_PATH.search(path):
        return f"audio file {path!r} must not contain spaces, ';', ',', '<', '>' or quotes"
    try:
        with wave.open(path, "rb") as audio:
            shape = (audio.getframerate(), audio.getnchannels(), audio.getsampwidth())
    except FileNotFoundError:
        return f"audio file {path!r} does not exist"
    except (OSError, EOFError, wave.Error) as exc:
        return f"audio file {path!r} is not a readable WAV file: {exc}"
    if shape != (8000, 1, 2):
        return f"audio file {path!r} must be 8000 Hz mono 16-bit WAV, not {shape}"
    return None


@dataclass
class Call:
    attempt_id: int
    uri: str
    plan: Plan
    deadline: float | None = None  # monotonic seconds: ring, transfer or length limit
    call_id: str | None = None  # baresip's id, from its first event that has one
    aor: str = ""  # the baresip account (user agent) it was dialled from
    dialled: bool = False  # the dial command went out: from now on, never report a guess
    rang: bool = False
    answered: bool = False
    reported: bool = False
    watched: float | None = None  # the deadline last put on the lane's timer heap
    transfer_to: str | None = None  # AGENT: the agent that took the customer
    abandoning: bool = False  # AGENT: no agent was free, the abandon message plays
    opted_out: bool = False  # the opt-out key was pressed during the abandon message
    hung_up: bool = False  # we sent the hang-up of an abandoned call
    detecting: bool = False  # answered; answering-machine detection listens
    amd_ms: int | None = None  # its verdict came after this many ms of the call's audio
    amd_verdict: str | None = None
    leaving: str = ""  # a message is left on a machine: how its greeting ended
    playing: str = ""  # the audio file the "play" command switches the call to


@dataclass(frozen=True, slots=True)
class Step:
    result: tuple[Outcome, str] | None = None
    # "transfer", "hangup" or "play" (``Call.playing``; sent to baresip), "handover" or
    # "opt_out" (asked of the desk), "amd" (start listening: the lane's tap)
    command: str | None = None
    released: bool = False  # baresip no longer holds the call: its line is free
    retry_after: int | None = None  # the trunk asked us to wait this long (a 503)
    answered: bool = False  # the result is the answer's: the call goes on
    abandoned: bool = False  # the answered customer is abandoned (no agent free)


NOTHING = Step()


def _report(
    call: Call,
    outcome: Outcome,
    raw: str,
    *,
    command: str | None = None,
    released: bool = False,
    answered: bool = False,
    abandoned: bool = False,
) -> Step:
    """The result, unless one was reported already (then only the command and the line)."""
    first = not call.reported
    call.reported = True
    if not first:
        return Step(command=command, released=released)
    return Step((outcome, raw), command, released, None, answered, abandoned)


def on_decision(call: Call, agent: str | None, *, now: float, config: SipDialerConfig) -> Step:
    """The desk's answer for an answered progressive call: REFER the customer to the agent
    that took it, or (None) play the abandon message, already under way, to its end."""
    if agent is not None:
        call.transfer_to = agent
        return Step(command="transfer")
    call.abandoning = True
    call.deadline = now + config.max_call_seconds
    raw = "200 OK; no agent free: abandon message"
    # A call that was listened to was dialled from the silent account: start the message.
    command = None
    if call.plan.amd is not None:
        call.playing, command = call.plan.audio, "play"
    return _report(
        call, Outcome.DIALER_ABANDONED, raw, command=command, answered=True, abandoned=True
    )


def on_verdict(call: Call, verdict: Verdict, *, now: float, config: SipDialerConfig) -> Step:
    """Answering-machine detection's step: go on as with a person (transfer, hand over, play
    the message), hang up on a machine, or leave the machine the message now."""
    if not call.detecting or call.reported:
        return NOTHING
    call.detecting = False
    call.amd_ms, call.amd_verdict = verdict.decision_ms, verdict.verdict
    heard = f"{verdict.verdict} {verdict.cause} after {verdict.decision_ms} ms"
    if verdict.action is Action.CONNECT:
        return _connect(call, now=now, config=config)
    if verdict.action is Action.HANG_UP:
        call.deadline = now + LINGER
        raw = f"200 OK; answering machine ({heard}): hung up"
        return _report(call, Outcome.ANSWERING_MACHINE, raw, command="hangup")
    call.leaving = f"{heard}; greeting over: {verdict.greeting_end}"
    call.playing = call.plan.machine_message
    call.deadline = now + config.max_call_seconds
    return Step(command="play")


def _connect(call: Call, *, now: float, config: SipDialerConfig) -> Step:
    """An answered call goes where its campaign sends people."""
    if call.plan.mode is Mode.TRANSFER:
        call.deadline = now + config.transfer_timeout_seconds
        return Step(command="transfer")
    if call.plan.mode is Mode.AGENT:
        call.deadline = now + config.transfer_timeout_seconds
        return Step(command="handover")
    call.deadline = now + config.max_call_seconds
    if call.plan.amd is not None:  # dialled from the silent account: the message starts now
        call.playing = call.plan.target
        return Step(command="play")
    return NOTHING


def on_event(
    call: Call,
    kind: str,
    param: str,
    *,
    now: float,
    config: SipDialerConfig,
    seen: Seen | None = None,
) -> Step:
    """One baresip event about this call; ``seen``: what the relay saw of its INVITE."""
    if kind in ("CALL_RINGING", "CALL_PROGRESS"):
        call.rang = True
        return NOTHING
    if kind == "CALL_ESTABLISHED":
        if call.answered or call.reported:
            return NOTHING
        call.answered = True
        if seen is not None and seen.codecs is not None and not usable(seen.codecs):
            # baresip keeps such a call up without media: dead air. Hang up at once.
            call.deadline = now + LINGER
            offered = ", ".join(seen.codecs) or "no audio"
            return _report(
                call,
                Outcome.NETWORK_ERROR,
                f"200 OK; no common codec (the answer offers {offered})",
                command="hangup",
            )
        if call.plan.amd is not None:
            call.detecting = True
            call.deadline = now + amd_wait(call.plan.amd)
            return Step(command="amd")
        return _connect(call, now=now, config=config)
    if kind == "TRANSFER_FAILED":
        # baresip (its menu) hangs the call up itself and sends no CALL_CLOSED for it.
        return _report(
            call,
            Outcome.DIALER_ABANDONED,
            f"200 OK; transfer failed: {param}",
            released=True,
            abandoned=call.plan.mode is Mode.AGENT,
        )
    if kind == "CALL_DTMF_START":
        if call.abandoning and not call.opted_out and call.plan.digit and param == call.plan.digit:
            call.opted_out = True
            return Step(command="opt_out")
        return NOTHING
    if kind == "CALL_CLOSED":
        return _closed(call, param, seen)
    return NOTHING


def _closed(call: Call, param: str, seen: Seen | None) -> Step:
    if not call.answered:
        return _unanswered(call, param, seen)
    if call.abandoning:  # the answer's result is in: this one ends the call
        if call.opted_out:
            how = f"opted out (key {call.plan.digit})"
        elif param == END_OF_MESSAGE:
            how = "abandon message played"
        elif param == CALLEE_BYE:
            how = "the callee hung up (BYE) during the abandon message"
        else:
            how = f"hung up during the abandon message: {param}"
        return Step(result=(Outcome.DIALER_ABANDONED, f"200 OK; {how}"), released=True)
    if call.leaving:
        if param == END_OF_MESSAGE:
            raw = f"200 OK; message left on the answering machine ({call.leaving})"
        elif param == CALLEE_BYE:
            raw = "200 OK; the answering machine hung up (BYE) during the message"
        else:
            raw = f"200 OK; hung up during the message left: {param}"
        return _report(call, Outcome.ANSWERING_MACHINE, raw[:255], released=True)
    if call.detecting:
        how = "the callee hung up (BYE)" if param == CALLEE_BYE else f"hung up: {param}"
        raw = f"200 OK; {how} during answering-machine detection"
        return _report(call, Outcome.CUSTOMER_ABANDONED, raw, released=True)
    if call.plan.mode is Mode.AGENT and param == TRANSFERRED:
        raw = f"200 OK; transferred to agent {call.transfer_to}"
        return _report(call, Outcome.CONNECTED, raw, released=True)
    if call.plan.mode in (Mode.TRANSFER, Mode.AGENT):
        if param == TRANSFERRED:
            return _report(call, Outcome.CONNECTED, "200 OK; transferred", released=True)
        when = "before the transfer"
    elif param == END_OF_MESSAGE:
        return _report(call, Outcome.CONNECTED, "200 OK; message played", released=True)
    else:
        when = "during the message"
    if param == CALLEE_BYE:
        raw = f"200 OK; the callee hung up (BYE) {when}"
    else:
        raw = f"200 OK; hung up {when}: {param}"
    return _report(call, Outcome.CUSTOMER_ABANDONED, raw, released=True)


def _unanswered(call: Call, param: str, seen: Seen | None) -> Step:
    """A call that ended before an answer: its final response (as the far end sent it)."""
    if param == NOT_FOLLOWED and seen is not None and seen.final is not None:
        code = status_code(seen.final)
        assert code is not None
        raw = f"{seen.final}; redirect to {seen.redirect or '(no Contact)'} not followed"
        return _report(call, outcome_for_status(code), raw, released=True)
    code = status_code(param)
    raw = param if code is not None else f"no final response: {param or 'closed'}"
    outcome = outcome_for_closed(param, rang=call.rang)
    if code == 503 and seen is not None and seen.retry_after is not None:
        step = _report(call, outcome, f"{raw}; Retry-After {seen.retry_after} s", released=True)
        return Step(step.result, step.command, step.released, seen.retry_after)
    return _report(call, outcome, raw, released=True)


def on_deadline(
    call: Call, *, now: float, config: SipDialerConfig, seen: Seen | None = None
) -> Step:
    """The call's deadline passed: give up on it (we hang up; the result is ours).

    A call we hung up must close within ``LINGER`` seconds (a SIP transaction's longest
    life); if baresip never says so, its line is freed anyway.
    """
    if call.abandoning and not call.hung_up:  # the message outlasted max_call_seconds
        call.hung_up = True
        call.deadline = now + LINGER
        return Step(command="hangup")
    if call.reported:
        call.deadline = None
        return Step(released=True)
    call.deadline = now + LINGER
    if not call.answered:
        seconds = f"{config.ring_timeout_seconds:g}"
        if call.rang:
            return _report(
                call, Outcome.NO_ANSWER, f"ring timeout {seconds} s (CANCEL)", command="hangup"
            )
        if seen is not None and seen.provisional is not None:
            # The far end has the call (100 Trying) but never rang: a ring timeout, not silence.
            raw = f"{seen.provisional} Trying, no ringing within {seconds} s (CANCEL)"
            return _report(call, Outcome.NO_ANSWER, raw, command="hangup")
        return _report(
            call, Outcome.NETWORK_ERROR, f"no response within {seconds} s", command="hangup"
        )
    if call.detecting:
        wait = f"{amd_wait(call.plan.amd):g}" if call.plan.amd is not None else "?"
        raw = f"200 OK; no verdict from answering-machine detection within {wait} s"
        return _report(call, Outcome.NETWORK_ERROR, raw, command="hangup")
    if call.leaving:
        limit = f"{config.max_call_seconds:g}"
        raw = f"200 OK; the message left did not finish within {limit} s"
        return _report(call, Outcome.ANSWERING_MACHINE, raw, command="hangup")
    if call.plan.mode in (Mode.TRANSFER, Mode.AGENT):
        return _report(
            call,
            Outcome.DIALER_ABANDONED,
            "200 OK; no answer to the transfer",
            command="hangup",
            abandoned=call.plan.mode is Mode.AGENT,
        )
    # An Automated call is connected only once its message played to the end.
    limit = f"{config.max_call_seconds:g}"
    raw = f"200 OK; the message did not finish within {limit} s"
    return _report(call, Outcome.NETWORK_ERROR, raw, command="hangup")
