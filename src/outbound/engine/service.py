"""Building and running an engine from the settings: the thread inside ``serve`` and the
standalone ``outbound worker`` process use the same code."""

from __future__ import annotations

import logging
from datetime import timedelta

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.config import Config
from outbound.db.engine import Database
from outbound.engine.clock import Clock, SystemClock
from outbound.engine.worker import Connections, Engine, Timing
from outbound.settings.service import get_settings

log = logging.getLogger(__name__)


def timing_from(config: Config) -> Timing:
    """The heartbeat and the silence that marks a worker dead: every process must agree."""
    return Timing(
        heartbeat=timedelta(seconds=config.worker_heartbeat_seconds),
        silent_worker=timedelta(seconds=config.worker_silent_seconds),
    )


def build_engine(
    db: Database,
    *,
    clock: Clock | None = None,
    timing: Timing | None = None,
    worker_id: str | None = None,
) -> Engine:
    clock = clock or SystemClock()
    with db.transaction() as session:
        settings = get_settings(session)
    dialer = build_dialer(settings.dialer.kind, settings.dialer.options, clock, db)
    sms = build_sms_gateway(settings.sms_gateway.kind, settings.sms_gateway.options, clock, db)
    return Engine(
        db,
        clock=clock,
        dialer=dialer,
        sms=sms,
        timing=timing,
        worker_id=worker_id,
        connections=Connections.of(settings),  # a change in the settings reaches it
    )
