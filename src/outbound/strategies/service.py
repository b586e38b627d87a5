"""Strategies and their ordered attempts: the rules of editing them.

Positions are renumbered 1..n after every change. A strategy that a started campaign uses
is not edited at all (409 naming the campaigns): a contact in flight holds the id of its next
attempt, so a deleted or re-ordered attempt would close it or send it to the wrong step.
The (strategy, position) pair is unique in the database and checked row by row, so moves go
through negative positions first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from outbound.campaigns.repository import names_using
from outbound.campaigns.types import CampaignType
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Strategy, StrategyAttempt, StrategyRule
from outbound.strategies import rules as checks
from outbound.strategies.outcomes import Channel, Outcome, Rule, SmsMode
from outbound.strategies.schemas import AttemptIn, AttemptUpdate

DEFAULT_NAME = "Default"
DEFAULT_DESCRIPTION = "Built in: one SMS, waiting for a reply until the default SMS expiry."


# Every read of a strategy needs its attempts and their rules (output, gotos, checks).
_WITH_ATTEMPTS = selectinload(Strategy.attempts).selectinload(StrategyAttempt.rules)


def get_strategy(session: Session, strategy_id: int, *, for_update: bool = False) -> Strategy:
    """A strategy with its attempts and rules; ``for_update`` serialises edits to it."""
    query = select(Strategy).where(Strategy.id == strategy_id).options(_WITH_ATTEMPTS)
    if for_update:
        query = query.with_for_update(of=Strategy)
    strategy = session.scalar(query)
    if strategy is None:
        raise NotFound(f"strategy {strategy_id} not found")
    return strategy


def list_strategies(session: Session) -> list[Strategy]:
    query = select(Strategy).options(_WITH_ATTEMPTS).order_by(Strategy.id)
    return list(session.scalars(query))


def strategy_has_voice(session: Session, strategy_id: int) -> bool:
    """Whether any attempt calls: an SMS campaign may only use a strategy without one."""
    query = select(StrategyAttempt.id).where(
        StrategyAttempt.strategy_id == strategy_id, StrategyAttempt.channel == Channel.VOICE
    )
    return session.scalar(query.limit(1)) is not None


def create_strategy(
    session: Session,
    *,
    name: str,
    description: str,
    max_attempts: int,
    attempts: Sequence[AttemptIn] = (),
) -> Strategy:
    """A new strategy, optionally with its attempts; gotos name positions in ``attempts``."""
    if len(attempts) > checks.MAX_STRATEGY_ATTEMPTS:
        raise Invalid(
            ("body", "attempts"), f"at most {checks.MAX_STRATEGY_ATTEMPTS} attempts per strategy"
        )
    resolved = []
    for index, spec in enumerate(attempts):
        loc = ("body", "attempts", index)
        _check_fields(spec.channel, spec, loc=loc)
        resolved.append(
            checks.resolve_rules(spec.channel, spec.rules, positions=len(attempts), loc=loc)
        )
    _check_name_free(session, name)
    strategy = Strategy(
        name=name, description=description, max_attempts=max_attempts, builtin=False
    )
    rows = [_new_attempt(spec, position=i) for i, spec in enumerate(attempts, start=1)]
    strategy.attempts.extend(rows)
    session.add(strategy)
    session.flush()
    ids_by_position = {row.position: row.id for row in rows}
    for row, rules in zip(rows, resolved, strict=True):
        _sync_rules(row, rules, ids_by_position)
    session.flush()
    return strategy


def running_users(session: Session, strategy_id: int) -> list[str]:
    """Names of the started campaigns that use a strategy: while any runs it is not edited."""
    return names_using(session, strategy_id=strategy_id, running=True)


def locked_message(strategy_name: str, campaigns: Sequence[str]) -> str:
    """Why a strategy cannot be edited now: the API's 409 and the editor say the same."""
    return (
        f"strategy {strategy_name!r} is used by running campaign(s) {_quoted(campaigns)}: "
        "stop them to edit it"
    )


def refuse_if_running(session: Session, strategy: Strategy) -> None:
    """Conflict while a started campaign uses ``strategy``.

    The caller holds the strategy's row lock (``get_strategy(for_update=True)``) and starting a
    campaign takes the same row (``lock_for_start``), so a start cannot slip in between this
    check and the edit's commit.
    """
    names = running_users(session, strategy.id)
    if names:
        raise Conflict(locked_message(strategy.name, names))


def lock_for_start(session: Session, strategy_id: int) -> None:
    """Take the strategy's row before a campaign using it starts: waits for an edit in progress."""
    session.scalar(select(Strategy.id).where(Strategy.id == strategy_id).with_for_update(read=True))


def update_strategy(
    session: Session,
    strategy: Strategy,
    *,
    name: str | None = None,
    description: str | None = None,
    max_attempts: int | None = None,
) -> Strategy:
    refuse_if_running(session, strategy)
    if name is not None and name != strategy.name:
        if strategy.builtin:
            raise Conflict(
                f"the built-in {strategy.name} strategy cannot be renamed", loc=("body", "name")
            )
        _check_name_free(session, name, exclude_id=strategy.id)
        strategy.name = name
    if description is not None:
        strategy.description = description
    if max_attempts is not None:
        strategy.max_attempts = max_attempts
    session.flush()
    return strategy


def delete_strategy(session: Session, strategy: Strategy) -> None:
    if strategy.builtin:
        raise Conflict(f"the built-in {strategy.name} strategy cannot be deleted")
    refuse_if_running(session, strategy)
    users = names_using(session, strategy_id=strategy.id)
    if users:
        raise Conflict(
            f"strategy {strategy.name!r} is used by campaign(s) {_quoted(users)}; "
            "give them another strategy first"
        )
    # Goto targets are RESTRICT foreign keys: untie them so the rows can go in any order.
    for attempt in strategy.attempts:
        for rule in attempt.rules:
            rule.target_attempt_id = None
    session.flush()
    session.delete(strategy)
    session.flush()


def get_attempt(strategy: Strategy, attempt_id: int) -> StrategyAttempt:
    for attempt in strategy.attempts:
        if attempt.id == attempt_id:
            return attempt
    raise NotFound(f"attempt {attempt_id} not found in strategy {strategy.id}")


def add_attempt(
    session: Session, strategy: Strategy, spec: AttemptIn, *, position: int | None = None
) -> StrategyAttempt:
    """Append, or insert at ``position``; gotos in ``spec`` name positions before the insert."""
    refuse_if_running(session, strategy)
    ordered = _ordered(strategy)
    count = len(ordered)
    if count >= checks.MAX_STRATEGY_ATTEMPTS:
        raise Conflict(f"strategy {strategy.name!r} already has {count} attempts, the most allowed")
    if position is not None and not 1 <= position <= count + 1:
        # The strategy's current length decides: a conflict with its state, not bad input.
        raise Conflict(f"the position must be 1 to {count + 1}", loc=("body", "position"))
    _check_fields(spec.channel, spec, loc=("body",))
    rules = checks.resolve_rules(
        spec.channel, spec.rules, positions=count, loc=("body",), stored_positions=True
    )
    if spec.channel is Channel.VOICE:
        _refuse_voice(session, strategy)
    targets = {a.position: a.id for a in ordered}
    at = position or count + 1
    _assign_positions(session, [(a, i if i < at else i + 1) for i, a in enumerate(ordered, 1)])
    attempt = _new_attempt(spec, position=at)
    strategy.attempts.append(attempt)
    session.flush()
    _sync_rules(attempt, rules, targets)
    session.flush()
    return attempt


def update_attempt(
    session: Session, strategy: Strategy, attempt: StrategyAttempt, patch: AttemptUpdate
) -> StrategyAttempt:
    """Change the fields given; gotos name current positions."""
    refuse_if_running(session, strategy)
    for field in ("channel", "phone_slot"):
        if field in patch.model_fields_set and getattr(patch, field) is None:
            raise Invalid(("body", field), f"{field} cannot be null")
    channel = patch.channel or attempt.channel
    if patch.channel is None and channel is Channel.VOICE:
        # SMS fields sent for the stored voice attempt: the body is fine, the attempt's
        # current channel refuses it (a 409; with "channel": "voice" it is the body's 422).
        for name in ("sms_template", "sms_expiry_minutes", "sms_mode"):
            if getattr(patch, name) is not None:
                raise Conflict(
                    f"{name} applies to sms attempts only, and this attempt is voice",
                    loc=("body", name),
                )
    switched = channel is not attempt.channel
    fields = _patched_fields(attempt, patch, channel)
    checks.check_attempt_fields(
        channel,
        phone_slot=fields.phone_slot,
        sms_template=fields.sms_template,
        sms_expiry_minutes=fields.sms_expiry_minutes,
        sms_mode=fields.sms_mode,
        loc=("body",),
    )
    ordered = _ordered(strategy)
    positions = {a.id: a.position for a in ordered}
    base = {} if switched else current_rules(attempt, positions)
    rules = checks.resolve_rules(
        channel,
        patch.rules or {},
        positions=len(ordered),
        base=base,
        loc=("body",),
        stored_channel=patch.channel is None,
        stored_positions=True,
    )
    if switched and channel is Channel.VOICE:
        _refuse_voice(session, strategy)
    attempt.channel = channel
    attempt.phone_slot = fields.phone_slot
    attempt.sms_template = fields.sms_template
    attempt.sms_expiry_minutes = fields.sms_expiry_minutes
    attempt.sms_mode = fields.sms_mode or SmsMode.AWAIT_REPLY
    _sync_rules(attempt, rules, {pos: aid for aid, pos in positions.items()})
    session.flush()
    return attempt


@dataclass(frozen=True, slots=True)
class _Fields:
    phone_slot: int
    sms_template: str | None
    sms_expiry_minutes: int | None
    sms_mode: SmsMode | None


def _patched_fields(attempt: StrategyAttempt, patch: AttemptUpdate, channel: Channel) -> _Fields:
    """The attempt's fields after ``patch``; a voice attempt carries no SMS fields over."""
    given = patch.model_fields_set
    keep = channel is Channel.SMS
    return _Fields(
        phone_slot=patch.phone_slot or attempt.phone_slot,
        sms_template=(
            patch.sms_template
            if "sms_template" in given
            else (attempt.sms_template if keep else None)
        ),
        sms_expiry_minutes=(
            patch.sms_expiry_minutes
            if "sms_expiry_minutes" in given
            else (attempt.sms_expiry_minutes if keep else None)
        ),
        sms_mode=patch.sms_mode if "sms_mode" in given else (attempt.sms_mode if keep else None),
    )


def delete_attempt(session: Session, strategy: Strategy, attempt: StrategyAttempt) -> None:
    """Refused while another attempt's goto points here; later attempts move up one."""
    refuse_if_running(session, strategy)
    ordered = _ordered(strategy)
    referrers = [
        f"attempt {other.position} (id {other.id}) on {rule.outcome.value}"
        for other in ordered
        if other.id != attempt.id
        for rule in other.rules
        if rule.target_attempt_id == attempt.id
    ]
    if referrers:
        raise Conflict(
            f"attempt {attempt.position} (id {attempt.id}) is the goto target of "
            f"{', '.join(referrers)}; change those rules first"
        )
    if len(ordered) == 1 and (strategy.builtin or names_using(session, strategy_id=strategy.id)):
        raise Conflict(f"strategy {strategy.name!r} is in use and must keep at least one attempt")
    strategy.attempts.remove(attempt)
    session.flush()
    remaining = [a for a in ordered if a.id != attempt.id]
    _assign_positions(session, [(a, i) for i, a in enumerate(remaining, 1)])


def reorder_attempts(session: Session, strategy: Strategy, attempt_ids: Sequence[int]) -> None:
    """Put the attempts in the given order; goto rules keep pointing at the same attempts."""
    refuse_if_running(session, strategy)
    loc = ("body", "attempt_ids")
    by_id = {a.id: a for a in strategy.attempts}
    repeated = sorted({i for i in attempt_ids if attempt_ids.count(i) > 1})
    if repeated:
        raise Invalid(loc, f"each attempt must appear once; repeated: {_ids(repeated)}")
    # Which ids belong is the strategy's current state: a list that differs is a conflict
    # (someone else added or removed an attempt meanwhile), as 409.
    unknown = [i for i in attempt_ids if i not in by_id]
    if unknown:
        raise Conflict(f"not attempts of strategy {strategy.id}: {_ids(unknown)}", loc=loc)
    missing = sorted(set(by_id) - set(attempt_ids))
    if missing:
        raise Conflict(
            f"every attempt of the strategy must be listed; missing: {_ids(missing)}", loc=loc
        )
    _assign_positions(session, [(by_id[i], pos) for pos, i in enumerate(attempt_ids, 1)])


def ensure_default_strategy(session: Session) -> Strategy:
    """The built-in Default strategy (one SMS attempt), created if missing."""
    existing = session.scalar(
        select(Strategy).where(Strategy.builtin.is_(True)).order_by(Strategy.id).limit(1)
    )
    if existing is not None:
        return existing
    name = DEFAULT_NAME
    if session.scalar(select(Strategy.id).where(func.lower(Strategy.name) == name.lower())):
        name = f"{DEFAULT_NAME} (built-in)"  # an older database already has a "default"
    strategy = Strategy(name=name, description=DEFAULT_DESCRIPTION, max_attempts=10, builtin=True)
    attempt = StrategyAttempt(position=1, channel=Channel.SMS, phone_slot=1)
    attempt.sms_mode = SmsMode.AWAIT_REPLY
    strategy.attempts.append(attempt)
    session.add(strategy)
    session.flush()
    _sync_rules(attempt, checks.default_rules(Channel.SMS), {})
    session.flush()
    return strategy


def _check_fields(channel: Channel, spec: AttemptIn, *, loc: checks.Loc) -> None:
    checks.check_attempt_fields(
        channel,
        phone_slot=spec.phone_slot,
        sms_template=spec.sms_template,
        sms_expiry_minutes=spec.sms_expiry_minutes,
        sms_mode=spec.sms_mode,
        loc=loc,
    )


def _check_name_free(session: Session, name: str, *, exclude_id: int | None = None) -> None:
    query = select(Strategy.id).where(func.lower(Strategy.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Strategy.id != exclude_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(f"a strategy named {name!r} already exists", loc=("body", "name"))


def _refuse_voice(session: Session, strategy: Strategy) -> None:
    """SMS never switches to voice: the built-in and SMS campaigns' strategies stay SMS-only."""
    if strategy.builtin:
        raise Conflict(
            f"the built-in {strategy.name} strategy is for SMS campaigns "
            "and keeps SMS attempts only",
            loc=("body", "channel"),
        )
    names = names_using(session, strategy_id=strategy.id, campaign_type=CampaignType.SMS)
    if names:
        raise Conflict(
            f"strategy {strategy.name!r} is used by SMS campaign(s) {_quoted(names)}, "
            "which place no calls: it may contain SMS attempts only",
            loc=("body", "channel"),
        )


def _new_attempt(spec: AttemptIn, *, position: int) -> StrategyAttempt:
    return StrategyAttempt(
        position=position,
        channel=spec.channel,
        phone_slot=spec.phone_slot,
        sms_template=spec.sms_template,
        sms_expiry_minutes=spec.sms_expiry_minutes,
        sms_mode=spec.sms_mode or SmsMode.AWAIT_REPLY,
    )


def _ordered(strategy: Strategy) -> list[StrategyAttempt]:
    return sorted(strategy.attempts, key=lambda a: a.position)


def current_rules(attempt: StrategyAttempt, positions: Mapping[int, int]) -> dict[Outcome, Rule]:
    """An attempt's rules by outcome, goto targets as positions (``positions``: id -> position)."""
    return {
        rule.outcome: Rule(
            rule.action,
            rule.delay_minutes,
            positions[rule.target_attempt_id] if rule.target_attempt_id else None,
        )
        for rule in attempt.rules
    }


def _sync_rules(
    attempt: StrategyAttempt, rules: Mapping[Outcome, Rule], ids_by_position: Mapping[int, int]
) -> None:
    """Store ``rules`` as the attempt's complete set, updating rows in place.

    In-place updates matter: a flush inserts before it deletes, so replacing a row with a
    new one for the same outcome would trip the (attempt, outcome) unique constraint.
    """
    existing = {row.outcome: row for row in attempt.rules}
    for outcome, rule in rules.items():
        target = ids_by_position[rule.target_position] if rule.target_position else None
        row = existing.pop(outcome, None)
        if row is None:
            row = StrategyRule(outcome=outcome)
            attempt.rules.append(row)
        row.action = rule.action
        row.delay_minutes = rule.delay_minutes
        row.target_attempt_id = target
    for row in existing.values():
        attempt.rules.remove(row)


def _assign_positions(session: Session, moves: Sequence[tuple[StrategyAttempt, int]]) -> None:
    """Give attempts new positions without ever holding two at the same one."""
    moving = [(a, p) for a, p in moves if a.position != p]
    if not moving:
        return
    for attempt, position in moving:
        attempt.position = -position
    session.flush()
    for attempt, position in moving:
        attempt.position = position
    session.flush()


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)
