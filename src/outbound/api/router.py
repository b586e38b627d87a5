"""The v1 API: every domain's routes under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from outbound.agents.endpoints import callbacks_router as callbacks
from outbound.agents.endpoints import reasons_router as agent_reasons
from outbound.agents.endpoints import router as agents
from outbound.api.schemas import ERROR_RESPONSES
from outbound.audit.endpoints import router as audit
from outbound.campaigns.endpoints import router as campaigns
from outbound.channels.kannel.callbacks import router as sms_callbacks
from outbound.contacts.endpoints import router as contacts
from outbound.dnc.endpoints import router as dnc
from outbound.engine.endpoints import router as forecasts
from outbound.imports.endpoints import router as imports
from outbound.reports.endpoints import router as reports
from outbound.schedules.endpoints import router as schedules
from outbound.screenpop.endpoints import router as screen_pop
from outbound.settings.endpoints import router as settings
from outbound.strategies.endpoints import router as strategies
from outbound.users.endpoints import auth_router
from outbound.users.endpoints import router as users
from outbound.webhooks.endpoints import router as webhooks


def build_v1_router() -> APIRouter:
    v1 = APIRouter(prefix="/api/v1")
    routers = (
        auth_router,
        users,
        reports,
        campaigns,
        forecasts,
        strategies,
        schedules,
        contacts,
        imports,
        dnc,
        settings,
        webhooks,
        screen_pop,
        sms_callbacks,
        agents,
        agent_reasons,
        callbacks,
        audit,
    )
    for router in routers:
        v1.include_router(router, responses=ERROR_RESPONSES)
    return v1
