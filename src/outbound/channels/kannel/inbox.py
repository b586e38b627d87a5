"""The callbacks' rows in ``sms_inbox``: written by the API, taken by the gateway's poll."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outbound.channels.base import InboundSms, Result
from outbound.channels.receipts import parse_receipt
from outbound.models import SmsInbox
from outbound.strategies.outcomes import Outcome

# Kannel's DLR types (dlr-mask bits): final ones only; 4 (buffered) and 8 (SMSC accepted)
# change nothing, the sendsms answer already said the message was taken.
DLR_DELIVERED, DLR_FAILED, DLR_REJECTED = 1, 2, 16
DLR_MASK = DLR_DELIVERED | DLR_FAILED | 8 | DLR_REJECTED
TAKE_AT_ONCE = 1000


def receipt_result(dlr_type: int, reply: str) -> tuple[Outcome, str] | None:
    """The outcome and raw text of a delivery report; None for an intermediate one."""
    receipt = parse_receipt(reply)
    if dlr_type == DLR_DELIVERED:
        return Outcome.SMS_DELIVERED, receipt.raw if receipt else "DLR 1 delivered"
    if dlr_type == DLR_FAILED:
        return Outcome.SMS_FAILED, receipt.raw if receipt else f"DLR 2 failed {reply}".strip()
    if dlr_type == DLR_REJECTED:
        return Outcome.SMS_FAILED, f"DLR 16 rejected by the SMSC {reply}".strip()
    return None


def record_receipt(
    session: Session, attempt_id: int, dlr_type: int, reply: str, *, now: datetime
) -> bool:
    found = receipt_result(dlr_type, reply)
    if found is None:
        return False
    outcome, raw = found
    session.add(
        SmsInbox(attempt_id=attempt_id, outcome=outcome.value, raw=raw[:255], received_at=now)
    )
    return True


def record_inbound(session: Session, number: str, text: str, *, now: datetime) -> None:
    session.add(SmsInbox(number=number, text=text, raw="", received_at=now))


def take(session: Session) -> tuple[list[Result], list[InboundSms]]:
    """The oldest rows, removed in the caller's transaction (rows another worker is taking
    right now are skipped)."""
    query = (
        select(SmsInbox).order_by(SmsInbox.id).limit(TAKE_AT_ONCE).with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    if not rows:
        return [], []
    session.execute(delete(SmsInbox).where(SmsInbox.id.in_([r.id for r in rows])))
    results = [
        Result(r.attempt_id, Outcome(r.outcome), r.raw, r.received_at)
        for r in rows
        if r.attempt_id is not None and r.outcome is not None
    ]
    inbound = [
        InboundSms(r.number, r.text or "", r.received_at)
        for r in rows
        if r.number is not None and r.attempt_id is None
    ]
    return results, inbound
