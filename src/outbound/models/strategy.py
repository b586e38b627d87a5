"""Call strategies: an ordered list of attempts, each with a rule per outcome."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outbound.db.base import Base
from outbound.models._columns import Timestamps, enum_column
from outbound.strategies.outcomes import Channel, Outcome, RuleAction, SmsMode


class Strategy(Timestamps, Base):
    __tablename__ = "strategies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    max_attempts: Mapped[int] = mapped_column(Integer, default=10)
    builtin: Mapped[bool] = mapped_column(default=False)

    attempts: Mapped[list[StrategyAttempt]] = relationship(
        back_populates="strategy",
        order_by="StrategyAttempt.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class StrategyAttempt(Base):
    __tablename__ = "strategy_attempts"
    __table_args__ = (UniqueConstraint("strategy_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(ForeignKey("strategies.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 8))
    phone_slot: Mapped[int] = mapped_column(Integer, default=1)
    sms_template: Mapped[str | None] = mapped_column(Text)
    sms_expiry_minutes: Mapped[int | None] = mapped_column(Integer)
    sms_mode: Mapped[SmsMode] = mapped_column(enum_column(SmsMode, 16), default=SmsMode.AWAIT_REPLY)

    strategy: Mapped[Strategy] = relationship(back_populates="attempts")
    rules: Mapped[list[StrategyRule]] = relationship(
        back_populates="attempt",
        cascade="all, delete-orphan",
        passive_deletes=True,
        foreign_keys="StrategyRule.attempt_id",
    )


class StrategyRule(Base):
    """What follows one outcome of one attempt.

    A GOTO names its target by id, so re-ordering the attempts keeps every rule pointing
    at the same attempt; NEXT follows the order, whatever it is at decision time.
    """

    __tablename__ = "strategy_rules"
    __table_args__ = (UniqueConstraint("attempt_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("strategy_attempts.id", ondelete="CASCADE"))
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    action: Mapped[RuleAction] = mapped_column(enum_column(RuleAction, 8))
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    target_attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("strategy_attempts.id", ondelete="RESTRICT"), index=True
    )

    attempt: Mapped[StrategyAttempt] = relationship(
        back_populates="rules", foreign_keys=[attempt_id]
    )
