"""ORM tables, one module per table family. Importing this package registers them all."""

from outbound.models.agent import Agent, AgentReason, AgentStateChange, agent_campaigns
from outbound.models.agent_reservation import AgentReservation
from outbound.models.attempt import Attempt
from outbound.models.audit import AuditEntry
from outbound.models.campaign import Campaign
from outbound.models.cisco_feed import CiscoFeed
from outbound.models.contact import PARAM_SLOTS, PHONE_SLOTS, Contact
from outbound.models.dnc import DncEntry
from outbound.models.import_job import ImportJob, ImportReject, ImportSource, ImportStatus
from outbound.models.login_throttle import LoginThrottle
from outbound.models.schedule import Schedule, ScheduleBlackout, ScheduleWindow
from outbound.models.setting import Setting
from outbound.models.sms_inbox import SmsInbox
from outbound.models.sms_reply import SmsReply
from outbound.models.strategy import Strategy, StrategyAttempt, StrategyRule
from outbound.models.user import ApiToken, TokenKind, User
from outbound.models.webhook import DeliveryStatus, WebhookEvent, WebhookSubscription
from outbound.models.worker import Worker

__all__ = [
    "PARAM_SLOTS",
    "PHONE_SLOTS",
    "Agent",
    "AgentReason",
    "AgentReservation",
    "AgentStateChange",
    "ApiToken",
    "Attempt",
    "AuditEntry",
    "Campaign",
    "CiscoFeed",
    "Contact",
    "DeliveryStatus",
    "DncEntry",
    "ImportJob",
    "ImportReject",
    "ImportSource",
    "ImportStatus",
    "LoginThrottle",
    "Schedule",
    "ScheduleBlackout",
    "ScheduleWindow",
    "Setting",
    "SmsInbox",
    "SmsReply",
    "Strategy",
    "StrategyAttempt",
    "StrategyRule",
    "TokenKind",
    "User",
    "WebhookEvent",
    "WebhookSubscription",
    "Worker",
    "agent_campaigns",
]
