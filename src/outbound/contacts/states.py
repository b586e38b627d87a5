"""Contact life-cycle states (REQUIREMENTS §5)."""

from __future__ import annotations

from enum import StrEnum


class ContactState(StrEnum):
    PENDING = "pending"
    SENT_TO_DIALER = "sent_to_dialer"
    CONNECTED = "connected"
    NOT_CONNECTED = "not_connected"
    RETRIES_COMPLETED = "retries_completed"
    DNC_LISTED = "dnc_listed"
    SMS_SENT = "sms_sent"
    SMS_SENT_CLOSED = "sms_sent_closed"
    SMS_RESPONDED = "sms_responded"
    DANGLING = "dangling"


LABELS: dict[ContactState, str] = {
    ContactState.PENDING: "Pending",
    ContactState.SENT_TO_DIALER: "Sent to Dialer",
    ContactState.CONNECTED: "Connected",
    ContactState.NOT_CONNECTED: "Not Connected",
    ContactState.RETRIES_COMPLETED: "Retries Completed",
    ContactState.DNC_LISTED: "DNC Listed",
    ContactState.SMS_SENT: "SMS sent",
    ContactState.SMS_SENT_CLOSED: "SMS sent and Closed",
    ContactState.SMS_RESPONDED: "SMS responded",
    ContactState.DANGLING: "Dangling",
}

OPEN_STATES = frozenset({ContactState.PENDING, ContactState.SENT_TO_DIALER, ContactState.SMS_SENT})
CLOSED_STATES = frozenset(set(ContactState) - OPEN_STATES)


def is_open(state: ContactState) -> bool:
    return state in OPEN_STATES
