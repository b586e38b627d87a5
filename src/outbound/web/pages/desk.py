"""The agent desktop (``/agent``): log in, choose campaigns, ready / not ready with a reason,
and on a call the screen-pop, the agent form, the disposition and the wrap-up timer.

The page polls ``/agent/desk`` every 2 s with the key of what it shows; the answer is 204
(nothing changed: the form being filled stays as typed) or the desk again. Each poll is the
desktop's heartbeat. Every action posts to the same services as the CTI API.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from outbound.agents import callbacks, desk, preview, service
from outbound.agents.schemas import DispositionRequest, SkipRequest, StateRequest
from outbound.agents.wrapup import FormProblem, check_form
from outbound.api.deps import DbSession, now_utc
from outbound.campaigns.dispositions import DispositionOutcome
from outbound.campaigns.types import DialingMode
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Agent, User
from outbound.web import forms
from outbound.web.auth import AgentPage, AgentPost, Form, PageCaller
from outbound.web.templating import render, see_other

router = APIRouter()
POLL_SECONDS = 2


def _me(session: Session, caller: PageCaller, *, for_update: bool = False) -> Agent | None:
    user = session.get(User, caller.user.id)
    assert user is not None
    try:
        return service.my_agent(session, user, for_update=for_update)
    except NotFound:
        return None


def _key(session: Session, agent: Agent) -> str:
    """What the desk shows, condensed: a poll with the same key changes nothing."""
    call = desk.current_call(session, agent)
    parts = (
        agent.state.value,
        agent.state_since.isoformat(),
        agent.reason_id,
        call.id if call else None,
        call.disposition if call else None,
        tuple(service.active_campaign_ids(agent)),
        tuple(c.id for c in agent.campaigns),
        tuple((c.contact_id, c.callback_at) for c in callbacks.mine(session, agent)),
        _previewing(session, agent),
    )
    return hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:16]


def _desk(
    request: Request,
    session: Session,
    agent: Agent | None,
    *,
    form: forms.FormState | None = None,
    status_code: int = 200,
    fragment: bool = False,
) -> Response:
    context: dict[str, Any] = {"agent": agent, "form": form or forms.FormState.initial()}
    if agent is not None:
        call = desk.current_call(session, agent)
        context |= {
            "me": service.describe(agent),
            "key": _key(session, agent),
            "reasons": [r for r in service.list_reasons(session) if not r.system],
            "campaigns": agent.campaigns,
            "active": set(service.active_campaign_ids(agent)),
            "call": desk.describe_call(session, agent, call) if call else None,
            "callbacks": callbacks.mine(session, agent),
            "preview": _preview_of(session, agent),
            "previews": _has_preview_campaign(agent),
            "poll": POLL_SECONDS,
            "local_time": _local_time,
        }
    template = "agents/_desk.html" if fragment else "agents/desk.html"
    return render(request, template, context, status_code=status_code)


def _previewing(session: Session, agent: Agent) -> tuple[int | None, bool] | None:
    row = preview.mine(session, agent)
    return (row.contact_id, row.dial_requested_at is not None) if row is not None else None


def _preview_of(session: Session, agent: Agent) -> Any:
    row = preview.mine(session, agent)
    return preview.describe(session, row) if row is not None else None


def _has_preview_campaign(agent: Agent) -> bool:
    return any(c.dialing_mode is DialingMode.PREVIEW for c in agent.campaigns)


def _after(request: Request, session: Session, agent: Agent, form: forms.FormState) -> Response:
    """An action's answer: the desk again (htmx), or back to the page."""
    if request.headers.get("HX-Request") == "true":
        code = 422 if not form.ok else 200
        return _desk(request, session, agent, form=form, status_code=code, fragment=True)
    if form.ok:
        return see_other(request, "/agent")
    return _desk(request, session, agent, form=form, status_code=422)


@router.get("/agent")
def desk_page(request: Request, caller: AgentPage, session: DbSession) -> Response:
    agent = _me(session, caller, for_update=True)
    if agent is not None:
        service.heartbeat(agent, now=now_utc())
    return _desk(request, session, agent)


@router.get("/agent/desk")
def desk_poll(request: Request, caller: AgentPage, session: DbSession, key: str = "") -> Response:
    """The page's poll (and heartbeat): 204 while nothing it shows has changed."""
    agent = _me(session, caller, for_update=True)
    if agent is None:
        return _desk(request, session, agent, fragment=True)
    service.heartbeat(agent, now=now_utc())
    if key == _key(session, agent):
        return Response(status_code=204)
    return _desk(request, session, agent, fragment=True)


def _agent_or_404(session: Session, caller: PageCaller) -> Agent:
    agent = _me(session, caller, for_update=True)
    if agent is None:
        raise NotFound(f"user {caller.user.username!r} has no agent profile")
    return agent


@router.post("/agent/state")
def set_state(request: Request, caller: AgentPost, data: Form, session: DbSession) -> Response:
    agent = _agent_or_404(session, caller)
    form = forms.FormState.submitted(
        data, {"state": forms.choice, "reason_id": forms.optional_integer}
    )
    body = form.bind(StateRequest, {"state": forms.choice, "reason_id": forms.optional_integer})
    if body is not None:
        user = session.get(User, caller.user.id)
        assert user is not None
        with form.catching(session):
            service.request_state(session, agent, body, user=user, now=now_utc())
        agent = _agent_or_404(session, caller)  # as it is now (after a refusal's rollback)
    return _after(request, session, agent, form)


@router.post("/agent/campaigns")
def choose_campaigns(
    request: Request, caller: AgentPost, data: Form, session: DbSession
) -> Response:
    agent = _agent_or_404(session, caller)
    form = forms.FormState()
    chosen = []
    for raw in data.getlist("campaign_ids"):
        if isinstance(raw, str) and raw.isdigit():
            chosen.append(int(raw))
    with form.catching(session):
        service.choose_campaigns(session, agent, chosen)
    return _after(request, session, _agent_or_404(session, caller), form)


@router.post("/agent/end")
def end_call(request: Request, caller: AgentPost, session: DbSession) -> Response:
    agent = _agent_or_404(session, caller)
    user = session.get(User, caller.user.id)
    assert user is not None
    form = forms.FormState()
    with form.catching(session):
        desk.end_call(session, agent, user=user, now=now_utc())
    return _after(request, session, _agent_or_404(session, caller), form)


@router.post("/agent/dispose")
def dispose(request: Request, caller: AgentPost, data: Form, session: DbSession) -> Response:
    agent = _agent_or_404(session, caller)
    user = session.get(User, caller.user.id)
    assert user is not None
    call = desk.current_call(session, agent)
    form = forms.FormState(
        values={k: v for k, v in data.multi_items() if isinstance(v, str)}, prefix="call"
    )
    if call is None:
        form.add(None, "there is no call to dispose of now")
        return _after(request, session, agent, form)
    fields = desk.describe_call(session, agent, call).screen_pop.campaign.agent_form
    values: dict[str, Any] = {}
    for spec in fields:
        raw = data.get(f"form_values.{spec.name}")
        text = raw.strip() if isinstance(raw, str) else ""
        if spec.type == "checkbox":
            values[spec.name] = raw is not None
        elif spec.type == "number" and text:
            try:
                values[spec.name] = float(text) if "." in text else int(text)
            except ValueError:
                form.add(f"form_values.{spec.name}", f"{spec.label}: {text!r} is not a number")
        elif text:
            values[spec.name] = text
    code = data.get("disposition")
    if not isinstance(code, str) or not code:
        form.add("disposition", "choose how the call ended")
    view = desk.describe_call(session, agent, call)
    chosen = next((d for d in view.dispositions if d.code == code), None)
    callback_at = None
    if chosen is not None and chosen.outcome is DispositionOutcome.CALLBACK_REQUESTED:
        callback_at = _callback_at(form, data, view.contact_zones)
    if not form.ok:  # say what else is wrong in the same answer: the form's own check
        try:
            check_form([f.model_dump() for f in view.screen_pop.campaign.agent_form], values)
        except FormProblem as problem:
            form.add(f"form_values.{problem.field}" if problem.field else None, str(problem))
    if form.ok and isinstance(code, str):
        try:
            body = DispositionRequest(disposition=code, form_values=values, callback_at=callback_at)
        except ValueError:
            form.add("disposition", "choose one of the dispositions listed")
        else:
            try:
                desk.dispose(session, agent, body, user=user, now=now_utc())
            except (Invalid, Conflict, NotFound) as exc:
                session.rollback()
                form.refuse(exc)
    return _after(request, session, _agent_or_404(session, caller), form)


@router.post("/agent/preview")
def show_preview(request: Request, caller: AgentPost, session: DbSession) -> Response:
    """The next contact of the agent's preview campaigns, shown before the call."""
    agent = _agent_or_404(session, caller)
    form = forms.FormState()
    with form.catching(session):
        preview.show(session, agent, now=now_utc())
    return _after(request, session, _agent_or_404(session, caller), form)


@router.post("/agent/preview/call")
def call_preview(request: Request, caller: AgentPost, session: DbSession) -> Response:
    agent = _agent_or_404(session, caller)
    form = forms.FormState()
    with form.catching(session):
        preview.call(session, agent, now=now_utc())
    return _after(request, session, _agent_or_404(session, caller), form)


@router.post("/agent/preview/skip")
def skip_preview(request: Request, caller: AgentPost, data: Form, session: DbSession) -> Response:
    agent = _agent_or_404(session, caller)
    user = session.get(User, caller.user.id)
    assert user is not None
    form = forms.FormState(values={k: v for k, v in data.multi_items() if isinstance(v, str)})
    code = data.get("disposition")
    if not isinstance(code, str) or not code:
        form.add("disposition", "choose why the contact is skipped")
    else:
        try:
            body = SkipRequest(disposition=code)
        except ValueError:
            form.add("disposition", "choose one of the dispositions listed")
        else:
            with form.catching(session):
                preview.skip(session, agent, body, user=user, now=now_utc())
    return _after(request, session, _agent_or_404(session, caller), form)


def _callback_at(form: forms.FormState, data: FormData, zones: list[str]) -> datetime | None:
    """The callback time as the agent typed it, in the contact's zone (one of the number's
    candidate zones, the first by default); a form error when missing or unreadable."""
    raw = data.get("callback_at")
    zone = data.get("callback_zone")
    zone = zone if isinstance(zone, str) and zone in zones else zones[0]
    if not isinstance(raw, str) or not raw.strip():
        form.add("callback_at", "give the date and time the customer asked to be called")
        return None
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        form.add("callback_at", f"{raw!r} is not a date and time (YYYY-MM-DD HH:MM)")
        return None
    return local.replace(tzinfo=ZoneInfo(zone)) if local.tzinfo is None else local


def _local_time(at: datetime, zone: str) -> str:
    return f"{at.astimezone(ZoneInfo(zone)):%a %Y-%m-%d %H:%M}"
