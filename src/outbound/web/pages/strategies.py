"""Strategy editor: the list, one strategy with its ordered attempts and per-outcome rules.

Any user reads; an administrator writes. Every action is a plain form POST answered by a
redirect (or the page again with the errors by their fields, status 422). While a started
campaign uses the strategy every control is disabled with the reason shown, and a form posted
anyway gets the page again with that reason (409). Inputs are named
by their path in the API's body (``rules.busy.delay_minutes``), so the schemas' and the
service's error locations land on the input that holds the wrong value.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession
from outbound.api.schemas import IdPath
from outbound.campaigns.repository import names_using
from outbound.errors import Invalid
from outbound.models import Strategy, StrategyAttempt
from outbound.settings.service import get_settings
from outbound.strategies import service
from outbound.strategies.outcomes import (
    CLOSE_ONLY_OUTCOMES,
    LABELS,
    Channel,
    RuleAction,
    SmsMode,
    rule_outcomes,
)
from outbound.strategies.rules import MAX_SMS_EXPIRY_MINUTES, PHONE_SLOT_MAX, default_rules
from outbound.strategies.schemas import (
    AttemptCreate,
    AttemptOut,
    AttemptUpdate,
    StrategyCreate,
    StrategyUpdate,
    attempt_out,
)
from outbound.web import forms, nesting, rules_text
from outbound.web.auth import AdminPost, Form, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

STRATEGY_FIELDS: dict[str, forms.Converter] = {
    "name": forms.text,
    "description": forms.text,
    "max_attempts": forms.integer,
}
ATTEMPT_FIELDS: dict[str, forms.Converter] = {
    "channel": forms.choice,
    "phone_slot": forms.integer,
    "sms_template": forms.optional_text,
    "sms_expiry_minutes": forms.optional_integer,
    "sms_mode": forms.choice,
}
ACTIONS = [
    (RuleAction.NEXT.value, "Next attempt"),
    (RuleAction.RETRY.value, "Retry"),
    (RuleAction.GOTO.value, "Go to attempt…"),
    (RuleAction.CLOSE.value, "Close"),
]
CHANNELS = [(Channel.VOICE.value, "Voice"), (Channel.SMS.value, "SMS")]
SMS_MODES = [
    (SmsMode.AWAIT_REPLY.value, "Wait for a reply"),
    (SmsMode.SEND_AND_CLOSE.value, "Send and close"),
]
DONE = {
    "created": "Strategy created.",
    "saved": "Saved.",
    "added": "Attempt added.",
    "updated": "Attempt saved.",
    "deleted": "Attempt deleted.",
    "moved": "Attempt moved.",
    "removed": "Strategy deleted.",
}


def _rule_fields(channel: Channel) -> dict[str, forms.Converter]:
    fields: dict[str, forms.Converter] = {}
    for outcome in rule_outcomes(channel):
        fields[f"rules.{outcome.value}.action"] = forms.choice
        fields[f"rules.{outcome.value}.delay_minutes"] = forms.optional_integer
        fields[f"rules.{outcome.value}.attempt"] = forms.optional_integer
    return fields


ALL_RULE_FIELDS = {**_rule_fields(Channel.VOICE), **_rule_fields(Channel.SMS)}


def _channel(raw: str | None) -> Channel | None:
    try:
        return Channel(raw or "")
    except ValueError:
        return None


def _drop_empty_rules(data: dict[str, Any]) -> None:
    """A rule row without an action is left out (the attempt keeps or takes the default)."""
    rules = data.get("rules")
    if isinstance(rules, dict):
        data["rules"] = {k: v for k, v in rules.items() if v.get("action") is not None}


def _attempt_values(out: AttemptOut) -> dict[str, Any]:
    values: dict[str, Any] = {
        "channel": out.channel,
        "phone_slot": out.phone_slot,
        "sms_template": out.sms_template,
        "sms_expiry_minutes": out.sms_expiry_minutes,
        "sms_mode": out.sms_mode,
    }
    for outcome, rule in out.rules.items():
        values[f"rules.{outcome.value}.action"] = rule.action
        close = rule.action is RuleAction.CLOSE
        values[f"rules.{outcome.value}.delay_minutes"] = None if close else rule.delay_minutes
        values[f"rules.{outcome.value}.attempt"] = rule.attempt
    return values


def _new_attempt_values() -> dict[str, Any]:
    values: dict[str, Any] = {"channel": Channel.VOICE, "phone_slot": 1}
    for channel in Channel:
        for outcome, rule in default_rules(channel).items():
            values[f"rules.{outcome.value}.action"] = rule.action
            close = rule.action is RuleAction.CLOSE
            values[f"rules.{outcome.value}.delay_minutes"] = None if close else rule.delay_minutes
    return values


def _common() -> dict[str, Any]:
    return {
        "outcome_labels": {o.value: label for o, label in LABELS.items()},
        "voice_outcomes": [o.value for o in rule_outcomes(Channel.VOICE)],
        "sms_outcomes": [o.value for o in rule_outcomes(Channel.SMS)],
        "close_only": {o.value for o in CLOSE_ONLY_OUTCOMES},
        "actions": ACTIONS,
        "channels": CHANNELS,
        "sms_modes": SMS_MODES,
        "slots": [(str(n), f"Phone {n}") for n in range(1, PHONE_SLOT_MAX + 1)],
        "max_expiry": MAX_SMS_EXPIRY_MINUTES,
    }


def _summary(strategy: Strategy) -> str:
    steps = sorted(strategy.attempts, key=lambda a: a.position)
    return " → ".join(
        f"{'Voice' if a.channel is Channel.VOICE else 'SMS'} (phone {a.phone_slot})" for a in steps
    )


# --- the list ----------------------------------------------------------------------------


def _list_page(
    request: Request, session: Session, form: forms.FormState, *, status_code: int = 200
) -> Response:
    strategies = service.list_strategies(session)
    context = {
        "strategies": strategies,
        "summaries": {s.id: _summary(s) for s in strategies},
        "used_by": {s.id: names_using(session, strategy_id=s.id) for s in strategies},
        "form": form,
        "done": DONE.get(request.query_params.get("done", "")),
    }
    return render(request, "strategies/list.html", context, status_code=status_code)


@router.get("/strategies")
def strategies_page(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    form = forms.FormState.initial({"max_attempts": 10}, prefix="new")
    return _list_page(request, session, form)


@router.post("/strategies")
def create(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, STRATEGY_FIELDS, prefix="new")
    payload = form.bind(StrategyCreate, STRATEGY_FIELDS)
    if payload is not None:
        with form.catching(session):
            strategy = service.create_strategy(
                session,
                name=payload.name,
                description=payload.description,
                max_attempts=payload.max_attempts,
            )
            return see_other(request, f"/strategies/{strategy.id}?done=created")
    return _list_page(request, session, form, status_code=422)


# --- one strategy ------------------------------------------------------------------------


def _page(
    request: Request,
    session: Session,
    strategy_id: int,
    shown: dict[str, forms.FormState] | None = None,
    *,
    done: str | None = None,
    refused: str | None = None,
    status_code: int = 200,
) -> Response:
    strategy = service.get_strategy(session, strategy_id)
    running = service.running_users(session, strategy.id)
    shown = shown or {}
    attempts = sorted(strategy.attempts, key=lambda a: a.position)
    positions = {a.id: a.position for a in attempts}
    outs = [attempt_out(a, positions) for a in attempts]
    attempt_forms = {
        out.id: shown.get(f"a{out.id}")
        or forms.FormState.initial(_attempt_values(out), prefix=f"a{out.id}")
        for out in outs
    }
    settings = shown.get("s") or forms.FormState.initial(
        {name: getattr(strategy, name) for name in STRATEGY_FIELDS}, prefix="s"
    )
    add = shown.get("new") or forms.FormState.initial(_new_attempt_values(), prefix="new")
    context = {
        "strategy": strategy,
        "attempts": outs,
        "attempt_forms": attempt_forms,
        "said": rules_text.said(outs, get_settings(session).default_sms_expiry_minutes),
        # A rules table opens by itself only to show an error in it.
        "rules_open": {key: _rule_error(form) for key, form in attempt_forms.items()},
        "settings": settings,
        "add": add,
        "add_open": not add.ok or (done or request.query_params.get("done")) == "added",
        "add_rules_open": _rule_error(add),
        "delete_form": shown.get("del") or forms.FormState(prefix="del"),
        "used_by": names_using(session, strategy_id=strategy.id),
        "locked": ", ".join(running),
        "refused": refused,
        "done_key": done or request.query_params.get("done", ""),
        "done": DONE,
        **_common(),
    }
    return render(request, "strategies/detail.html", context, status_code=status_code)


def _rule_error(form: forms.FormState) -> bool:
    return any(name.startswith("rules.") for name in form.errors)


def _locked(request: Request, session: Session, strategy: Strategy) -> Response | None:
    """The page again with the reason (409) when a started campaign uses the strategy: its
    controls were disabled, so a post is a stale page or a hand-made request."""
    running = service.running_users(session, strategy.id)
    if not running:
        return None
    message = service.locked_message(strategy.name, running)
    return _page(request, session, strategy.id, refused=message, status_code=409)


@router.get("/strategies/{strategy_id}")
def detail(
    request: Request, strategy_id: IdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    return _page(request, session, strategy_id)


@router.post("/strategies/{strategy_id}")
def update(
    request: Request, strategy_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    form = forms.FormState.submitted(data, STRATEGY_FIELDS, prefix="s")
    payload = form.bind(StrategyUpdate, STRATEGY_FIELDS)
    if payload is not None:
        with form.catching(session):
            service.update_strategy(
                session,
                strategy,
                name=payload.name,
                description=payload.description,
                max_attempts=payload.max_attempts,
            )
            return see_other(request, f"/strategies/{strategy_id}?done=saved")
    return _page(request, session, strategy_id, {"s": form}, status_code=422)


@router.post("/strategies/{strategy_id}/delete")
def delete(
    request: Request, strategy_id: IdPath, _caller: AdminPost, session: DbSession
) -> Response:
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    form = forms.FormState(prefix="del")
    with form.catching(session):
        service.delete_strategy(session, strategy)
        return see_other(request, "/strategies?done=removed")
    return _page(request, session, strategy_id, {"del": form}, status_code=409)


# --- attempts ----------------------------------------------------------------------------


def _attempt_done(
    request: Request, session: Session, strategy_id: int, done: str, anchor: int | None = None
) -> Response:
    """After an attempt changed: htmx swaps the attempts in place; a browser is redirected."""
    if request.headers.get("HX-Request") == "true":
        session.flush()
        session.expire_all()  # the page reads the attempts in their new order
        return _page(request, session, strategy_id, done=done)
    where = f"#attempt-{anchor}" if anchor else ""
    return see_other(request, f"/strategies/{strategy_id}?done={done}{where}")


def _attempt_form(
    data: Any, prefix: str, *, rules_of: Channel | None
) -> tuple[forms.FormState, dict[str, Any] | None]:
    """The submitted attempt form, and its values nested as the API's body (None: unreadable).

    Only the rule rows of ``rules_of`` are read: the channel the rules table belongs to.
    """
    fields = {**ATTEMPT_FIELDS, "position": forms.optional_integer}
    form = forms.FormState.submitted(data, {**fields, **ALL_RULE_FIELDS}, prefix=prefix)
    read = {**fields, **(_rule_fields(rules_of) if rules_of else {})}
    body = nesting.convert(form, read)
    if body is not None:
        _drop_empty_rules(body)
    return form, body


@router.post("/strategies/{strategy_id}/attempts")
def add_attempt(
    request: Request, strategy_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    raw_channel = data.get("channel")
    channel = _channel(raw_channel if isinstance(raw_channel, str) else None)
    form, body = _attempt_form(data, "new", rules_of=channel)
    if body is not None:
        # The SMS fields of the form stay empty on a voice attempt; the service refuses
        # an SMS value there by its field.
        payload = nesting.validate(form, AttemptCreate, body)
        if payload is not None:
            with form.catching(session):
                attempt = service.add_attempt(session, strategy, payload, position=payload.position)
                return _attempt_done(request, session, strategy_id, "added", attempt.id)
    return _page(request, session, strategy_id, {"new": form}, status_code=422)


@router.post("/strategies/{strategy_id}/attempts/{attempt_id}")
def update_attempt(
    request: Request,
    strategy_id: IdPath,
    attempt_id: IdPath,
    _caller: AdminPost,
    data: Form,
    session: DbSession,
) -> Response:
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    attempt = service.get_attempt(strategy, attempt_id)
    raw_channel = data.get("channel")
    channel = _channel(raw_channel if isinstance(raw_channel, str) else None)
    # The rules table shows the current channel's outcomes: after a channel change the
    # service starts from the new channel's defaults, which the page then shows.
    same = channel is attempt.channel
    prefix = f"a{attempt_id}"
    form, body = _attempt_form(data, prefix, rules_of=attempt.channel if same else None)
    if body is not None:
        body.pop("position", None)
        if not same and channel is Channel.VOICE:
            # The SMS fields hide once voice is chosen; what they still hold is the old
            # attempt's, which the switch clears.
            for name in ("sms_template", "sms_expiry_minutes", "sms_mode"):
                body.pop(name, None)
        payload = nesting.validate(form, AttemptUpdate, body)
        if payload is not None:
            with form.catching(session):
                service.update_attempt(session, strategy, attempt, payload)
                return _attempt_done(request, session, strategy_id, "updated", attempt_id)
    return _page(request, session, strategy_id, {prefix: form}, status_code=422)


@router.post("/strategies/{strategy_id}/attempts/{attempt_id}/delete")
def delete_attempt(
    request: Request,
    strategy_id: IdPath,
    attempt_id: IdPath,
    _caller: AdminPost,
    session: DbSession,
) -> Response:
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    attempt = service.get_attempt(strategy, attempt_id)
    form = forms.FormState(prefix=f"a{attempt_id}")
    with form.catching(session):
        service.delete_attempt(session, strategy, attempt)
        return _attempt_done(request, session, strategy_id, "deleted")
    # htmx swaps only 2xx and 422 answers in; a browser without it gets the honest 409.
    status = 422 if request.headers.get("HX-Request") == "true" else 409
    return _page(request, session, strategy_id, {form.prefix: form}, status_code=status)


@router.post("/strategies/{strategy_id}/attempts/{attempt_id}/move")
def move_attempt(
    request: Request,
    strategy_id: IdPath,
    attempt_id: IdPath,
    _caller: AdminPost,
    data: Form,
    session: DbSession,
) -> Response:
    """Swap an attempt with its neighbour (``direction`` up or down); gotos keep targets."""
    strategy = service.get_strategy(session, strategy_id, for_update=True)
    if (locked := _locked(request, session, strategy)) is not None:
        return locked
    attempt = service.get_attempt(strategy, attempt_id)
    order: list[StrategyAttempt] = sorted(strategy.attempts, key=lambda a: a.position)
    index = order.index(attempt)
    step = {"up": -1, "down": 1}.get(str(data.get("direction")))
    if step is None:
        raise Invalid(("body", "direction"), "direction must be 'up' or 'down'")
    other = index + step
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        service.reorder_attempts(session, strategy, [a.id for a in order])
    return _attempt_done(request, session, strategy_id, "moved", attempt_id)
