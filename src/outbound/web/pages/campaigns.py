"""Campaign pages: the dashboard (live rows, start/stop), a campaign's page, create and edit."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession, now_utc
from outbound.api.schemas import IdPath
from outbound.campaigns import dispositions, service
from outbound.campaigns.schemas import CampaignCreate, CampaignUpdate
from outbound.campaigns.types import CampaignType, ContactOrder
from outbound.models import Campaign
from outbound.schedules.service import list_schedules
from outbound.strategies.service import list_strategies
from outbound.web import charts, forms
from outbound.web.auth import AdminPage, AdminPost, Form, SupervisorPost, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()
M = TypeVar("M", bound=BaseModel)

UPDATE_FIELDS: dict[str, forms.Converter] = {
    "name": forms.text,
    "crm_campaign_id": forms.optional_text,
    "description": forms.text,
    "strategy_id": forms.optional_integer,
    "schedule_id": forms.optional_integer,
    "dialer_target": forms.text,
    "sms_template": forms.text,
    "agent_script": forms.text,
    "contact_order": forms.choice,
    "fresh_first": forms.checkbox,
    "max_concurrent_calls": forms.integer,
    "max_calls_per_second": forms.decimal,
    "priority": forms.integer,
    "dialing_mode": forms.choice,
    "lines_per_agent": forms.decimal,
    "wrap_up_seconds": forms.integer,
    "after_wrap_up": forms.choice,
    "dispositions": lambda raw: dispositions.from_text(raw or ""),
}
CREATE_FIELDS: dict[str, forms.Converter] = {"type": forms.choice, **UPDATE_FIELDS}
TYPE_LABELS = {
    CampaignType.AGENT: "Agent",
    CampaignType.IVR: "IVR",
    CampaignType.AUTOMATED: "Automated",
    CampaignType.SMS: "SMS",
}
NEW_DEFAULTS = {
    "type": CampaignType.AGENT,
    "contact_order": ContactOrder.FIFO,
    "max_concurrent_calls": 10,
    "max_calls_per_second": 5.0,
    "priority": 1,
    "dialing_mode": "fixed",
    "lines_per_agent": 1.0,
    "wrap_up_seconds": 60,
    "after_wrap_up": "ready",
    "dispositions": dispositions.to_text(dispositions.default_list()),
}
DIALING_MODES = [
    ("fixed", "Fixed: concurrency and rate only"),
    ("preview", "Preview: only while agents are ready"),
    ("progressive", "Progressive: lines per ready agent"),
    ("predictive", "Predictive (not available yet)"),
]
AFTER_WRAP_UP = [("ready", "Ready"), ("not_ready", "Not ready")]


def _choices(session: Session) -> dict[str, Any]:
    return {
        "types": [(t.value, label) for t, label in TYPE_LABELS.items()],
        "orders": [("fifo", "FIFO: oldest upload first"), ("lifo", "LIFO: newest upload first")],
        "strategies": [(str(s.id), s.name) for s in list_strategies(session)],
        "schedules": [(str(s.id), s.name) for s in list_schedules(session)],
        "type_labels": {t.value: label for t, label in TYPE_LABELS.items()},
        "dialing_modes": DIALING_MODES,
        "after_wrap_up_choices": AFTER_WRAP_UP,
    }


def _values(campaign: Campaign) -> dict[str, Any]:
    values = {name: getattr(campaign, name) for name in CREATE_FIELDS}
    values["dispositions"] = dispositions.to_text(campaign.dispositions)
    return values


def _bind(form: forms.FormState, schema: type[M], fields: dict[str, forms.Converter]) -> M | None:
    """``form.bind``, with a disposition's error shown under the text box by its line."""
    payload = form.bind(schema, fields)
    for key in [k for k in form.errors if k.startswith("dispositions.")]:
        index = key.split(".")[1]
        line = f"line {int(index) + 1}: " if index.isdigit() else ""
        for message in form.errors.pop(key):
            form.add("dispositions", f"{line}{message}")
    return payload


# --- dashboard -------------------------------------------------------------------------


def _rows(request: Request, session: Session) -> Response:
    rows = charts.dashboard(session, now=now_utc())
    context = {"rows": rows, "type_labels": _choices(session)["type_labels"]}
    return render(request, "campaigns/_rows.html", context)


@router.get("/")
def dashboard(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    rows = charts.dashboard(session, now=now_utc())
    context = {"rows": rows, "type_labels": {t.value: n for t, n in TYPE_LABELS.items()}}
    return render(request, "campaigns/dashboard.html", context)


@router.get("/campaigns/rows")
def dashboard_rows(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    """The dashboard's table body, polled by htmx every few seconds."""
    return _rows(request, session)


def _toggle(request: Request, session: DbSession, campaign_id: int, *, start: bool) -> Response:
    campaign = service.get_campaign(session, str(campaign_id), for_update=True)
    if start:
        service.start_campaign(session, campaign, now=now_utc())
    else:
        service.stop_campaign(session, campaign, now=now_utc())
    if request.headers.get("HX-Request") == "true":
        return _rows(request, session)
    back = "/" if request.query_params.get("back") == "dashboard" else f"/campaigns/{campaign_id}"
    return see_other(request, back)


@router.post("/campaigns/{campaign_id}/start")
def start(
    request: Request, campaign_id: IdPath, _caller: SupervisorPost, session: DbSession
) -> Response:
    return _toggle(request, session, campaign_id, start=True)


@router.post("/campaigns/{campaign_id}/stop")
def stop(
    request: Request, campaign_id: IdPath, _caller: SupervisorPost, session: DbSession
) -> Response:
    return _toggle(request, session, campaign_id, start=False)


# --- create ----------------------------------------------------------------------------


@router.get("/campaigns/new")
def new_form(request: Request, _caller: AdminPage, session: DbSession) -> Response:
    form = forms.FormState.initial(NEW_DEFAULTS)
    return render(
        request, "campaigns/form.html", {"form": form, "campaign": None, **_choices(session)}
    )


@router.post("/campaigns/new")
def create(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, CREATE_FIELDS)
    payload = _bind(form, CampaignCreate, CREATE_FIELDS)
    if payload is not None:
        with form.catching(session):
            campaign = service.create_campaign(session, payload, now=now_utc())
            return see_other(request, f"/campaigns/{campaign.id}")
    context = {"form": form, "campaign": None, **_choices(session)}
    return render(request, "campaigns/form.html", context, status_code=422)


# --- one campaign ----------------------------------------------------------------------


def _page(
    request: Request,
    session: Session,
    campaign: Campaign,
    form: forms.FormState,
    *,
    status_code: int = 200,
) -> Response:
    context = {
        "campaign": campaign,
        "form": form,
        "stats": charts.campaign_stats(session, campaign.id, now=now_utc()),
        **_choices(session),
    }
    return render(request, "campaigns/detail.html", context, status_code=status_code)


@router.get("/campaigns/{campaign_id}")
def detail(
    request: Request, campaign_id: IdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    campaign = service.get_campaign(session, str(campaign_id))
    return _page(request, session, campaign, forms.FormState.initial(_values(campaign)))


@router.get("/campaigns/{campaign_id}/stats")
def stats(
    request: Request, campaign_id: IdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    """The live part of a campaign's page (figures and charts), polled by htmx."""
    campaign = service.get_campaign(session, str(campaign_id))
    context = {
        "campaign": campaign,
        "stats": charts.campaign_stats(session, campaign.id, now=now_utc()),
    }
    return render(request, "campaigns/_stats.html", context)


@router.post("/campaigns/{campaign_id}")
def update(
    request: Request,
    campaign_id: IdPath,
    _caller: AdminPost,
    data: Form,
    session: DbSession,
) -> Response:
    campaign = service.get_campaign(session, str(campaign_id), for_update=True)
    form = forms.FormState.submitted(data, UPDATE_FIELDS)
    payload = _bind(form, CampaignUpdate, UPDATE_FIELDS)
    if payload is not None:
        with form.catching(session):
            service.update_campaign(session, campaign, payload, now=now_utc())
            return see_other(request, f"/campaigns/{campaign_id}?saved=1")
        campaign = service.get_campaign(session, str(campaign_id))
    return _page(request, session, campaign, form, status_code=422)
