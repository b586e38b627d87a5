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


class DialingMode(StrEnum):
    """How an Agent campaign paces its calls (IVR, Automated and SMS ones are always fixed)."""

    FIXED = "fixed"  # max concurrent calls and calls per second only
    PREVIEW = "preview"  # the agent sees the contact first (dials only while agents are ready)
    PROGRESSIVE = "progressive"  # lines_per_agent calls per ready agent
    PREDICTIVE = "predictive"  # reserved: refused until the pacing controller exists


class AfterWrapUp(StrEnum):
    READY = "ready"
    NOT_READY = "not_ready"


class CallbackAfterGrace(StrEnum):
    """Where a personal callback goes when its agent was not ready within the grace time."""

    ANY_AGENT = "any_agent"
    WAIT = "wait"  # only ever to the agent who booked it


def paced_by_agents(kind: CampaignType, mode: DialingMode) -> bool:
    """Dials only for ready agents: an Agent campaign in preview or progressive mode."""
    return kind is CampaignType.AGENT and mode in (DialingMode.PREVIEW, DialingMode.PROGRESSIVE)
