"""The engine's reads and writes. Each function runs inside the caller's transaction.

The hot path (claims, results) reads only the columns it needs as plain rows and writes
through ``bulk``; the sweeps, which touch few rows, use ORM objects.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Select, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session

from outbound.agents.states import AgentState
from outbound.contacts.states import ContactState
from outbound.engine import bulk
from outbound.models import Agent, Attempt, Campaign, Contact, agent_campaigns
from outbound.models._columns import utcnow

AnyRow = Row[*tuple[Any, ...]]
CAMPAIGNS = cast(Table, Campaign.__table__)
CONTACTS = cast(Table, Contact.__table__)
ATTEMPTS = cast(Table, Attempt.__table__)

# What a claim needs of a contact: its place in the strategy and its numbers; and, when the
# strategy sends SMS, what a template may quote.
CLAIMED: tuple[InstrumentedAttribute[Any], ...] = (
    Contact.id,
    Contact.next_position,
    Contact.attempt_count,
    *(getattr(Contact, f"phone{i}_e164") for i in range(1, 6)),
    Contact.callback_at,  # a booked callback: cleared as it is dialled
    Contact.next_attempt_at,  # for the dispatch delay (metrics)
)
PHONES = slice(3, 8)  # a claimed row's phone1_e164 … phone5_e164
QUOTED: tuple[InstrumentedAttribute[Any], ...] = (
    Contact.crm_contact_id,
    *(getattr(Contact, f"phone{i}") for i in range(1, 6)),
    *(getattr(Contact, f"param{i}") for i in range(1, 13)),
)
# What a result reads and may change: an attempt, and the contact waiting for it.
RESULT_ATTEMPT = (
    Attempt.id,
    Attempt.contact_id,
    Attempt.campaign_id,
    Attempt.strategy_position,
    Attempt.phone_number,
    Attempt.ended_at,
    Attempt.outcome,
    Attempt.raw_result,
)
RESULT_CONTACT = (
    Contact.id,
    Contact.state,
    Contact.last_attempt_id,
    Contact.attempt_count,
    Contact.last_outcome,
    Contact.closed_at,
    Contact.next_attempt_at,
    Contact.next_position,
)


def among(
    session: Session, column: InstrumentedAttribute[Any], ids: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL one array parameter, not one parameter per id."""
    if bulk.is_postgres(session):
        array = bindparam(None, list(ids), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(ids)


# PostgreSQL: the hot reads as plain statements (the ORM's per-statement work cost more CPU
# than the database spent on them); literal predicates let the partial indexes serve.
LOCK_CAMPAIGNS = """
SELECT id, running, in_flight, rate_tokens, rate_at FROM campaigns
WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE SKIP LOCKED
"""
WITH_DUE = """
SELECT c.id FROM campaigns AS c
WHERE c.id = ANY(%(ids)s) AND EXISTS (
    SELECT 1 FROM contacts AS t
    WHERE t.campaign_id = c.id AND t.state = 'pending' AND t.next_attempt_at <= %(now)s
)
"""
DNC_HITS = """
SELECT number_e164, campaign_id FROM dnc_entries
WHERE number_e164 = ANY(%(numbers)b::varchar[])
  AND (campaign_id IS NULL OR campaign_id = ANY(%(campaigns)s))
"""


def lock_campaigns(session: Session, campaign_ids: Sequence[int]) -> dict[int, AnyRow]:
    """The campaigns' gates (running, in flight, rate bucket), locked: claims for a campaign
    are serialised across workers. One held by another worker is left out: skip, don't wait.
    """
    if not campaign_ids:
        return {}
    if bulk.is_postgres(session):
        found = bulk.run(session, LOCK_CAMPAIGNS, {"ids": list(campaign_ids)}, named=True)
        return {row.id: row for row in found}
    query = (
        select(
            Campaign.id,
            Campaign.running,
            Campaign.in_flight,
            Campaign.rate_tokens,
            Campaign.rate_at,
        )
        .where(among(session, Campaign.id, campaign_ids))
        .order_by(Campaign.id)
        .with_for_update(skip_locked=True)
    )
    return {row.id: row for row in session.execute(query)}


def update_campaigns(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    bulk.update_rows(session, CAMPAIGNS, rows)


def with_due_contacts(session: Session, campaign_ids: Sequence[int], now: datetime) -> set[int]:
    """Which of these campaigns have a contact due now (one index probe each)."""
    if not campaign_ids:
        return set()
    if bulk.is_postgres(session):
        params = {"ids": list(campaign_ids), "now": now}
        return {row[0] for row in bulk.run(session, WITH_DUE, params)}
    due = (
        select(Contact.id)
        .where(
            Contact.campaign_id == Campaign.id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at <= now,
        )
        .exists()
    )
    query = select(Campaign.id).where(among(session, Campaign.id, campaign_ids), due)
    return set(session.scalars(query))


@cache
def _claim_query(
    *, fresh: bool, newest_first: bool, quoted: bool, skipping: bool, holding: bool
) -> Select[*tuple[Any, ...]]:
    """Built once per order: the claim runs for every campaign of every round."""
    query = select(*CLAIMED, *(QUOTED if quoted else ())).where(
        Contact.campaign_id == bindparam("campaign_id"),
        Contact.state == ContactState.PENDING,
        Contact.next_attempt_at <= bindparam("now"),
    )
    if skipping:
        query = query.where(Contact.next_position.not_in(bindparam("skip", expanding=True)))
    if holding:
        query = query.where(
            (Contact.callback_agent_id.is_(None))
            | (Contact.next_attempt_at <= bindparam("held_until"))
        )
    if fresh:
        seq = Contact.import_seq.desc() if newest_first else Contact.import_seq.asc()
        query = query.where(Contact.attempt_count == 0).order_by(seq)
    else:
        query = query.where(Contact.attempt_count > 0).order_by(
            Contact.next_attempt_at, Contact.import_seq
        )
    return query.limit(bindparam("limit")).with_for_update(skip_locked=True)


@cache
def _claim_sql(
    *, fresh: bool, newest_first: bool, quoted: bool, skipping: bool, holding: bool
) -> str:
    """``_claim_query`` for PostgreSQL, written out."""
    columns = ", ".join(c.key for c in (*CLAIMED, *(QUOTED if quoted else ())))
    if fresh:
        which, order = "attempt_count = 0", "import_seq DESC" if newest_first else "import_seq"
    else:
        which, order = "attempt_count > 0", "next_attempt_at, import_seq"
    if skipping:
        which += " AND next_position <> ALL(%(skip)s)"
    if holding:
        which += " AND (callback_agent_id IS NULL OR next_attempt_at <= %(held_until)s)"
    return (
        f"SELECT {columns} FROM contacts "  # noqa: S608 (names from the model, no input)
        "WHERE campaign_id = %(campaign_id)s AND state = 'pending' "
        f"AND next_attempt_at <= %(now)s AND {which} "
        f"ORDER BY {order} LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
    )


def dnc_listed(session: Session, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]:
    """``dnc.service.listed_for``: campaign id -> its numbers on a DNC list that applies."""
    if not bulk.is_postgres(session):
        # Here, not at the top: the SMPP gateway imports this module, and the settings
        # (which the DNC service reads) import the gateways.
        from outbound.dnc.service import listed_for

        return listed_for(session, wanted)
    params = {
        "numbers": sorted({n for group in wanted.values() for n in group}),
        "campaigns": list(wanted),
    }
    hits = set(bulk.run(session, DNC_HITS, params))
    everywhere = {number for number, campaign in hits if campaign is None}
    return {
        campaign: {n for n in group if n in everywhere or (n, campaign) in hits}
        for campaign, group in wanted.items()
    }


def claim_due(
    session: Session,
    campaign_id: int,
    *,
    fresh: bool,
    newest_first: bool,
    now: datetime,
    limit: int,
    quoted: bool = True,
    skip: Collection[int] = (),
    held_until: datetime | None = None,
) -> list[AnyRow]:
    """Due pending contacts, locked (others' locked rows skipped), in the campaign's order;
    ``quoted`` adds what an SMS template may quote; contacts whose next position is in
    ``skip`` (their channel takes nothing now) are left alone. ``held_until``: personal
    callbacks due after it are left to their agent (``claim_personal``)."""
    if limit <= 0:
        return []
    order = {
        "fresh": fresh,
        "newest_first": newest_first,
        "quoted": quoted,
        "skipping": bool(skip),
        "holding": held_until is not None,
    }
    params: dict[str, Any] = {"campaign_id": campaign_id, "now": now, "limit": limit}
    if skip:
        params["skip"] = sorted(skip)
    if held_until is not None:
        params["held_until"] = held_until
    if bulk.is_postgres(session):
        return bulk.run(session, _claim_sql(**order), params, named=True)
    return list(session.execute(_claim_query(**order), params))


def claim_ids(session: Session, contact_ids: Sequence[int]) -> list[AnyRow]:
    """These contacts if still pending, locked (preview: the ones agents chose to call)."""
    if not contact_ids:
        return []
    query = (
        select(*CLAIMED, *QUOTED)
        .where(Contact.id.in_(list(contact_ids)), Contact.state == ContactState.PENDING)
        .order_by(Contact.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query))


def claim_personal(
    session: Session, campaign_id: int, *, now: datetime, limit: int, quoted: bool = True
) -> list[tuple[int, AnyRow]]:
    """Due personal callbacks of the campaign whose agent is ready and works the campaign
    now, earliest first, locked (others' locked rows skipped): (agent id, contact row)."""
    if limit <= 0:
        return []
    query = (
        select(*CLAIMED, *(QUOTED if quoted else ()), Contact.callback_agent_id)
        .join(Agent, Agent.id == Contact.callback_agent_id)
        .join(
            agent_campaigns,
            (agent_campaigns.c.agent_id == Agent.id)
            & (agent_campaigns.c.campaign_id == Contact.campaign_id),
        )
        .where(
            Contact.campaign_id == campaign_id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at <= now,
            Agent.state == AgentState.READY,
            agent_campaigns.c.active.is_(True),
        )
        .order_by(Contact.next_attempt_at, Contact.id)
        .limit(limit)
        .with_for_update(of=Contact, skip_locked=True)
    )
    return [(int(row.callback_agent_id), row) for row in session.execute(query)]


RETURNED_BY_END = ("id", "contact_id", "campaign_id", "strategy_position", "phone_number")


# The first result of each attempt ends it (a call's answer records its outcome while the
# call goes on: neither stamp is set before the first result), and the contact waiting for
# it is read in the same round trip (PostgreSQL): the statement locks the attempts; the
# contacts are read as they were before it (their update is guarded instead).
END_AND_READ = """
WITH ended AS (
    UPDATE attempts AS t SET {sets}{clause}
    WHERE t.id = {key} AND t.ended_at IS NULL AND t.answered_at IS NULL
    RETURNING t.id, t.contact_id, t.campaign_id, t.strategy_position, t.phone_number
)
SELECT ended.id, ended.contact_id, ended.campaign_id, ended.strategy_position,
       ended.phone_number, {contact}
FROM ended LEFT JOIN contacts AS c ON c.id = ended.contact_id
"""
RESULT_CONTACT_COLUMNS = tuple(column.key for column in RESULT_CONTACT)
END_ONLY = """
UPDATE attempts AS t SET {sets}{clause}
WHERE t.id = {key} AND t.ended_at IS NULL AND t.answered_at IS NULL
RETURNING t.id, t.contact_id, t.campaign_id, t.strategy_position, t.phone_number, t.number
"""
# The decisions for contacts still waiting for the attempt that just ended (its number is
# their attempt count): a closing one keeps the contact's next position, an open one its
# closing time (``NULL`` in the arrays).
DECIDE_WAITING = """
UPDATE contacts AS t
SET state = u.state, last_outcome = u.outcome, closed_at = coalesce(u.closed, t.closed_at),
    next_attempt_at = u.due, next_position = coalesce(u.position, t.next_position),
    updated_at = %(stamp)b
FROM unnest(%(id)b::bigint[], %(attempt)b::bigint[], %(number)b::int[], %(state)b::text[],
            %(outcome)b::text[], %(closed)b::timestamptz[], %(due)b::timestamptz[],
            %(position)b::int[]) AS u(id, attempt, number, state, outcome, closed, due, position)
WHERE t.id = u.id AND t.state = %(waiting)b AND t.last_attempt_id = u.attempt
  AND t.attempt_count = u.number
RETURNING t.id
"""


def end_attempts_pg(session: Session, columns: Mapping[str, Sequence[Any]]) -> list[bulk.Returned]:
    """PostgreSQL: end the open attempts among these (columns id, ended_at, outcome,
    raw_result); returns id, contact id, campaign id, strategy position, phone number and
    number of each attempt ended."""
    exprs, clause, params = bulk.source_columns(session, ATTEMPTS, columns)
    sets = ", ".join(f"{name} = {exprs[name]}" for name in columns if name != "id")
    return bulk.run(session, END_ONLY.format(sets=sets, clause=clause, key=exprs["id"]), params)


def decide_waiting_pg(session: Session, columns: Mapping[str, Sequence[Any]]) -> set[int]:
    """PostgreSQL: apply decisions to the contacts still waiting for their attempt (columns
    id, attempt, number, state, outcome, closed, due, position); returns those changed."""
    if not columns["id"]:
        return set()
    params = dict(columns) | {"stamp": utcnow(), "waiting": ContactState.SENT_TO_DIALER.value}
    return {row[0] for row in bulk.run(session, DECIDE_WAITING, params)}


def end_attempts_reading_contacts(
    session: Session, columns: Mapping[str, Sequence[Any]]
) -> tuple[list[bulk.Returned], dict[int, AnyRow | bulk.Returned]]:
    """``end_attempts`` (columns id, ended_at, outcome, raw_result) and the contacts of the
    attempts ended: (attempts as ``RETURNED_BY_END``, contact id -> ``RESULT_CONTACT`` row)."""
    if not columns["id"]:
        return [], {}
    if not bulk.is_postgres(session):
        ended = bulk.update_columns(
            session,
            ATTEMPTS,
            {
                **columns,
                "was_ended_at": [None] * len(columns["id"]),
                "was_answered_at": [None] * len(columns["id"]),
            },
            returning=RETURNED_BY_END,
        )
        rows = result_contacts(session, [row[1] for row in ended])
        return ended, {row.id: row for row in rows}
    exprs, clause, params = bulk.source_columns(session, ATTEMPTS, columns)
    sets = ", ".join(f"{name} = {exprs[name]}" for name in columns if name != "id")
    contact = ", ".join(f"c.{name}" for name in RESULT_CONTACT_COLUMNS)
    sql = END_AND_READ.format(sets=sets, clause=clause, key=exprs["id"], contact=contact)
    found = bulk.run(session, sql, params)
    contacts: dict[int, AnyRow | bulk.Returned] = {}
    for row in found:
        if row[5] is not None:
            contacts[row[5]] = row[5:]
    return [row[:5] for row in found], contacts


def ended_attempts(session: Session, attempt_ids: Sequence[int]) -> list[AnyRow]:
    """Attempts that had ended already, locked: a late delivery receipt may still change them."""
    if not attempt_ids:
        return []
    query = (
        select(*RESULT_ATTEMPT)
        .where(among(session, Attempt.id, sorted(set(attempt_ids))))
        .order_by(Attempt.id)
        .with_for_update()
    )
    return list(session.execute(query))


def result_contacts(session: Session, contact_ids: Sequence[int]) -> list[AnyRow]:
    """The contacts waiting for these results. Not locked: their update is guarded instead
    (it applies only while the contact still waits in the state it was read in)."""
    if not contact_ids:
        return []
    query = select(*RESULT_CONTACT).where(among(session, Contact.id, sorted(set(contact_ids))))
    return list(session.execute(query))


# The new attempts' contacts, sent: the update reads the inserted rows, so nothing is sent
# twice over the wire (PostgreSQL).
MARK_SENT = """
WITH sent AS ({insert} RETURNING id, contact_id, number, phone_number)
UPDATE contacts AS c
SET state = %(sent_state)b, request_time = %(sent_at)b, number_to_call = sent.phone_number,
    attempt_count = sent.number, next_attempt_at = NULL, last_attempt_id = sent.id,
    updated_at = %(sent_stamp)b
FROM sent WHERE c.id = sent.contact_id
RETURNING sent.contact_id, sent.id
"""


def record_attempts(
    session: Session, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> dict[int, int]:
    """Insert the attempts (one per contact) and mark their contacts Sent to Dialer; returns
    contact id -> attempt id."""
    if not rows:
        return {}
    if bulk.is_postgres(session):
        insert, params = bulk.insert_sql(session, ATTEMPTS, rows)
        params |= {
            "sent_state": ContactState.SENT_TO_DIALER.value,
            "sent_at": now,
            "sent_stamp": utcnow(),
        }
        found = bulk.run(session, MARK_SENT.format(insert=insert), params)
        return {contact_id: attempt_id for contact_id, attempt_id in found}
    attempt_of: dict[int, int] = bulk.insert_rows(
        session, ATTEMPTS, rows, returning=("contact_id", "id")
    )
    stamp = utcnow()
    sent = [
        {
            "id": r["contact_id"],
            "state": ContactState.SENT_TO_DIALER,
            "request_time": now,
            "number_to_call": r["phone_number"],
            "attempt_count": r["number"],
            "next_attempt_at": None,
            "last_attempt_id": attempt_of[r["contact_id"]],
            "updated_at": stamp,
        }
        for r in rows
    ]
    update_contacts(session, sent)
    return attempt_of


def update_contacts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    bulk.update_rows(session, CONTACTS, rows)


def update_contacts_guarded(session: Session, columns: Mapping[str, Sequence[Any]]) -> list[int]:
    """Columns include ``was_<column>`` guards; returns the ids of the contacts changed."""
    return [row[0] for row in bulk.update_columns(session, CONTACTS, columns, returning=("id",))]


def update_attempts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    bulk.update_rows(session, ATTEMPTS, rows)


def contacts_by_id(session: Session, contact_ids: Sequence[int]) -> dict[int, Contact]:
    if not contact_ids:
        return {}
    query = select(Contact).where(Contact.id.in_(set(contact_ids))).with_for_update()
    return {c.id: c for c in session.scalars(query)}


def release_in_flight(session: Session, counts: Mapping[int, int]) -> None:
    """Locked in campaign order first, so two workers releasing the same campaigns never
    deadlock; then one write for all of them."""
    ids = sorted(c for c, n in counts.items() if n)
    if not ids:
        return
    query = (
        select(Campaign.id, Campaign.in_flight)
        .where(among(session, Campaign.id, ids))
        .order_by(Campaign.id)
        .with_for_update()
    )
    stamp = utcnow()
    rows = [
        {"id": campaign_id, "in_flight": in_flight - counts[campaign_id], "updated_at": stamp}
        for campaign_id, in_flight in session.execute(query)
    ]
    bulk.update_rows(session, CAMPAIGNS, rows)


def stale_attempts(session: Session, *, sent_before: datetime, limit: int) -> list[Attempt]:
    query = (
        select(Attempt)
        .where(
            Attempt.ended_at.is_(None),
            Attempt.answered_at.is_(None),
            Attempt.sent_at <= sent_before,
        )
        .order_by(Attempt.sent_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def attempts_of_workers(
    session: Session, worker_ids: Sequence[str], *, limit: int
) -> list[Attempt]:
    if not worker_ids:
        return []
    query = (
        select(Attempt)
        .where(Attempt.ended_at.is_(None), Attempt.worker_id.in_(worker_ids))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def workers_with_open_attempts(session: Session, worker_ids: Sequence[str]) -> set[str]:
    """Which of these workers still have an attempt without a result (locked rows included:
    a plain read waits for no lock)."""
    if not worker_ids:
        return set()
    query = (
        select(Attempt.worker_id)
        .where(Attempt.ended_at.is_(None), Attempt.worker_id.in_(worker_ids))
        .distinct()
    )
    return {w for w in session.scalars(query) if w is not None}


def expired_sms(session: Session, *, now: datetime, limit: int) -> list[Contact]:
    query = (
        select(Contact)
        .where(
            # Naming the campaigns lets the due index serve (one probe per campaign); without
            # it the sweep read the whole contacts table every second.
            Contact.campaign_id.in_(select(Campaign.id)),
            Contact.state == ContactState.SMS_SENT,
            Contact.next_attempt_at <= now,
        )
        .order_by(Contact.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def sms_attempts_by_external_id(session: Session, external_ids: Sequence[str]) -> dict[str, int]:
    """The newest SMS attempt of each peer id (an SMSC message id) -> its attempt id."""
    from outbound.strategies.outcomes import Channel

    if not external_ids:
        return {}
    query = (
        select(Attempt.external_id, Attempt.id)
        .where(Attempt.external_id.in_(sorted(set(external_ids))), Attempt.channel == Channel.SMS)
        .order_by(Attempt.id)
    )
    return {str(external_id): int(attempt_id) for external_id, attempt_id in session.execute(query)}


def latest_sms_attempt(session: Session, number: str) -> Attempt | None:
    from outbound.strategies.outcomes import Channel

    query = (
        select(Attempt)
        .where(Attempt.phone_number == number, Attempt.channel == Channel.SMS)
        .order_by(Attempt.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _earliest(
    session: Session, campaign_ids: Sequence[int], states: Sequence[ContactState]
) -> datetime | None:
    """The first ``next_attempt_at`` of these campaigns' contacts in these states.

    One index probe per campaign and state: a plain ``min()`` over the campaigns would read
    the index entry of every pending contact (a million of them: a third of a second).
    """
    if not campaign_ids:
        return None
    firsts = []
    for state in states:
        first = (
            select(Contact.next_attempt_at)
            .where(
                Contact.campaign_id == Campaign.id,
                Contact.state == state,
                Contact.next_attempt_at.is_not(None),
            )
            .order_by(Contact.next_attempt_at)
            .limit(1)
            .correlate(Campaign)
            .scalar_subquery()
        )
        in_campaigns = among(session, Campaign.id, campaign_ids)
        firsts.append(select(func.min(first)).where(in_campaigns).scalar_subquery())
    found = [t for t in session.execute(select(*firsts)).one() if t is not None]
    return min(found, default=None)


def next_due(session: Session, campaign_ids: Sequence[int]) -> datetime | None:
    """The earliest time a contact of these campaigns becomes due (attempt or SMS expiry)."""
    return _earliest(session, campaign_ids, (ContactState.PENDING, ContactState.SMS_SENT))


def next_sms_expiry(session: Session, campaign_ids: Sequence[int]) -> datetime | None:
    """When the first SMS wait of these campaigns ends (the SMS-expiry sweep's next work)."""
    return _earliest(session, campaign_ids, (ContactState.SMS_SENT,))


def oldest_open_attempt(session: Session) -> datetime | None:
    """When the oldest attempt without any result was sent (an answered call has its result)."""
    query = select(func.min(Attempt.sent_at)).where(
        Attempt.ended_at.is_(None), Attempt.answered_at.is_(None)
    )
    return session.scalar(query)
