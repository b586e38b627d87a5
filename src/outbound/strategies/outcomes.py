"""Canonical outcomes, channels and the default per-outcome rules (DESIGN.md table)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"


class Outcome(StrEnum):
    CONNECTED = "connected"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ANSWERING_MACHINE = "answering_machine"
    CUSTOMER_ABANDONED = "customer_abandoned"
    DIALER_ABANDONED = "dialer_abandoned"
    INVALID_NUMBER = "invalid_number"
    NETWORK_ERROR = "network_error"
    DECLINED = "declined"
    FAX = "fax"
    WRONG_PERSON = "wrong_person"
    CALLBACK_REQUESTED = "callback_requested"
    SMS_ACCEPTED = "sms_accepted"
    SMS_DELIVERED = "sms_delivered"
    SMS_FAILED = "sms_failed"
    SMS_REPLY = "sms_reply"
    SMS_STOP = "sms_stop"
    SMS_EXPIRED = "sms_expired"


# What people read for an outcome: on every page (contacts, a contact's attempts, the
# report's charts, the strategy editor). Machines (the API, webhooks) get the keys.
LABELS: dict[Outcome, str] = {
    Outcome.CONNECTED: "Connected",
    Outcome.BUSY: "Busy",
    Outcome.NO_ANSWER: "No answer",
    Outcome.ANSWERING_MACHINE: "Answering machine",
    Outcome.CUSTOMER_ABANDONED: "Customer abandoned",
    Outcome.DIALER_ABANDONED: "Dialer abandoned (no agent)",
    Outcome.INVALID_NUMBER: "Invalid number",
    Outcome.NETWORK_ERROR: "Network error",
    Outcome.DECLINED: "Declined",
    Outcome.FAX: "Fax",
    Outcome.WRONG_PERSON: "Wrong person",
    Outcome.CALLBACK_REQUESTED: "Callback requested",
    Outcome.SMS_ACCEPTED: "SMS accepted",
    Outcome.SMS_DELIVERED: "SMS delivered",
    Outcome.SMS_FAILED: "SMS failed",
    Outcome.SMS_REPLY: "SMS reply",
    Outcome.SMS_STOP: "SMS STOP (opt-out)",
    Outcome.SMS_EXPIRED: "SMS expired (no reply)",
}
# Keys the reports use for attempts without an outcome.
OTHER_LABELS = {"in_progress": "In progress", "no_result": "No result"}


def label(key: str | Outcome | None) -> str:
    """The label of an outcome key; an unknown key as it is (nothing hidden), none as ""."""
    if key is None:
        return ""
    try:
        return LABELS[Outcome(key)]
    except ValueError:
        return OTHER_LABELS.get(key, key)


class RuleAction(StrEnum):
    NEXT = "next"  # the attempt that follows in the strategy's order, after the delay
    RETRY = "retry"  # this same attempt again, after the delay
    GOTO = "goto"  # a named attempt, after the delay
    CLOSE = "close"


class SmsMode(StrEnum):
    AWAIT_REPLY = "await_reply"
    SEND_AND_CLOSE = "send_and_close"


# Outcomes whose next step an administrator chooses, per channel. The others are fixed:
# a reply closes the contact as "SMS responded", a STOP reply puts it on the DNC list,
# and accepted/delivered receipts only record progress.
VOICE_RULE_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.CONNECTED,
    Outcome.BUSY,
    Outcome.NO_ANSWER,
    Outcome.ANSWERING_MACHINE,
    Outcome.CUSTOMER_ABANDONED,
    Outcome.DIALER_ABANDONED,
    Outcome.INVALID_NUMBER,
    Outcome.NETWORK_ERROR,
    Outcome.DECLINED,
    Outcome.FAX,
    Outcome.WRONG_PERSON,
    Outcome.CALLBACK_REQUESTED,
)
SMS_RULE_OUTCOMES: tuple[Outcome, ...] = (Outcome.SMS_EXPIRED, Outcome.SMS_FAILED)

# Outcomes that can only close the contact: no rule may send them elsewhere.
CLOSE_ONLY_OUTCOMES = frozenset({Outcome.CONNECTED})


@dataclass(frozen=True, slots=True)
class Rule:
    action: RuleAction
    delay_minutes: int = 0
    target_position: int | None = None  # only for GOTO


# Cisco's defaults: 60 minutes for busy, no answer, answering machine, dialer abandoned and
# wrong person; 30 for customer abandoned.
DEFAULT_RULES: dict[Outcome, Rule] = {
    Outcome.CONNECTED: Rule(RuleAction.CLOSE),
    Outcome.BUSY: Rule(RuleAction.NEXT, 60),
    Outcome.NO_ANSWER: Rule(RuleAction.NEXT, 60),
    Outcome.ANSWERING_MACHINE: Rule(RuleAction.NEXT, 60),
    Outcome.CUSTOMER_ABANDONED: Rule(RuleAction.NEXT, 30),
    Outcome.DIALER_ABANDONED: Rule(RuleAction.NEXT, 60),
    Outcome.INVALID_NUMBER: Rule(RuleAction.CLOSE),
    Outcome.NETWORK_ERROR: Rule(RuleAction.RETRY, 15),
    Outcome.DECLINED: Rule(RuleAction.CLOSE),
    Outcome.FAX: Rule(RuleAction.CLOSE),
    Outcome.WRONG_PERSON: Rule(RuleAction.NEXT, 60),
    Outcome.CALLBACK_REQUESTED: Rule(RuleAction.RETRY, 0),
    Outcome.SMS_EXPIRED: Rule(RuleAction.NEXT, 0),
    Outcome.SMS_FAILED: Rule(RuleAction.CLOSE),
}


def rule_outcomes(channel: Channel) -> tuple[Outcome, ...]:
    return VOICE_RULE_OUTCOMES if channel is Channel.VOICE else SMS_RULE_OUTCOMES
