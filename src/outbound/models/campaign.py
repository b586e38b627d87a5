"""Campaigns."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.campaigns.dispositions import default_list as default_dispositions
from outbound.campaigns.types import (
    AfterWrapUp,
    CallbackAfterGrace,
    CampaignType,
    ContactOrder,
    DialingMode,
)
from outbound.db.base import Base, UTCDateTime
from outbound.models._columns import Timestamps, enum_column


class Campaign(Timestamps, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    crm_campaign_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    type: Mapped[CampaignType] = mapped_column(enum_column(CampaignType, 12))
    running: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    strategy_id: Mapped[int] = mapped_column(
        ForeignKey("strategies.id", ondelete="RESTRICT"), index=True
    )
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="RESTRICT"), index=True
    )
    dialer_target: Mapped[str] = mapped_column(String(255), default="")
    sms_template: Mapped[str] = mapped_column(Text, default="")
    agent_script: Mapped[str] = mapped_column(Text, default="")
    # The agent desktop's form for this campaign's calls: a list of field definitions.
    agent_form: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    # How agents end this campaign's calls: campaigns.dispositions.Disposition items.
    dispositions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=default_dispositions, server_default=json.dumps(default_dispositions())
    )
    contact_order: Mapped[ContactOrder] = mapped_column(
        enum_column(ContactOrder, 8), default=ContactOrder.FIFO
    )
    fresh_first: Mapped[bool] = mapped_column(default=False)
    max_concurrent_calls: Mapped[int] = mapped_column(Integer, default=10)
    max_calls_per_second: Mapped[float] = mapped_column(Float, default=5.0)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # Attempts handed to a channel and not yet answered: the max-concurrent gate, kept exact
    # across workers by changing it in the same transaction as the claims and results.
    in_flight: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Token bucket of the calls-per-second limit, shared by every worker through this row.
    rate_tokens: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    rate_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Monotonic counter handing out contacts' import_seq (FIFO/LIFO order).
    import_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # How calls are paced for agents: see campaigns.types.DialingMode.
    dialing_mode: Mapped[DialingMode] = mapped_column(
        enum_column(DialingMode, 12), default=DialingMode.FIXED, server_default="fixed"
    )
    lines_per_agent: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    after_wrap_up: Mapped[AfterWrapUp] = mapped_column(
        enum_column(AfterWrapUp, 12), default=AfterWrapUp.READY, server_default="ready"
    )
    # Answering-machine detection: outbound.amd.schemas.AmdSettings as JSON ({}: off, defaults).
    amd: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # Progressive: what an answered customer no agent is free for hears (a WAV; empty: the
    # dialer's default), and the key that puts the number on the DNC list meanwhile.
    abandon_message: Mapped[str] = mapped_column(String(1024), default="", server_default="")
    opt_out_digit: Mapped[str] = mapped_column(String(1), default="9", server_default="9")
    # Personal callbacks: only the booking agent gets one until this long after it is due;
    # then any agent of the campaign, or it waits for that agent (callback_after_grace).
    callback_grace_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    callback_after_grace: Mapped[CallbackAfterGrace] = mapped_column(
        enum_column(CallbackAfterGrace, 12),
        default=CallbackAfterGrace.ANY_AGENT,
        server_default="any_agent",
    )
