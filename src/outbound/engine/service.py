"""Building and running an engine from the settings: the thread inside ``serve`` and the
standalone ``outbound worker`` process use the same code."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.config import Config
from outbound.db.engine import Database
from outbound.engine.clock import Clock, SystemClock
from outbound.engine.worker import Engine, Timing
from outbound.settings.service import get_settings

log = logging.getLogger(__name__)


def timing_from(config: Config) -> Timing:
    """The heartbeat and the silence that marks a worker dead: every process must agree."""
    return Timing(
        heartbeat=timedelta(seconds=config.worker_heartbeat_seconds),
        silent_worker=timedelta(seconds=config.worker_silent_seconds),
    )


def build_engine(
    db: Database, *, clock: Clock | None = None, timing: Timing | None = None
) -> Engine:
    clock = clock or SystemClock()
    with db.transaction() as session:
        settings = get_settings(session)
    dialer = build_dialer(settings.dialer.kind, settings.dialer.options, clock)
    sms = build_sms_gateway(settings.sms_gateway.kind, settings.sms_gateway.options, clock, db)
    return Engine(db, clock=clock, dialer=dialer, sms=sms, timing=timing)


class EngineThread:
    """The engine as a daemon thread of the web service."""

    def __init__(self, db: Database, *, timing: Timing | None = None) -> None:
        self.engine = build_engine(db, timing=timing)
        self._thread = threading.Thread(target=self.engine.run, name="engine", daemon=True)

    def start(self) -> None:
        log.info("engine %s starting", self.engine.worker_id)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.engine.stop()
        self._thread.join(timeout)
        self.engine.dialer.close()
        self.engine.sms.close()
