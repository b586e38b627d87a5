"""How long answering-machine detection holds a campaign's answered calls: the pacing's
view (a predictive dialer adds it to the time from answer to agent)."""

from __future__ import annotations

from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.models import Attempt

RECENT = 200  # the last attempts listened to that count


def median_detection_ms(session: Session, campaign_id: int, *, recent: int = RECENT) -> int | None:
    """The median detection delay (ms of a call's audio from the answer to the verdict) of
    the campaign's last ``recent`` calls that were listened to; None before any was."""
    found = session.scalars(
        select(Attempt.amd_ms)
        .where(Attempt.campaign_id == campaign_id, Attempt.amd_ms.is_not(None))
        .order_by(Attempt.id.desc())
        .limit(recent)
    ).all()
    values = [v for v in found if v is not None]
    return round(median(values)) if values else None
