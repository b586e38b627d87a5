"""Campaign pages: the dashboard (live rows, start/stop), a campaign's page, create and edit."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from outbound.amd.params import BOUNDS
from outbound.amd.recommended import RECOMMENDED
from outbound.amd.schemas import AmdSettings, stored
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
    "abandon_message": forms.text,
    "opt_out_digit": forms.text,
    "callback_grace_minutes": forms.integer,
    "callback_after_grace": forms.choice,
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
    "abandon_message": "",
    "opt_out_digit": "9",
    "callback_grace_minutes": 15,
    "callback_after_grace": "any_agent",
    "dispositions": dispositions.to_text(dispositions.default_list()),
}
DIALING_MODES = [
    ("fixed", "Fixed: concurrency and rate only"),
    ("preview", "Preview: the agent sees each contact first"),
    ("progressive", "Progressive: lines per ready agent"),
    ("predictive", "Predictive (not available yet)"),
]
AFTER_WRAP_UP = [("ready", "Ready"), ("not_ready", "Not ready")]
AFTER_GRACE = [("any_agent", "Any agent of the campaign"), ("wait", "Wait for that agent")]
# Answering-machine detection: its inputs are named amd.<field> and sent as one object.
AMD_FIELDS: dict[str, forms.Converter] = {
    "amd.enabled": forms.checkbox,
    "amd.machine_treatment": forms.choice,
    "amd.notsure_as": forms.choice,
    "amd.machine_message": forms.text,
    **{f"amd.{name}": forms.integer for name in BOUNDS},
}
AMD_TREATMENTS = [
    ("hang_up", "Hang up (answering machine)"),
    ("leave_message", "Leave the message after the greeting / beep"),
    ("pass_to_agent", "Pass to an agent anyway"),
]
AMD_NOTSURE = [("human", "Treat as a human"), ("machine", "Treat as a machine")]
AMD_LABELS = {
    "initial_silence": "Initial silence (ms)",
    "greeting": "Greeting (ms)",
    "after_greeting_silence": "After-greeting silence (ms)",
    "total_analysis_time": "Total analysis time (ms)",
    "min_word_length": "Min word length (ms)",
    "between_words_silence": "Between-words silence (ms)",
    "maximum_number_of_words": "Maximum number of words",
    "silence_threshold": "Silence threshold",
    "maximum_word_length": "Maximum word length (ms)",
}


def _amd_params() -> list[tuple[str, str, str]]:
    """Each parameter with its bounds, Asterisk's default and the recommended value."""
    defaults = AmdSettings()
    rows = []
    for name, (low, high) in BOUNDS.items():
        help_text = f"{low}-{high}; default {getattr(defaults, name)}"
        if getattr(RECOMMENDED, name) != getattr(defaults, name):
            help_text += f", recommended {getattr(RECOMMENDED, name)}"
        rows.append((name, AMD_LABELS[name], help_text))
    return rows


def _amd_values(amd: AmdSettings) -> dict[str, Any]:
    return {f"amd.{name}": value for name, value in amd.model_dump().items()}


def _with_amd(form: forms.FormState, converters: dict[str, forms.Converter]) -> dict[str, Any]:
    """The amd.* inputs as the schema's one ``amd`` object (each unreadable one an error on
    its own input), added to the converters ``bind`` uses."""
    amd: dict[str, Any] = {}
    for name, convert in AMD_FIELDS.items():
        raw = form.values.get(name)
        if raw is None and convert is not forms.checkbox:
            continue
        try:
            amd[name.removeprefix("amd.")] = convert(raw)
        except ValueError as exc:
            form.add(name, str(exc))
    form.values["amd"] = json.dumps(amd)
    return {**converters, "amd": json.loads}


def _choices(session: Session) -> dict[str, Any]:
    return {
        "types": [(t.value, label) for t, label in TYPE_LABELS.items()],
        "orders": [("fifo", "FIFO: oldest upload first"), ("lifo", "LIFO: newest upload first")],
        "strategies": [(str(s.id), s.name) for s in list_strategies(session)],
        "schedules": [(str(s.id), s.name) for s in list_schedules(session)],
        "type_labels": {t.value: label for t, label in TYPE_LABELS.items()},
        "dialing_modes": DIALING_MODES,
        "after_wrap_up_choices": AFTER_WRAP_UP,
        "after_grace_choices": AFTER_GRACE,
        "amd_treatments": AMD_TREATMENTS,
        "amd_notsure": AMD_NOTSURE,
        "amd_params": _amd_params(),
    }


def _values(campaign: Campaign) -> dict[str, Any]:
    values = {name: getattr(campaign, name) for name in CREATE_FIELDS}
    values["dispositions"] = dispositions.to_text(campaign.dispositions)
    return values | _amd_values(stored(campaign.amd))


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
    form = forms.FormState.initial(NEW_DEFAULTS | _amd_values(AmdSettings()))
    return render(
        request, "campaigns/form.html", {"form": form, "campaign": None, **_choices(session)}
    )


@router.post("/campaigns/new")
def create(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, CREATE_FIELDS | AMD_FIELDS)
    payload = _bind(form, CampaignCreate, _with_amd(form, CREATE_FIELDS))
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
    form = forms.FormState.submitted(data, UPDATE_FIELDS | AMD_FIELDS)
    payload = _bind(form, CampaignUpdate, _with_amd(form, UPDATE_FIELDS))
    if payload is not None:
        with form.catching(session):
            service.update_campaign(session, campaign, payload, now=now_utc())
            return see_other(request, f"/campaigns/{campaign_id}?saved=1")
        campaign = service.get_campaign(session, str(campaign_id))
    return _page(request, session, campaign, form, status_code=422)
