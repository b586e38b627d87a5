"""What the UCCX and UCCE dialers share: feeding Cisco in batches and reading results back.

The engine hands attempts over (``dial``); the dialer writes each one to its own table
(``cisco_feed``, state ``queued``) and returns at once. ``poll`` then does the talking:

- it feeds the queued rows to their Cisco campaign (the campaign's ``dialer_target``), one
  request per campaign of at most 10,000 records, each row marked ``feeding`` before the
  request and ``fed`` once Cisco took it. A refusal Cisco documents as temporary (HTTP 503,
  "Request processing queue is at capacity") or a connection that never opened puts the rows
  back to ``queued`` and waits (``backoff_seconds``, doubled on each refusal in a row up to
  ``backoff_max_seconds``). A request whose answer is lost may have been taken: its rows are
  never sent again (at most once) and wait for a result like the others.
- it reads the results of the fed rows (``poll_seconds`` apart) and maps Cisco's call result
  to our outcome (``codes``).

``capacity`` is the batch size less the rows not finished, so never more than the batch
size of our contacts wait in Cisco. A restart of our service finds the rows where they were:
queued ones are fed, fed ones are read; nothing goes twice. A row without a result after
``result_timeout_minutes`` stops counting (its attempt ends Dangling by the engine's sweep),
and a row still queued that long after the hand-over (a service stopped before feeding it) is
never fed: its attempt has been given up.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.exc import SQLAlchemyError

from outbound.channels.base import ChannelError, Dial, Result
from outbound.channels.cisco.codes import Mapped
from outbound.channels.cisco.config import CiscoCommon
from outbound.channels.cisco.store import FED, FEEDING, LOST, QUEUED, FeedStore, Row
from outbound.db.engine import Database
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome

log = logging.getLogger(__name__)

MAX_RECORDS = 10_000  # per request, both products
ACCOUNT_PREFIX = "OB"
_CAMPAIGN_ID = re.compile(r"^\s*(\d{1,18})\s*$")


class Refused(Exception):
    """Cisco did not take the request and says so (503, a connection never opened): the
    records were not taken and may be sent again later."""


class Rejected(Exception):
    """Cisco refused the records for good (400, 404): their attempts end now."""


@dataclass(frozen=True, slots=True)
class Found:
    """A record's result as Cisco reports it."""

    account: str
    mapped: Mapped
    callback_at: datetime | None = None


def account_of(attempt_id: int) -> str:
    return f"{ACCOUNT_PREFIX}{attempt_id}"


def dialled_digits(number: str) -> str:
    """What Cisco dials: the E.164 number without its plus (the site's dial plan adds any
    prefix); Cisco's phone columns hold 20 characters."""
    return number.lstrip("+")[:20]


class CiscoDialer:
    """The common half; a product gives ``prepare``, ``send`` and ``results``."""

    name = "cisco"
    product = "cisco"

    def __init__(self, config: CiscoCommon, clock: Clock, db: Database) -> None:
        self.config = config
        self._clock = clock
        self._store = FeedStore(db, self.product)
        self._closed = False
        self._note: str | None = None
        self._refusals = 0
        self._feed_at: datetime | None = None  # not before (a backoff)
        self._read_at: datetime | None = None
        self._prepared: set[str] = set()
        self.result_timeout = timedelta(minutes=config.result_timeout_minutes)
        self._waiting = self._store.count_waiting()
        self.http = httpx.Client(
            base_url=config.url,
            auth=(config.username, config.password),
            verify=config.verify_tls,
            timeout=config.timeout_seconds,
        )

    # -- the Protocol ------------------------------------------------------------------
    def capacity(self) -> int:
        if self._closed:
            return 0
        return max(0, self.config.batch_size - self._waiting)

    def why_no_room(self) -> str | None:
        if self._note:
            return self._note
        if not self._closed and self.capacity() == 0:
            return f"{self.config.batch_size} contacts already wait in Cisco (the batch size)"
        return None

    def dial(self, dials: Sequence[Dial]) -> None:
        if self._closed:
            raise ChannelError(f"the {self.name} dialer is closed", retriable=True)
        rows = []
        for d in dials:
            match = _CAMPAIGN_ID.match(d.target)
            if match is None:
                raise ChannelError(
                    f"dialer target {d.target!r} is not a Cisco campaign id", retriable=False
                )
            rows.append((d.attempt_id, match.group(1), account_of(d.attempt_id), d.number))
        now = self._clock.now()
        self._store.add(((a, c, acc, dialled_digits(n)) for a, c, acc, n in rows), now=now)
        self._waiting += len(rows)

    def poll(self, now: datetime) -> list[Result]:
        if self._closed:
            return []
        waiting = self._store.waiting()
        found: list[Result] = []
        # Queued so long ago that the engine has given their attempts up (a service that
        # stopped before feeding them): never dialled late.
        late = [r for r in waiting if r.state == QUEUED and now - r.queued_at > self.result_timeout]
        self._store.move([r.id for r in late], LOST, now=now, only_from=QUEUED)
        queued = [r for r in waiting if r.state == QUEUED and r not in late]
        if queued and (self._feed_at is None or now >= self._feed_at):
            found += self._feed(queued, now)
        out = [r for r in waiting if r.state in (FEEDING, FED)]
        if out and (self._read_at is None or now >= self._read_at):
            self._read_at = now + timedelta(seconds=self.config.poll_seconds)
            found += self._read(out, now)
        self._waiting = self._store.count_waiting()
        return found

    def next_event(self) -> datetime | None:
        if self._closed or self._waiting == 0:
            return None
        now = self._clock.now()
        due = [t for t in (self._feed_at, self._read_at) if t is not None and t > now]
        return min(due) if due else now + timedelta(seconds=self.config.poll_seconds)

    def close(self) -> None:
        self._closed = True
        self.http.close()

    # -- feeding -----------------------------------------------------------------------
    def _feed(self, queued: list[Row], now: datetime) -> list[Result]:
        by_campaign: dict[str, list[Row]] = defaultdict(list)
        for row in queued:
            by_campaign[row.campaign].append(row)
        ended: list[Result] = []
        for campaign, rows in by_campaign.items():
            for start in range(0, len(rows), MAX_RECORDS):
                chunk = rows[start : start + MAX_RECORDS]
                try:
                    if campaign not in self._prepared:
                        self.prepare(campaign)
                        self._prepared.add(campaign)
                except Rejected as exc:  # no such campaign, or it refuses the change
                    ended += self._reject(campaign, chunk, exc, now)
                    continue
                except (Refused, httpx.HTTPError) as exc:
                    self._back_off(now, str(exc))
                    return ended
                try:
                    ended += self._send(campaign, chunk, now)
                except Refused as exc:
                    self._back_off(now, str(exc))
                    return ended
        self._refusals, self._note = 0, None
        return ended

    def _send(self, campaign: str, rows: list[Row], now: datetime) -> list[Result]:
        # Claimed: rows another worker (or a replaced dialer) is feeding are left to it.
        claimed = self._store.move([r.id for r in rows], FEEDING, now=now, only_from=QUEUED)
        rows = [r for r in rows if r.id in claimed]
        if not rows:
            return []
        ids = [r.id for r in rows]
        try:
            self.send(campaign, rows)
        except Refused:
            self._store.move(ids, QUEUED, now=now)
            raise
        except Rejected as exc:
            return self._reject(campaign, rows, exc, now)
        except httpx.HTTPError as exc:
            # The request may have reached Cisco: never send these again; the results (or
            # the dangling timeout) decide.
            log.warning("no answer from Cisco feeding campaign %s (%s): not resent", campaign, exc)
        self._store.move(ids, FED, now=now)
        return []

    def _reject(
        self, campaign: str, rows: list[Row], exc: Exception, now: datetime
    ) -> list[Result]:
        log.warning("Cisco refused %d records for campaign %s: %s", len(rows), campaign, exc)
        self._store.move([r.id for r in rows], LOST, now=now)
        raw = f"{self.product.upper()} refused the record: {exc}"[:255]
        return [Result(r.attempt_id, Outcome.NETWORK_ERROR, raw, now) for r in rows]

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """One call to Cisco; a connection that never opened is a refusal (nothing sent)."""
        try:
            response = self.http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise Refused(f"cannot connect to {self.config.url}: {exc}") from None
        return check(response)

    def _back_off(self, now: datetime, why: str) -> None:
        self._refusals += 1
        wait = min(
            self.config.backoff_seconds * 2 ** (self._refusals - 1),
            self.config.backoff_max_seconds,
        )
        self._feed_at = now + timedelta(seconds=wait)
        self._note = f"Cisco refused the feed ({why}); next try in {wait:g} s"[:255]
        log.warning("%s", self._note)

    # -- results -----------------------------------------------------------------------
    def _read(self, out: list[Row], now: datetime) -> list[Result]:
        by_campaign: dict[str, list[Row]] = defaultdict(list)
        for row in out:
            by_campaign[row.campaign].append(row)
        results: list[Result] = []
        for campaign, rows in by_campaign.items():
            try:
                found = self.results(campaign, rows)
            except (Refused, Rejected, httpx.HTTPError, SQLAlchemyError) as exc:
                # Read again at the next poll; what never comes ends Dangling.
                log.warning("cannot read Cisco results of campaign %s: %s", campaign, exc)
                continue
            hits = {row.id: found[row.account] for row in rows if row.account in found}
            # Claimed too: a result goes to the engine once, whoever read it.
            done = self._store.move(list(hits), "done", now=now, only_from=(FEEDING, FED))
            for row in rows:
                hit = hits.get(row.id)
                if hit is not None and row.id in done:
                    results.append(
                        Result(
                            row.attempt_id,
                            hit.mapped.outcome,
                            hit.mapped.raw,
                            now,
                            callback_at=hit.callback_at,
                            external_id=row.account,
                        )
                    )
        answered = {res.external_id for res in results}
        stale = [
            r.id
            for r in out
            if r.fed_at is not None
            and now - r.fed_at > self.result_timeout
            and r.account not in answered
        ]
        self._store.move(stale, LOST, now=now, only_from=(FEEDING, FED))
        return results

    # -- the product's half ------------------------------------------------------------
    def prepare(self, campaign: str) -> None:
        """Before the first feed to a campaign (e.g. switch Cisco's own retries off)."""

    def send(self, campaign: str, rows: list[Row]) -> None:
        raise NotImplementedError

    def results(self, campaign: str, rows: list[Row]) -> dict[str, Found]:
        raise NotImplementedError


def check(response: httpx.Response) -> httpx.Response:
    """Cisco's status codes: 503 and a refused login wait and retry, other 4xx reject."""
    code = response.status_code
    if code < 300:
        return response
    detail = _detail(response)
    if code in (401, 403):
        raise Refused(f"HTTP {code}: the administrator's credentials were refused")
    if code in (429, 503) or code >= 500:
        raise Refused(f"HTTP {code} {detail}".strip())
    raise Rejected(f"HTTP {code} {detail}".strip())


def _detail(response: httpx.Response) -> str:
    """Cisco's error bodies are not documented in full: the first words of whatever came."""
    text = " ".join(response.text.split())
    return text[:160]
