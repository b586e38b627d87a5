"""What the campaign pages show, shaped for templates and Chart.js; built from report services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.campaigns.types import CampaignType
from outbound.contacts.states import LABELS, ContactState
from outbound.models import Campaign
from outbound.reports import service as reports
from outbound.reports.repository import IN_PROGRESS, NO_RESULT
from outbound.reports.timeline import Bucket
from outbound.strategies import outcomes

STATE_COLOURS: dict[ContactState, str] = {
    ContactState.PENDING: "#94a3b8",
    ContactState.SENT_TO_DIALER: "#f59e0b",
    ContactState.CONNECTED: "#16a34a",
    ContactState.NOT_CONNECTED: "#dc2626",
    ContactState.RETRIES_COMPLETED: "#7c3aed",
    ContactState.DNC_LISTED: "#334155",
    ContactState.SMS_SENT: "#0ea5e9",
    ContactState.SMS_SENT_CLOSED: "#14b8a6",
    ContactState.SMS_RESPONDED: "#2563eb",
    ContactState.DANGLING: "#ea580c",
}
OUTCOME_COLOURS: dict[str, str] = {
    "connected": "#16a34a",
    "busy": "#f59e0b",
    "no_answer": "#94a3b8",
    "answering_machine": "#a855f7",
    "customer_abandoned": "#f97316",
    "dialer_abandoned": "#ea580c",
    "invalid_number": "#dc2626",
    "network_error": "#b91c1c",
    "declined": "#be123c",
    "fax": "#64748b",
    "wrong_person": "#854d0e",
    "callback_requested": "#0d9488",
    "sms_accepted": "#7dd3fc",
    "sms_delivered": "#0ea5e9",
    "sms_failed": "#e11d48",
    "sms_reply": "#2563eb",
    "sms_stop": "#1e293b",
    "sms_expired": "#cbd5e1",
    IN_PROGRESS: "#fde68a",
    NO_RESULT: "#fb923c",
}


@dataclass(frozen=True)
class StateCount:
    state: ContactState
    label: str
    count: int
    colour: str


@dataclass(frozen=True)
class Progress:
    """A campaign's row on the dashboard: its status, counts per state and progress."""

    status: reports.Status
    report: reports.Report
    kind: CampaignType

    @property
    def counts(self) -> list[StateCount]:
        """The states holding contacts, in life-cycle order."""
        return [
            StateCount(s, LABELS[s], n, STATE_COLOURS[s])
            for s, n in self.report.counts_by_state.items()
            if n
        ]

    @property
    def percent(self) -> int:
        total = self.report.contacts_total
        return int(100 * self.report.closed / total) if total else 0


def dashboard(session: Session, *, now: datetime) -> list[Progress]:
    kinds = {id_: kind for id_, kind in session.execute(select(Campaign.id, Campaign.type))}
    return [
        Progress(
            status,
            reports.campaign_report(session, str(status.campaign_id), since=None, now=now),
            kinds[status.campaign_id],
        )
        for status in reports.all_statuses(session, now=now)
    ]


@dataclass(frozen=True)
class CampaignStats:
    progress: Progress
    attempts_last_hour: int
    charts: dict[str, Any]

    @property
    def attempts_per_minute(self) -> float:
        return round(self.attempts_last_hour / 60, 1)


def campaign_stats(session: Session, campaign_id: int, *, now: datetime) -> CampaignStats:
    ref = str(campaign_id)
    report = reports.campaign_report(session, ref, since=None, now=now)
    last_hour = reports.campaign_report(session, ref, since=now - timedelta(hours=1), now=now)
    status = reports.campaign_status(session, ref, now=now)
    kind = session.scalars(select(Campaign.type).where(Campaign.id == campaign_id)).one()
    buckets = reports.campaign_timeline(
        session, ref, bucket=Bucket.HOUR, since=None, until=None, now=now
    )
    keys = [k for k in OUTCOME_COLOURS if any(b.outcomes.get(k) for b in buckets)]
    charts = {
        "states": {
            "labels": [LABELS[s] for s in ContactState],
            "values": [report.counts_by_state[s] for s in ContactState],
            "colours": [STATE_COLOURS[s] for s in ContactState],
        },
        "timeline": {
            "labels": [f"{b.start:%H:00}" for b in buckets],
            "datasets": [
                {
                    "label": outcomes.label(k),
                    "data": [b.outcomes.get(k, 0) for b in buckets],
                    "colour": OUTCOME_COLOURS[k],
                }
                for k in keys
            ],
        },
    }
    return CampaignStats(Progress(status, report, kind), last_hour.attempts_total, charts)
