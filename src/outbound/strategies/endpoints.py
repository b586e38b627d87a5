"""REST routes for strategies and their attempts: any user reads, an admin changes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from outbound.api.deps import Admin, DbSession, Viewer
from outbound.api.schemas import IdPath
from outbound.strategies import service
from outbound.strategies.schemas import (
    AttemptCreate,
    AttemptOrder,
    AttemptOut,
    AttemptUpdate,
    StrategyCreate,
    StrategyOut,
    StrategyUpdate,
    attempt_out,
    strategy_out,
)

router = APIRouter(prefix="/strategies", tags=["strategies"])

# Bounded so that an absurd id is a 422, not a database overflow.
StrategyId = IdPath
AttemptId = IdPath


@router.get("", response_model=list[StrategyOut])
def list_strategies(_user: Viewer, session: DbSession) -> list[StrategyOut]:
    return [strategy_out(s) for s in service.list_strategies(session)]


@router.post("", response_model=StrategyOut, status_code=status.HTTP_201_CREATED)
def create_strategy(body: StrategyCreate, _admin: Admin, session: DbSession) -> StrategyOut:
    """Create a strategy, optionally with its whole ordered list of attempts.

    In this call a goto's ``attempt`` is the 1-based position within ``attempts``.
    """
    strategy = service.create_strategy(
        session,
        name=body.name,
        description=body.description,
        max_attempts=body.max_attempts,
        attempts=body.attempts,
    )
    return strategy_out(strategy)


@router.get("/{strategy_id}", response_model=StrategyOut)
def get_strategy(strategy_id: StrategyId, _user: Viewer, session: DbSession) -> StrategyOut:
    return strategy_out(service.get_strategy(session, strategy_id))


@router.patch("/{strategy_id}", response_model=StrategyOut)
def update_strategy(
    strategy_id: StrategyId, body: StrategyUpdate, _admin: Admin, session: DbSession
) -> StrategyOut:
    strategy = service.update_strategy(
        session,
        service.get_strategy(session, strategy_id, for_update=True),
        name=body.name,
        description=body.description,
        max_attempts=body.max_attempts,
    )
    return strategy_out(strategy)


@router.delete("/{strategy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_strategy(strategy_id: StrategyId, _admin: Admin, session: DbSession) -> Response:
    """Refused for the built-in Default and for a strategy any campaign uses."""
    service.delete_strategy(session, service.get_strategy(session, strategy_id, for_update=True))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{strategy_id}/attempts", response_model=AttemptOut, status_code=status.HTTP_201_CREATED
)
def add_attempt(
    strategy_id: StrategyId, body: AttemptCreate, _admin: Admin, session: DbSession
) -> AttemptOut:
    """Append an attempt, or insert it at ``position`` (later attempts move down one).

    A goto's ``attempt`` names a position as it is before the insert.
    """
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    attempt = service.add_attempt(session, strategy, body, position=body.position)
    return attempt_out(attempt, {a.id: a.position for a in strategy.attempts})


@router.get("/{strategy_id}/attempts/{attempt_id}", response_model=AttemptOut)
def get_attempt(
    strategy_id: StrategyId, attempt_id: AttemptId, _user: Viewer, session: DbSession
) -> AttemptOut:
    strategy = service.get_strategy(session, strategy_id)
    attempt = service.get_attempt(strategy, attempt_id)
    return attempt_out(attempt, {a.id: a.position for a in strategy.attempts})


@router.patch("/{strategy_id}/attempts/{attempt_id}", response_model=AttemptOut)
def update_attempt(
    strategy_id: StrategyId,
    attempt_id: AttemptId,
    body: AttemptUpdate,
    _admin: Admin,
    session: DbSession,
) -> AttemptOut:
    """Change an attempt; ``rules`` is partial and a goto names a current position."""
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    attempt = service.update_attempt(
        session, strategy, service.get_attempt(strategy, attempt_id), body
    )
    return attempt_out(attempt, {a.id: a.position for a in strategy.attempts})


@router.delete("/{strategy_id}/attempts/{attempt_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attempt(
    strategy_id: StrategyId, attempt_id: AttemptId, _admin: Admin, session: DbSession
) -> Response:
    """Refused while another attempt's goto rule targets this one; later attempts move up."""
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    service.delete_attempt(session, strategy, service.get_attempt(strategy, attempt_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{strategy_id}/attempts/order", response_model=StrategyOut)
def reorder_attempts(
    strategy_id: StrategyId, body: AttemptOrder, _admin: Admin, session: DbSession
) -> StrategyOut:
    """Re-order with every attempt id listed once; goto rules keep their target attempts."""
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    service.reorder_attempts(session, strategy, body.attempt_ids)
    return strategy_out(strategy)
