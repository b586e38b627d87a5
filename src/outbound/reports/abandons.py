"""A campaign's abandon rate: abandoned customers / live answers, over the last hour, 24
hours and 30 days (Ofcom judges 3 % over 24 hours, the TCPA 3 % over 30 days).

Counted from what the dialer recorded as it happened: an abandon is an attempt stamped
``abandoned_at`` (answered, no agent free: the abandon message); a live answer is an
attempt answered by a person (an outcome reached only by an answer; an answering machine
is none), at the moment of the answer (``answered_at``, else its end for a call whose only
result came at its end, a transfer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.models import Attempt
from outbound.strategies.outcomes import Outcome

WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("30d", timedelta(days=30)))
LIVE = (
    Outcome.CONNECTED,
    Outcome.CUSTOMER_ABANDONED,
    Outcome.DIALER_ABANDONED,
    Outcome.WRONG_PERSON,
    Outcome.CALLBACK_REQUESTED,
)


@dataclass(frozen=True)
class AbandonRate:
    window: str
    abandons: int
    live_answers: int

    @property
    def rate(self) -> float | None:
        return round(self.abandons / self.live_answers, 4) if self.live_answers else None


@dataclass(frozen=True)
class ConnectionSpeed:
    handed: int  # answered customers handed to an agent
    average_seconds: float | None  # from the answer to the hand-over


def connection_speed(
    session: Session, campaign_id: int, *, since: datetime | None
) -> ConnectionSpeed:
    """The average time from a customer's answer to its hand-over to an agent, over the
    calls handed over at or after ``since`` (all when None)."""
    query = select(Attempt.answered_at, Attempt.handed_at).where(
        Attempt.campaign_id == campaign_id,
        Attempt.handed_at.is_not(None),
        Attempt.answered_at.is_not(None),
    )
    if since is not None:
        query = query.where(Attempt.handed_at >= since)
    gaps = [
        max(0.0, (h - a).total_seconds())
        for a, h in session.execute(query)
        if a is not None and h is not None
    ]
    return ConnectionSpeed(len(gaps), round(sum(gaps) / len(gaps), 3) if gaps else None)


def abandon_rates(session: Session, campaign_id: int, *, now: datetime) -> list[AbandonRate]:
    answered = func.coalesce(Attempt.answered_at, Attempt.ended_at)
    rates = []
    for name, span in WINDOWS:
        since = now - span
        abandons = session.scalar(
            select(func.count()).where(
                Attempt.campaign_id == campaign_id,
                Attempt.abandoned_at >= since,
                Attempt.abandoned_at <= now,
            )
        )
        live = session.scalar(
            select(func.count()).where(
                Attempt.campaign_id == campaign_id,
                Attempt.outcome.in_(LIVE),
                answered >= since,
                answered <= now,
            )
        )
        rates.append(AbandonRate(name, int(abandons or 0), int(live or 0)))
    return rates
