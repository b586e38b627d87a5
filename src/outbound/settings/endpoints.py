"""REST routes for settings: any user reads, an admin changes."""

from __future__ import annotations

from fastapi import APIRouter

from outbound.api.deps import Admin, DbSession, Viewer
from outbound.settings import service
from outbound.settings.schemas import (
    DialerTest,
    DialerTestResult,
    SettingsOut,
    SettingsUpdate,
)

router = APIRouter(prefix="/settings", tags=["settings"])


@router.get("", response_model=SettingsOut)
def read_settings(_user: Viewer, session: DbSession) -> SettingsOut:
    return service.redacted(service.get_settings(session))


@router.patch("", response_model=SettingsOut)
def update_settings(body: SettingsUpdate, _admin: Admin, session: DbSession) -> SettingsOut:
    return service.redacted(service.update_settings(session, body))


@router.post(
    "/dialer/test",
    response_model=DialerTestResult,
    summary="Test a dialer connection",
    description=(
        "Reaches the dialer with the given connection (kind and options; a masked secret "
        "means the stored one) or, without a body, with the stored one, and says what each "
        "check found. Nothing is saved. A Cisco dialer checks its API (and, for UCCE, the "
        "Dialer_Detail table of its results database); the built-in kinds have nothing to "
        "reach. Every answer is a 200 saying what was found: ``ok`` false names the failed "
        "check, options the kind refuses included (check ``options``, naming each option)."
    ),
)
def check_dialer(
    _admin: Admin, session: DbSession, body: DialerTest | None = None
) -> DialerTestResult:
    return service.check_dialer_connection(session, body)
