"""Campaigns: the rules of REQUIREMENTS §1 on creating, changing, deleting, starting, stopping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.amd.schemas import AmdSettings, MachineTreatment, stored
from outbound.campaigns import repository
from outbound.campaigns.rules import crm_id_problem, name_problem
from outbound.campaigns.schemas import CampaignCreate, CampaignUpdate
from outbound.campaigns.types import CampaignType, DialingMode
from outbound.errors import Conflict, Invalid
from outbound.models import Campaign, Schedule, Strategy
from outbound.schedules.service import default_schedule
from outbound.strategies.service import ensure_default_strategy, lock_for_start, strategy_has_voice

# A PATCH may set this one field to null (removing the CRM id); the others must keep a value.
NULLABLE = frozenset({"crm_campaign_id"})
# Plain fields a PATCH copies as given once the checks above them passed.
SIMPLE_FIELDS = (
    "description",
    "dialer_target",
    "sms_template",
    "agent_script",
    "contact_order",
    "fresh_first",
    "max_concurrent_calls",
    "max_calls_per_second",
    "priority",
    "dialing_mode",
    "lines_per_agent",
    "wrap_up_seconds",
    "after_wrap_up",
    "abandon_message",
    "opt_out_digit",
    "callback_grace_minutes",
    "callback_after_grace",
)


def list_campaigns(
    session: Session, *, running: bool | None = None, kind: CampaignType | None = None
) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.id)
    if running is not None:
        query = query.where(Campaign.running.is_(running))
    if kind is not None:
        query = query.where(Campaign.type == kind)
    return list(session.scalars(query))


def get_campaign(session: Session, ref: str, *, for_update: bool = False) -> Campaign:
    """By id ("12") or CRM id ("crm:ABC"); 404 otherwise."""
    return repository.get_by_ref(session, ref, for_update=for_update)


def create_campaign(session: Session, data: CampaignCreate, *, now: datetime) -> Campaign:
    """A new campaign is stopped; SMS campaigns may leave the strategy to the Default one."""
    _check_name(session, data.name)
    _check_dialing_mode(data.type, data.dialing_mode)
    _check_amd(data.type, data.dialer_target, data.amd)
    if data.crm_campaign_id is not None:
        _check_crm_id(session, data.crm_campaign_id)
    strategy = _strategy_for(session, data.type, data.strategy_id)
    schedule = _schedule(session, data.schedule_id)
    campaign = Campaign(
        name=data.name,
        crm_campaign_id=data.crm_campaign_id,
        type=data.type,
        running=False,
        strategy_id=strategy.id,
        schedule_id=schedule.id,
        import_seq=0,
        created_at=now,
        updated_at=now,
    )
    for field in SIMPLE_FIELDS:
        setattr(campaign, field, getattr(data, field))
    campaign.agent_form = [f.model_dump() for f in data.agent_form]
    campaign.amd = data.amd.model_dump(mode="json")
    campaign.dispositions = [d.model_dump(mode="json") for d in data.dispositions]
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(
    session: Session, campaign: Campaign, patch: CampaignUpdate, *, now: datetime
) -> Campaign:
    """Change the fields given; every check runs before anything changes."""
    given = patch.model_fields_set
    _check_patch_shape(campaign, patch)
    if patch.dialing_mode is not None:
        _check_dialing_mode(campaign.type, patch.dialing_mode)
    amd = _patched_amd(campaign, patch)
    if patch.name is not None and patch.name != campaign.name:
        _check_name(session, patch.name, exclude_id=campaign.id)
    crm_changes = "crm_campaign_id" in given and patch.crm_campaign_id != campaign.crm_campaign_id
    if crm_changes and patch.crm_campaign_id is not None:
        _check_crm_id(session, patch.crm_campaign_id, exclude_id=campaign.id)
    strategy = _changed_strategy(session, campaign, patch.strategy_id)
    schedule = _schedule(session, patch.schedule_id) if patch.schedule_id is not None else None
    if strategy is not None:
        campaign.strategy_id = strategy.id
    if schedule is not None:
        campaign.schedule_id = schedule.id
    if patch.name is not None:
        campaign.name = patch.name
    if crm_changes:
        campaign.crm_campaign_id = patch.crm_campaign_id
    for field in SIMPLE_FIELDS:
        if field in given:
            setattr(campaign, field, getattr(patch, field))
    if patch.agent_form is not None:
        campaign.agent_form = [f.model_dump() for f in patch.agent_form]
    if amd is not None:
        campaign.amd = amd.model_dump(mode="json")
    if patch.dispositions is not None:
        campaign.dispositions = [d.model_dump(mode="json") for d in patch.dispositions]
    campaign.updated_at = now
    session.flush()
    return campaign


def delete_campaign(session: Session, campaign: Campaign) -> None:
    """Delete a stopped campaign with its contacts and history (the database cascades)."""
    if campaign.running:
        raise Conflict(f"campaign {campaign.name!r} is running; stop it first")
    session.delete(campaign)
    session.flush()


def start_campaign(session: Session, campaign: Campaign, *, now: datetime) -> Campaign:
    """Idempotent: starting a running campaign keeps its original start time.

    The strategy's row is taken first, so a start waits for an edit of that strategy in
    progress and the edit, once it has the row, sees this campaign running and is refused.
    """
    if not campaign.running:
        lock_for_start(session, campaign.strategy_id)
        campaign.running = True
        campaign.started_at = now
        campaign.updated_at = now
        session.flush()
    return campaign


def stop_campaign(session: Session, campaign: Campaign, *, now: datetime) -> Campaign:
    """Idempotent. Nothing new goes to the dialer; attempts already handed over finish."""
    if campaign.running:
        campaign.running = False
        campaign.stopped_at = now
        campaign.updated_at = now
        session.flush()
    return campaign


def _check_patch_shape(campaign: Campaign, patch: CampaignUpdate) -> None:
    for field in patch.model_fields_set - NULLABLE:
        if getattr(patch, field) is None:
            raise Invalid(("body", field), f"{field} cannot be null; leave it out to keep it")
    if patch.type is not None and patch.type is not campaign.type:
        raise Invalid(
            ("body", "type"),
            f"the type of a campaign is fixed once it exists (this one is {campaign.type.value}); "
            "create a new campaign for another type",
        )


def _check_dialing_mode(kind: CampaignType, mode: DialingMode) -> None:
    """Predictive has its slot but no pacing controller yet; paced modes need agents."""
    loc = ("body", "dialing_mode")
    if mode is DialingMode.PREDICTIVE:
        raise Invalid(
            loc, "predictive dialing is not available yet; use fixed, preview or progressive"
        )
    if mode is not DialingMode.FIXED and kind is not CampaignType.AGENT:
        raise Invalid(
            loc,
            f"{mode.value} dialing paces calls for agents: only an Agent campaign may use it "
            f"(this one is {kind.value}; use fixed)",
        )


def _patched_amd(campaign: Campaign, patch: CampaignUpdate) -> AmdSettings | None:
    """The detection settings after the PATCH, checked against the campaign as it will be;
    None when neither they nor the message they may leave change."""
    if patch.amd is None and patch.dialer_target is None:
        return None
    if patch.amd is not None and (null := patch.amd.null_field()) is not None:
        raise Invalid(("body", "amd", null), f"{null} cannot be null; leave it out to keep it")
    current = stored(campaign.amd)
    amd = patch.amd.applied_to(current) if patch.amd is not None else current
    target = patch.dialer_target if patch.dialer_target is not None else campaign.dialer_target
    _check_amd(campaign.type, target, amd)
    return amd if patch.amd is not None else None


def _check_amd(kind: CampaignType, dialer_target: str, amd: AmdSettings) -> None:
    """Detection settings that fit the campaign: checked once detection is on."""
    if not amd.enabled:
        return
    if kind is CampaignType.SMS:
        raise Invalid(
            ("body", "amd", "enabled"),
            "answering-machine detection listens to answered calls: an SMS campaign has none",
        )
    if amd.machine_treatment is MachineTreatment.TO_AGENT and (kind is CampaignType.AUTOMATED):
        raise Invalid(
            ("body", "amd", "machine_treatment"),
            "an Automated campaign has no agent to pass a machine to: use hang_up or leave_message",
        )
    own_message = dialer_target if kind is CampaignType.AUTOMATED else ""
    if amd.machine_treatment is MachineTreatment.LEAVE_MESSAGE and not (
        amd.machine_message or own_message
    ):
        raise Invalid(
            ("body", "amd", "machine_message"),
            "leave_message needs the audio file to leave on the machine: set machine_message"
            + (" (or the campaign's dialer_target)" if kind is CampaignType.AUTOMATED else ""),
        )


def _changed_strategy(
    session: Session, campaign: Campaign, strategy_id: int | None
) -> Strategy | None:
    """The new strategy a PATCH asks for, or None when it keeps the current one."""
    if strategy_id is None or strategy_id == campaign.strategy_id:
        return None
    if campaign.running:
        raise Conflict(
            f"campaign {campaign.name!r} is running: its strategy can only be changed "
            "while it is stopped; stop it first",
            loc=("body", "strategy_id"),
        )
    return _strategy_for(session, campaign.type, strategy_id)


def _check_name(session: Session, name: str, *, exclude_id: int | None = None) -> None:
    problem = name_problem(name)
    if problem is not None:
        raise Invalid(("body", "name"), problem)
    query = select(Campaign.id).where(func.lower(Campaign.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(
            f"a campaign named {name!r} already exists (names ignore case)", loc=("body", "name")
        )


def _check_crm_id(session: Session, crm_id: str, *, exclude_id: int | None = None) -> None:
    problem = crm_id_problem(crm_id)
    if problem is not None:
        raise Invalid(("body", "crm_campaign_id"), problem)
    query = select(Campaign.name).where(Campaign.crm_campaign_id == crm_id)
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    other = session.scalar(query.limit(1))
    if other is not None:
        raise Conflict(
            f"crm_campaign_id {crm_id!r} already belongs to campaign {other!r}",
            loc=("body", "crm_campaign_id"),
        )


def _strategy_for(session: Session, kind: CampaignType, strategy_id: int | None) -> Strategy:
    """The strategy a campaign of this type may use: it exists, and SMS never turns to voice."""
    if strategy_id is None:
        if kind is not CampaignType.SMS:
            raise Invalid(
                ("body", "strategy_id"),
                f"an {kind.value} campaign must name its strategy_id "
                "(only SMS campaigns default to the built-in Default strategy)",
            )
        return ensure_default_strategy(session)
    strategy = session.get(Strategy, strategy_id)
    if strategy is None:
        # Which strategies exist is the server's state, not the request's shape: 409.
        raise Conflict(f"strategy {strategy_id} does not exist", loc=("body", "strategy_id"))
    if kind is CampaignType.SMS and strategy_has_voice(session, strategy.id):
        raise Invalid(
            ("body", "strategy_id"),
            f"strategy {strategy.name!r} has voice attempts; an SMS campaign may only use "
            "a strategy made of SMS attempts",
        )
    return strategy


def _schedule(session: Session, schedule_id: int | None) -> Schedule:
    if schedule_id is None:
        return default_schedule(session)
    schedule = session.get(Schedule, schedule_id)
    if schedule is None:
        raise Conflict(f"schedule {schedule_id} does not exist", loc=("body", "schedule_id"))
    return schedule
