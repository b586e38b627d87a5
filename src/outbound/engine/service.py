"""Building and running an engine from the settings: the thread inside ``serve`` and the
standalone ``outbound worker`` process use the same code."""

from __future__ import annotations

import logging
import threading

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.db.engine import Database
from outbound.engine.clock import Clock, SystemClock
from outbound.engine.worker import Engine
from outbound.settings.service import get_settings

log = logging.getLogger(__name__)


def build_engine(db: Database, *, clock: Clock | None = None) -> Engine:
    clock = clock or SystemClock()
    with db.transaction() as session:
        settings = get_settings(session)
    dialer = build_dialer(settings.dialer.kind, settings.dialer.options, clock)
    sms = build_sms_gateway(settings.sms_gateway.kind, settings.sms_gateway.options, clock)
    return Engine(db, clock=clock, dialer=dialer, sms=sms)


class EngineThread:
    """The engine as a daemon thread of the web service."""

    def __init__(self, db: Database) -> None:
        self.engine = build_engine(db)
        self._thread = threading.Thread(target=self.engine.run, name="engine", daemon=True)

    def start(self) -> None:
        log.info("engine %s starting", self.engine.worker_id)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.engine.stop()
        self._thread.join(timeout)
        self.engine.dialer.close()
        self.engine.sms.close()
