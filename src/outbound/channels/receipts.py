"""What SMS gateways share: reading delivery receipts and the sender of an inbound message.

A receipt's text follows the SMPP 3.4 appendix B convention that SMSCs use:
``id:IIII sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outbound.strategies.outcomes import Outcome

_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)
# Final states (SMPP 3.4 §5.2.28 message_state and the receipt's stat field).
FINAL_STATES: dict[str, Outcome] = {
    "DELIVRD": Outcome.SMS_DELIVERED,
    "UNDELIV": Outcome.SMS_FAILED,
    "REJECTD": Outcome.SMS_FAILED,
    "EXPIRED": Outcome.SMS_FAILED,
    "DELETED": Outcome.SMS_FAILED,
    "UNKNOWN": Outcome.SMS_FAILED,
}
# message_state TLV values -> the receipt's stat word.
MESSAGE_STATES = {
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    7: "UNKNOWN",
    8: "REJECTD",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    message_id: str
    stat: str
    err: str

    @property
    def outcome(self) -> Outcome | None:
        """Delivered or failed; None for an intermediate state (ENROUTE, ACCEPTD)."""
        return FINAL_STATES.get(self.stat)

    @property
    def raw(self) -> str:
        return f"DLR {self.stat} err:{self.err}" if self.err else f"DLR {self.stat}"


def parse_receipt(
    text: str, *, message_id: str | None = None, message_state: int | None = None
) -> Receipt | None:
    """The receipt in a deliver_sm; the TLVs (``receipted_message_id``, ``message_state``),
    when the SMSC sends them, win over the text."""
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(text):
        fields.setdefault(name.lower(), value)
    mid = (message_id or fields.get("id") or "").strip()
    stat = MESSAGE_STATES.get(message_state or 0) or fields.get("stat", "").upper()
    if not mid or not stat:
        return None
    return Receipt(mid, stat, fields.get("err", ""))


def e164(address: str) -> str | None:
    """A sender address as E.164 (``+`` and 8 to 15 digits), or None for a short code or an
    alphanumeric sender that no contact can have."""
    digits = address.strip().removeprefix("+").removeprefix("00")
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return None
    return f"+{digits}"
