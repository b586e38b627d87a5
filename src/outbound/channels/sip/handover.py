"""The hand-over of answered progressive calls, off the lanes' threads.

At the answer the dialer asks two things that take a moment: is the reserved agent's phone
there (a SIP OPTIONS through the proxy, ``probe``) and is the agent still reserved for this
call (the engine's ``AgentDesk``, one short transaction that also makes the agent talk).
They run in a small pool so that a lane keeps sending its other commands meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from outbound.channels.base import AgentDesk
from outbound.channels.sip import probe

log = logging.getLogger(__name__)
PROBE_TIMEOUT = 0.4  # seconds; the abandon message's lead-in (messages.LEAD_IN) is longer


class Hands:
    def __init__(self, source: str) -> None:
        self.source = source
        self.desk: AgentDesk | None = None
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sip-handover")

    def submit(self, job: Callable[[], None]) -> None:
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("sip hand-over job failed")

        self._pool.submit(run)

    def decide(self, attempt_id: int, agent: str) -> str | None:
        """The agent's address when its phone answers the check and the desk gives it this
        customer; None: abandon the customer."""
        there = probe.reachable(agent, source=self.source, timeout=PROBE_TIMEOUT)
        if self.desk is None:  # no engine behind the dialer (a bench): the check alone
            return agent if there else None
        taken = self.desk.take(attempt_id, reachable=there)
        return agent if taken is not None else None

    def opt_out(self, attempt_id: int) -> None:
        if self.desk is not None:
            self.desk.opt_out(attempt_id)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
