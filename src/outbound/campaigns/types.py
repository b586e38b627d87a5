"""Campaign kinds and contact ordering."""

from __future__ import annotations

from enum import StrEnum


class CampaignType(StrEnum):
    AGENT = "agent"
    IVR = "ivr"
    AUTOMATED = "automated"
    SMS = "sms"  # type "none" in the original product: no voice at all


class ContactOrder(StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"  # newest upload first
