"""REST routes for settings: any user reads, an admin changes."""

from __future__ import annotations

from fastapi import APIRouter

from outbound.api.deps import Admin, DbSession, Viewer
from outbound.settings import service
from outbound.settings.schemas import SettingsOut, SettingsUpdate

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", response_model=SettingsOut)
def read_settings(_user: Viewer, session: DbSession) -> SettingsOut:
    return service.redacted(service.get_settings(session))


@router.patch("", response_model=SettingsOut)
def update_settings(body: SettingsUpdate, _admin: Admin, session: DbSession) -> SettingsOut:
    return service.redacted(service.update_settings(session, body))
