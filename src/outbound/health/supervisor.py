"""Background parts kept alive: a part that dies is built again and restarted, with backoff.

The engine, the import worker and the webhook deliverer each run a loop in a thread. Before
this, a part that raised (the engine registering itself against a database that refuses
writes) ended its thread for good while ``/health`` still said ok. Now each runs under a
``Supervised`` thread that rebuilds it after a crash, waiting 1 s, 2 s, 4 s ... up to a
minute between tries (back to 1 s once a run has lasted a minute), and reports its state.
A part whose loop survives its own errors reports them through its ``failing`` attribute
(the last error of a round, cleared by the next good round): it counts as down meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)


class Part(Protocol):
    def run(self) -> None:
        """Work until ``stop``; returning unasked or raising means the part died."""

    def stop(self) -> None: ...


P = TypeVar("P", bound=Part)


@dataclass(frozen=True)
class PartStatus:
    name: str
    state: str  # starting | running | down | stopped | off
    since: datetime | None = None
    restarts: int = 0
    error: str | None = None
    retry_at: datetime | None = None

    @property
    def down(self) -> bool:
        return self.state == "down"

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "restarts": self.restarts,
            "error": self.error,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


def _now() -> datetime:
    return datetime.now(UTC)


class Supervised(Generic[P]):
    """One part in its own daemon thread, rebuilt by ``build`` after each crash."""

    def __init__(
        self,
        name: str,
        build: Callable[[], P],
        *,
        close: Callable[[P], None] | None = None,
        backoff: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.name = name
        self._build, self._close = build, close
        self._first, self._cap = backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._part: P | None = None
        self._status = PartStatus(name, "starting", _now())
        self._thread = threading.Thread(target=self._loop, name=f"supervise-{name}", daemon=True)

    @property
    def part(self) -> P | None:
        return self._part

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        with self._lock:
            part = self._part
        if part is not None:
            part.stop()
        self._thread.join(timeout)

    def status(self) -> PartStatus:
        with self._lock:
            status, part = self._status, self._part
        failing = getattr(part, "failing", None) if status.state == "running" else None
        if failing:
            return PartStatus(self.name, "down", status.since, status.restarts, str(failing))
        return status

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _loop(self) -> None:
        delay = self._first
        while not self._stop.is_set():
            started = time.monotonic()
            error = self._run_once()
            if self._stop.is_set():
                break
            if time.monotonic() - started > self._cap:
                delay = self._first  # it ran well for a while: this is a new fault
            retry = _now() + timedelta(seconds=delay)
            log.error("%s is down (%s); restarting in %.0f s", self.name, error, delay)
            restarts = self._status.restarts + 1
            self._set(state="down", since=_now(), error=error, retry_at=retry, restarts=restarts)
            self._stop.wait(delay)
            delay = min(delay * 2, self._cap)
        self._set(state="stopped", since=_now(), retry_at=None)

    def _run_once(self) -> str:
        """Build and run the part once; the reason it ended (it should not, unless stopped)."""
        part: P | None = None
        try:
            part = self._build()
            with self._lock:
                self._part = part
            if self._stop.is_set():
                return "stopped"
            self._set(state="running", since=_now(), error=None, retry_at=None)
            part.run()
            return "it stopped by itself"
        except Exception as exc:
            log.exception("%s failed", self.name)
            return f"{type(exc).__name__}: {exc}"[:500]
        finally:
            if part is not None and self._close is not None:
                try:
                    self._close(part)
                except Exception:
                    log.exception("closing %s failed", self.name)


def off(name: str) -> Callable[[], PartStatus]:
    """The report of a part this process does not run (``engine = false``)."""
    status = PartStatus(name, "off")
    return lambda: status


def within(
    host: Supervised[P], name: str, failing: Callable[[], str | None]
) -> Callable[[], PartStatus]:
    """The report of a part that runs inside another's loop (the watched folder inside the
    import worker): down with its host, or when its own last round failed."""

    def report() -> PartStatus:
        status = host.status()
        error = failing() if status.state == "running" else None
        if error:
            return PartStatus(name, "down", status.since, status.restarts, error)
        return replace(status, name=name)

    return report
