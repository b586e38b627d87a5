"""REST routes for agents: admins manage profiles and reasons, supervisors watch, agents act
on their own state only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import StreamingResponse

from outbound.agents import callbacks, desk, events, preview, service
from outbound.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    CallbackOut,
    CallbackRequest,
    CallOut,
    CampaignChoice,
    DispositionRequest,
    MyCallbackOut,
    PreviewOut,
    ReasonCreate,
    ReasonOut,
    ReasonUpdate,
    SkipRequest,
    StateChangeOut,
    StateRequest,
)
from outbound.api.deps import (
    Admin,
    AgentUser,
    CurrentUser,
    DbSession,
    Supervisor,
    get_database,
    now_utc,
)
from outbound.api.schemas import MAX_ID, BigIdPath, CampaignRefPath, IdPath
from outbound.db.engine import Database

router = APIRouter(prefix="/agents", tags=["agents"])
reasons_router = APIRouter(prefix="/agent-reasons", tags=["agents"])
# A CRM books and cancels callbacks on a campaign's contact (full paths: /campaigns/...).
callbacks_router = APIRouter(tags=["callbacks"])


# -- the agent's own desk (before /{agent_id}) ------------------------------------------------
@router.get("/me", response_model=AgentOut)
def get_me(user: AgentUser, session: DbSession) -> AgentOut:
    """The caller's agent profile and live state."""
    return service.describe(service.my_agent(session, user))


@router.post("/me/state", response_model=AgentOut)
def set_my_state(body: StateRequest, user: AgentUser, session: DbSession) -> AgentOut:
    """``ready``, ``not_ready`` with a ``reason_id``, or ``logged_out`` (409 for a move the
    state machine does not have; reserved, talking and wrap_up are the engine's)."""
    agent = service.my_agent(session, user, for_update=True)
    service.request_state(session, agent, body, user=user, now=now_utc())
    return service.describe(agent)


@router.post("/me/heartbeat", response_model=AgentOut)
def heartbeat(user: AgentUser, session: DbSession) -> AgentOut:
    """The desktop is still there; without one for ``agent_heartbeat_seconds`` a logged-in
    agent is made not ready (Disconnected)."""
    agent = service.my_agent(session, user, for_update=True)
    return service.describe(service.heartbeat(agent, now=now_utc()))


@router.put("/me/campaigns", response_model=AgentOut)
def choose_my_campaigns(body: CampaignChoice, user: AgentUser, session: DbSession) -> AgentOut:
    """Work these of the assigned campaigns now (``active_campaign_ids``); calls of the
    others wait. An empty list takes no call."""
    agent = service.my_agent(session, user, for_update=True)
    return service.describe(service.choose_campaigns(session, agent, body.campaign_ids))


@router.get("/me/call", response_model=CallOut)
def my_call(user: AgentUser, session: DbSession) -> CallOut:
    """The call on the line (talking) or being wrapped up: the screen-pop (contact, business
    parameters, the campaign's script and agent form), the dispositions, the wrap-up's end.
    404 when there is none."""
    return desk.my_call(session, service.my_agent(session, user))


@router.post("/me/call/end", response_model=AgentOut)
def end_my_call(user: AgentUser, session: DbSession) -> AgentOut:
    """The agent is done talking: talking -> wrap_up (409 when not talking)."""
    agent = service.my_agent(session, user, for_update=True)
    return service.describe(desk.end_call(session, agent, user=user, now=now_utc()))


@router.post("/me/call/disposition", response_model=CallOut)
def dispose_my_call(body: DispositionRequest, user: AgentUser, session: DbSession) -> CallOut:
    """End the call with one of its campaign's dispositions and the agent form's values
    (checked against the form). The disposition's outcome becomes the attempt's and the
    contact's strategy applies it; "do not call" lists the number. A talking agent goes to
    wrap-up. Once per call (409 after)."""
    agent = service.my_agent(session, user, for_update=True)
    return desk.dispose(session, agent, body, user=user, now=now_utc())


@router.get("/me/preview", response_model=PreviewOut)
def my_preview(user: AgentUser, session: DbSession) -> PreviewOut:
    """Preview mode: the next contact to call, shown before the call (the ready agent is
    reserved with it; the same contact again until called or skipped). 404 when none of
    the agent's preview campaigns has a contact due; 409 when the agent is not ready."""
    agent = service.my_agent(session, user, for_update=True)
    return preview.show(session, agent, now=now_utc())


@router.post("/me/preview/call", response_model=PreviewOut)
def call_my_preview(user: AgentUser, session: DbSession) -> PreviewOut:
    """Call the contact shown: the engine dials it for this agent (409 when none is shown)."""
    agent = service.my_agent(session, user, for_update=True)
    return preview.call(session, agent, now=now_utc())


@router.post("/me/preview/skip", response_model=AgentOut)
def skip_my_preview(body: SkipRequest, user: AgentUser, session: DbSession) -> AgentOut:
    """Pass the contact shown with a disposition: its outcome follows the strategy (no call
    is made; "do not call" lists its numbers); the agent is ready again."""
    agent = service.my_agent(session, user, for_update=True)
    return service.describe(preview.skip(session, agent, body, user=user, now=now_utc()))


@router.get("/me/callbacks", response_model=list[MyCallbackOut])
def my_callbacks(user: AgentUser, session: DbSession) -> list[MyCallbackOut]:
    """The agent's personal callbacks to come, earliest first, each also on the contact's
    own clock (its number's time zone)."""
    return callbacks.mine(session, service.my_agent(session, user))


@router.get(
    "/me/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Server-Sent Events: `state` (as GET /agents/me), `call` (as GET "
            "/agents/me/call, null when the call is over), `gone`",
        }
    },
)
def my_events(
    user: AgentUser,
    session: DbSession,
    db: Annotated[Database, Depends(get_database)],
    max_seconds: Annotated[
        int, Query(ge=1, le=3600, description="The stream ends after this; clients reconnect")
    ] = 300,
) -> StreamingResponse:
    """The agent's events, pushed as they happen; an open stream is the desktop's heartbeat."""
    agent = service.my_agent(session, user)
    frames = events.stream(db, agent.id, max_seconds=max_seconds, clock=now_utc)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# -- administration and supervision --------------------------------------------------------
@router.get("", response_model=list[AgentOut])
def list_agents(_user: Supervisor, session: DbSession) -> list[AgentOut]:
    """Every agent with its live state and since when."""
    return [service.describe(a) for a in service.list_agents(session)]


@router.post("", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
def create_agent(body: AgentCreate, _user: Admin, session: DbSession) -> AgentOut:
    """Give a user (agent, supervisor or admin) an agent profile; it starts logged out."""
    return service.describe(service.create_agent(session, body, now=now_utc()))


@router.get("/{agent_id}", response_model=AgentOut)
def get_agent(agent_id: IdPath, _user: Supervisor, session: DbSession) -> AgentOut:
    return service.describe(service.get_agent(session, agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def update_agent(agent_id: IdPath, body: AgentUpdate, _user: Admin, session: DbSession) -> AgentOut:
    """Change the SIP address or replace the list of campaigns served."""
    agent = service.get_agent(session, agent_id, for_update=True)
    return service.describe(service.update_agent(session, agent, body, now=now_utc()))


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_agent(agent_id: IdPath, _user: Admin, session: DbSession) -> Response:
    """The profile and its history; the user stays. Refused while the agent is on a call."""
    service.delete_agent(session, service.get_agent(session, agent_id, for_update=True))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{agent_id}/history", response_model=list[StateChangeOut])
def agent_history(
    agent_id: IdPath,
    _user: Supervisor,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Page: ids below this")
    ] = None,
) -> list[StateChangeOut]:
    """The agent's state changes, newest first."""
    agent = service.get_agent(session, agent_id)
    rows = service.history(session, agent, limit=limit, before=before)
    return [StateChangeOut.model_validate(r) for r in rows]


# -- reason codes ----------------------------------------------------------------------------
@reasons_router.get("", response_model=list[ReasonOut])
def list_reasons(_user: CurrentUser, session: DbSession) -> list[ReasonOut]:
    """The not-ready reasons; ``system`` ones are set by the product, not chosen by agents."""
    return [ReasonOut.model_validate(r) for r in service.list_reasons(session)]


@reasons_router.post("", response_model=ReasonOut, status_code=status.HTTP_201_CREATED)
def create_reason(body: ReasonCreate, _user: Admin, session: DbSession) -> ReasonOut:
    return ReasonOut.model_validate(service.create_reason(session, body.name))


@reasons_router.patch("/{reason_id}", response_model=ReasonOut)
def rename_reason(
    reason_id: IdPath, body: ReasonUpdate, _user: Admin, session: DbSession
) -> ReasonOut:
    reason = service.get_reason(session, reason_id)
    return ReasonOut.model_validate(service.rename_reason(session, reason, body.name))


@reasons_router.delete("/{reason_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_reason(reason_id: IdPath, _user: Admin, session: DbSession) -> Response:
    """Refused for a system reason and for one an agent is not ready with right now."""
    service.delete_reason(session, service.get_reason(session, reason_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- callbacks booked by a CRM ---------------------------------------------------------------
CALLBACK_PATH = "/campaigns/{campaign}/contacts/{contact_id}/callback"


@callbacks_router.post(CALLBACK_PATH, response_model=CallbackOut)
def book_callback(
    campaign: CampaignRefPath,
    contact_id: BigIdPath,
    body: CallbackRequest,
    _user: Supervisor,
    session: DbSession,
) -> CallbackOut:
    """Book (or move) a pending contact's callback: its next attempt is due ``at``; with
    ``agent_id`` it is personal (that agent, then any after the campaign's grace time, or
    only that agent as ``callback_after_grace`` says). The DNC list and the calling window
    still apply when it is dialled. 409 for a contact not pending (closed, or on a call)."""
    return callbacks.describe(
        callbacks.schedule(session, campaign, contact_id, body, now=now_utc())
    )


@callbacks_router.delete(CALLBACK_PATH, response_model=CallbackOut)
def cancel_callback(
    campaign: CampaignRefPath, contact_id: BigIdPath, _user: Supervisor, session: DbSession
) -> CallbackOut:
    """Drop the contact's booked callback: it is due again at once, for any agent (404 when
    none is booked)."""
    return callbacks.describe(callbacks.cancel(session, campaign, contact_id, now=now_utc()))
