"""The agents page: supervisors watch every agent's state live (polled every 2 s); admins
create and edit agents (user, SIP address, campaigns) and keep the not-ready reasons."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from outbound.agents import desk, service
from outbound.agents.schemas import AgentCreate, AgentUpdate, ReasonCreate
from outbound.api.deps import DbSession, now_utc
from outbound.api.schemas import IdPath
from outbound.campaigns import service as campaigns
from outbound.campaigns.types import CampaignType
from outbound.models import Agent
from outbound.reports.agents import agent_report, agents_out
from outbound.users import service as users
from outbound.users.roles import may_act_as_agent
from outbound.web import forms
from outbound.web.auth import AdminPage, AdminPost, Form, SupervisorPage
from outbound.web.templating import render, see_other

router = APIRouter()
POLL_SECONDS = 2
FIELDS: dict[str, forms.Converter] = {
    "user_id": forms.optional_integer,
    "sip_address": forms.text,
}
DONE = {
    "created": "Agent created.",
    "saved": "Agent saved.",
    "deleted": "Agent deleted.",
    "reason": "Reasons saved.",
}


def _rows(session: Session) -> list[dict[str, Any]]:
    rows = []
    for agent in service.list_agents(session):
        call = desk.current_call(session, agent)
        rows.append(
            {
                "agent": service.describe(agent),
                "campaigns": {c.id: c.name for c in agent.campaigns},
                "call": call.phone_number if call else None,
            }
        )
    return rows


def _report(session: Session) -> dict[str, Any]:
    """The last 24 hours per agent (GET /reports/agents) and its chart's data."""
    until = now_utc()
    since = until - timedelta(hours=24)
    report = agents_out(agent_report(session, since=since, until=until), since, until)
    series = (
        ("Talk", "talk_seconds", "#2563eb"),
        ("Wrap-up", "wrap_up_seconds", "#7c3aed"),
        ("Ready", "ready_seconds", "#16a34a"),
        ("Reserved", "reserved_seconds", "#0891b2"),
        ("Not ready", "not_ready_seconds", "#d97706"),
    )
    chart = {
        "agents": {
            "labels": [a.username for a in report.agents],
            "datasets": [
                {
                    "label": label,
                    "data": [round(getattr(a, key) / 60, 1) for a in report.agents],
                    "colour": colour,
                }
                for label, key, colour in series
            ],
        }
    }
    return {"report": report, "report_chart": chart, "hms": _hms}


def _hms(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _page(request: Request, session: Session, **extra: Any) -> Response:
    status_code = extra.pop("status_code", 200)
    context: dict[str, Any] = {
        "rows": _rows(session),
        "reasons": service.list_reasons(session),
        "reason_form": forms.FormState.initial(prefix="reason"),
        "done": DONE.get(request.query_params.get("done", "")),
        "poll": POLL_SECONDS,
        **_report(session),
        **extra,
    }
    return render(request, "agents/list.html", context, status_code=status_code)


@router.get("/agents")
def agents_page(request: Request, _caller: SupervisorPage, session: DbSession) -> Response:
    return _page(request, session)


@router.get("/agents/live")
def agents_live(request: Request, _caller: SupervisorPage, session: DbSession) -> Response:
    """The table's body, polled by the page."""
    return render(request, "agents/_rows.html", {"rows": _rows(session)})


# -- admin: agents -----------------------------------------------------------------------------
def _form_page(
    request: Request,
    session: Session,
    form: forms.FormState,
    *,
    agent: Agent | None,
    chosen: set[int],
    status_code: int = 200,
) -> Response:
    taken = {a.user_id for a in service.list_agents(session)}
    candidates = [
        (str(u.id), f"{u.username} ({u.role.value})")
        for u in users.list_users(session)
        if may_act_as_agent(u.role) and u.is_active and u.id not in taken
    ]
    context = {
        "form": form,
        "agent": agent,
        "candidates": candidates,
        "campaigns": campaigns.list_campaigns(session, kind=CampaignType.AGENT),
        "chosen": chosen,
    }
    return render(request, "agents/form.html", context, status_code=status_code)


def _campaign_ids(data: FormData) -> list[int]:
    return [int(v) for v in data.getlist("campaign_ids") if isinstance(v, str) and v.isdigit()]


@router.get("/agents/new")
def new_agent(request: Request, _caller: AdminPage, session: DbSession) -> Response:
    return _form_page(request, session, forms.FormState.initial(), agent=None, chosen=set())


@router.post("/agents/new")
def create_agent(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, FIELDS)
    chosen = _campaign_ids(data)
    if not form.value("user_id"):
        form.add("user_id", "choose the user who takes the calls")
    payload = form.bind(AgentCreate, FIELDS) if form.ok else None
    if payload is not None:
        payload = payload.model_copy(update={"campaign_ids": chosen})
        with form.catching(session):
            service.create_agent(session, payload, now=now_utc())
            return see_other(request, "/agents?done=created")
    return _form_page(request, session, form, agent=None, chosen=set(chosen), status_code=422)


@router.get("/agents/{agent_id}/edit")
def edit_agent(
    request: Request, agent_id: IdPath, _caller: AdminPage, session: DbSession
) -> Response:
    agent = service.get_agent(session, agent_id)
    form = forms.FormState.initial({"sip_address": agent.sip_address})
    chosen = {c.id for c in agent.campaigns}
    return _form_page(request, session, form, agent=agent, chosen=chosen)


@router.post("/agents/{agent_id}/edit")
def save_agent(
    request: Request, agent_id: IdPath, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    agent = service.get_agent(session, agent_id, for_update=True)
    fields = {"sip_address": forms.text}
    form = forms.FormState.submitted(data, fields)
    chosen = _campaign_ids(data)
    payload = form.bind(AgentUpdate, fields)
    if payload is not None:
        payload = payload.model_copy(update={"campaign_ids": chosen})
        with form.catching(session):
            service.update_agent(session, agent, payload, now=now_utc())
            return see_other(request, "/agents?done=saved")
    agent = service.get_agent(session, agent_id)
    return _form_page(request, session, form, agent=agent, chosen=set(chosen), status_code=422)


@router.post("/agents/{agent_id}/delete")
def delete_agent(
    request: Request, agent_id: IdPath, _caller: AdminPost, session: DbSession
) -> Response:
    service.delete_agent(session, service.get_agent(session, agent_id, for_update=True))
    return see_other(request, "/agents?done=deleted")


# -- admin: reasons ----------------------------------------------------------------------------
@router.post("/agents/reasons")
def add_reason(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    fields = {"name": forms.text}
    form = forms.FormState.submitted(data, fields, prefix="reason")
    payload = form.bind(ReasonCreate, fields)
    if payload is not None:
        with form.catching(session):
            service.create_reason(session, payload.name)
            return see_other(request, "/agents?done=reason")
    return _page(request, session, reason_form=form, status_code=422)


@router.post("/agents/reasons/{reason_id}/delete")
def delete_reason(
    request: Request, reason_id: IdPath, _caller: AdminPost, session: DbSession
) -> Response:
    form = forms.FormState(prefix="reason")
    with form.catching(session):
        service.delete_reason(session, service.get_reason(session, reason_id))
        return see_other(request, "/agents?done=reason")
    return _page(request, session, reason_form=form, status_code=409)
