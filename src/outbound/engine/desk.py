"""The engine's ``AgentDesk``: what a dialer asks at a customer's answer, each a short
transaction of its own (called from the dialer's threads, never the engine's loop)."""

from __future__ import annotations

import logging

from outbound.agents import reservations
from outbound.db.engine import Database
from outbound.engine.clock import Clock

log = logging.getLogger(__name__)


class Desk:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def take(self, attempt_id: int, *, reachable: bool = True) -> str | None:
        """The reserved agent's SIP address (now talking), or None: abandon the customer.
        A database that fails here abandons this customer rather than leave it in silence."""
        try:
            with self.db.transaction() as session:
                return reservations.take(
                    session, attempt_id, now=self.clock.now(), reachable=reachable
                )
        except Exception:
            log.exception("hand-over of attempt %d failed; the customer is abandoned", attempt_id)
            return None

    def opt_out(self, attempt_id: int) -> None:
        try:
            with self.db.transaction() as session:
                reservations.opt_out(session, attempt_id, now=self.clock.now())
        except Exception:
            log.exception("the opt-out of attempt %d could not be recorded", attempt_id)
