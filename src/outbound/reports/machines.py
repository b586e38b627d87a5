"""Answering machines a campaign met, and the estimate of people taken for machines.

A machine is an attempt whose outcome is ``answering_machine``. Detection is never perfect:
the estimate of people it hung up on is the machines detected times the share of people
bench/amd.py's labelled set had taken for machines with the same settings. It is an
estimate, labelled so (Ofcom asks that such calls be counted with the abandoned ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.amd.recommended import humans_as_machine_rate
from outbound.amd.schemas import stored
from outbound.engine.amd_delay import median_detection_ms
from outbound.models import Attempt, Campaign
from outbound.strategies.outcomes import Outcome


@dataclass(frozen=True)
class Machines:
    count: int
    detected: int  # of them, found by detection on live calls (the others: a simulator)
    median_detection_ms: int | None
    humans_as_machine_rate: float
    rate_basis: str

    @property
    def estimated_humans(self) -> float:
        return round(self.detected * self.humans_as_machine_rate, 2)


def machines(
    session: Session, campaign: Campaign, *, since: datetime | None, until: datetime
) -> Machines:
    query = select(func.count(), func.count(Attempt.amd_verdict)).where(
        Attempt.campaign_id == campaign.id,
        Attempt.outcome == Outcome.ANSWERING_MACHINE,
        Attempt.ended_at <= until,
    )
    if since is not None:
        query = query.where(Attempt.ended_at >= since)
    count, detected = session.execute(query).one()
    rate, basis = humans_as_machine_rate(stored(campaign.amd).params())
    return Machines(
        int(count or 0),
        int(detected or 0),
        median_detection_ms(session, campaign.id),
        rate,
        basis,
    )
