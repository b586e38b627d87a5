"""Why a campaign is idle: each reason from its facts, in operator order, and the windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from outbound.reports.idle import (
    Facts,
    IdleReason,
    Window,
    campaign_window,
    explain,
    local_window,
)
from outbound.schedules.calendar import Calendar
from outbound.strategies.outcomes import Channel

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # a Friday; 09:00 New York, 06:00 LA
WEEKDAYS_9_TO_17 = Calendar.build([(d, 540, 1020) for d in range(5)])
NEVER = Calendar.build([])
NY_NUMBER, LA_NUMBER, TOKYO_NUMBER = "+12125550100", "+16502530001", "+81312345678"

DIALLING = Facts(
    running=True,
    has_contacts=True,
    has_open=True,
    window=Window(True),
    in_flight=2,
    max_concurrent=10,
    pending_due=5,
    next_due_at=NOW - timedelta(minutes=3),
    live_workers=1,
)


def test_all_clear_means_dialling() -> None:
    verdict = explain(DIALLING, now=NOW)
    assert verdict.dialling and verdict.reason is None and verdict.until is None
    assert "5 contacts due" in verdict.detail and "2 of 10" in verdict.detail


def test_a_stopped_campaign_is_stopped_whatever_else_is_wrong() -> None:
    facts = replace(DIALLING, running=False, has_contacts=False, live_workers=0)
    verdict = explain(facts, now=NOW)
    assert verdict.reason is IdleReason.STOPPED and not verdict.dialling
    assert verdict.until is None and "stopped" in verdict.detail


def test_no_contacts_before_all_closed() -> None:
    facts = replace(DIALLING, has_contacts=False, has_open=False)
    assert explain(facts, now=NOW).reason is IdleReason.NO_CONTACTS


def test_all_closed() -> None:
    verdict = explain(replace(DIALLING, has_open=False, pending_due=0), now=NOW)
    assert verdict.reason is IdleReason.ALL_CLOSED and verdict.until is None


def test_outside_the_window_until_it_opens() -> None:
    opens = NOW + timedelta(hours=3)
    facts = replace(DIALLING, window=Window(False, opens, zone="Europe/Paris"), in_flight=10)
    verdict = explain(facts, now=NOW)
    assert verdict.reason is IdleReason.OUTSIDE_WINDOW and verdict.until == opens
    assert verdict.detail == (
        "outside the schedule's windows in Europe/Paris until 2026-11-27 17:00 UTC"
    )


def test_a_schedule_that_never_opens_has_no_until() -> None:
    facts = replace(DIALLING, window=Window(False, None, zone="UTC"))
    verdict = explain(facts, now=NOW)
    assert verdict.reason is IdleReason.OUTSIDE_WINDOW and verdict.until is None
    assert "no open window in UTC" in verdict.detail


def test_capacity_full_when_every_concurrent_call_is_used_and_contacts_wait() -> None:
    verdict = explain(replace(DIALLING, in_flight=10), now=NOW)
    assert verdict.reason is IdleReason.CAPACITY_FULL and "all 10" in verdict.detail
    assert explain(replace(DIALLING, in_flight=9), now=NOW).dialling


def test_full_capacity_with_nothing_due_says_nothing_is_due() -> None:
    """Capacity holds nothing back when no contact is due: the calls out are all there is."""
    later = NOW + timedelta(minutes=42)
    verdict = explain(replace(DIALLING, in_flight=10, pending_due=0, next_due_at=later), now=NOW)
    assert verdict.reason is IdleReason.NO_CONTACT_DUE and verdict.until == later
    verdict = explain(replace(DIALLING, in_flight=10, pending_due=0, next_due_at=None), now=NOW)
    assert verdict.reason is IdleReason.NO_CONTACT_DUE
    assert "wait for a result" in verdict.detail


def test_nothing_due_until_the_next_contact_is() -> None:
    later = NOW + timedelta(minutes=42)
    verdict = explain(replace(DIALLING, pending_due=0, next_due_at=later), now=NOW)
    assert verdict.reason is IdleReason.NO_CONTACT_DUE and verdict.until == later
    assert verdict.detail == "no contact is due until 2026-11-27 14:42 UTC"


def test_nothing_due_while_every_open_contact_waits_for_a_result() -> None:
    verdict = explain(replace(DIALLING, pending_due=0, next_due_at=None), now=NOW)
    assert verdict.reason is IdleReason.NO_CONTACT_DUE and verdict.until is None
    assert "wait for a result" in verdict.detail


def test_an_sms_wait_already_over_gives_no_past_until() -> None:
    verdict = explain(replace(DIALLING, pending_due=0, next_due_at=NOW), now=NOW)
    assert verdict.reason is IdleReason.NO_CONTACT_DUE and verdict.until is None


def test_channel_down_when_no_worker_is_alive() -> None:
    verdict = explain(replace(DIALLING, live_workers=0), now=NOW)
    assert verdict.reason is IdleReason.CHANNEL_DOWN
    assert verdict.detail == "no engine worker is running"


@pytest.mark.parametrize(
    ("zone", "is_open", "opens_at"),
    [
        ("America/New_York", True, None),
        ("America/Los_Angeles", False, datetime(2026, 11, 27, 17, 0, tzinfo=UTC)),
    ],
)
def test_campaign_window_in_its_own_zone(zone: str, is_open: bool, opens_at: datetime) -> None:
    window = campaign_window(WEEKDAYS_9_TO_17, zone, NOW)
    assert window.open is is_open and window.opens_at == opens_at and window.zone == zone


def test_campaign_window_that_never_opens() -> None:
    window = campaign_window(NEVER, "UTC", NOW)
    assert not window.open and window.opens_at is None


def test_local_window_is_open_when_any_sampled_number_may_be_called() -> None:
    window = local_window(WEEKDAYS_9_TO_17, "UTC", [LA_NUMBER, NY_NUMBER, NY_NUMBER], NOW)
    assert window.open and window.sample == 2


def test_local_window_closed_opens_at_the_earliest_sampled_opening() -> None:
    # 06:00 in LA (opens 17:00 UTC), 23:00 Friday in Tokyo (opens Monday 09:00 = 00:00 UTC).
    window = local_window(WEEKDAYS_9_TO_17, "UTC", [TOKYO_NUMBER, LA_NUMBER], NOW)
    assert not window.open and window.sample == 2
    assert window.opens_at == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    verdict = explain(replace(DIALLING, window=window), now=NOW)
    assert verdict.reason is IdleReason.OUTSIDE_WINDOW and verdict.until == window.opens_at
    assert "due contacts' local time (2 time zones sampled)" in verdict.detail


def test_local_window_judges_an_unplaced_number_in_the_schedule_zone() -> None:
    unplaced = "+999123456"
    assert local_window(WEEKDAYS_9_TO_17, "America/New_York", [unplaced], NOW).open
    assert not local_window(WEEKDAYS_9_TO_17, "Asia/Tokyo", [unplaced], NOW).open


def test_local_window_without_due_numbers_is_not_a_reason() -> None:
    assert local_window(NEVER, "UTC", [], NOW).open


def test_channel_down_only_when_every_due_contact_needs_a_down_channel() -> None:
    sms_down = replace(DIALLING, channels_down=frozenset({Channel.SMS}))
    texts = explain(replace(sms_down, due_channels=frozenset({Channel.SMS})), now=NOW)
    assert texts.reason is IdleReason.CHANNEL_DOWN and "SMS gateway" in texts.detail
    calls = explain(replace(sms_down, due_channels=frozenset({Channel.VOICE})), now=NOW)
    assert calls.dialling
    both = frozenset({Channel.VOICE, Channel.SMS})
    assert explain(replace(sms_down, due_channels=both), now=NOW).dialling
    all_down = replace(DIALLING, due_channels=both, channels_down=both)
    verdict = explain(all_down, now=NOW)
    assert verdict.reason is IdleReason.CHANNEL_DOWN
    assert "the dialer and the SMS gateway take nothing" in verdict.detail


def test_a_dialer_that_says_why_it_takes_nothing_is_quoted() -> None:
    voice = frozenset({Channel.VOICE})
    note = "the trunk answered 503 Service Unavailable; Retry-After 20 s: no calls until 10:00:20"
    paused = replace(DIALLING, due_channels=voice, channels_down=voice, dialer_notes=(note,))
    verdict = explain(paused, now=NOW)
    assert verdict.reason is IdleReason.CHANNEL_DOWN and verdict.detail.endswith("; " + note)
    texts = frozenset({Channel.SMS})
    sms_only = replace(paused, due_channels=texts, channels_down=texts | voice)
    assert note not in explain(sms_only, now=NOW).detail  # not the SMS gateway's reason
