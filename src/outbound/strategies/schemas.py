"""API shapes for strategies, their attempts and per-outcome rules."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from outbound.api.schemas import MAX_ID, NoNul, Strict, not_null
from outbound.models import Strategy, StrategyAttempt
from outbound.strategies import rules as checks
from outbound.strategies.outcomes import (
    CLOSE_ONLY_OUTCOMES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
    SmsMode,
    rule_outcomes,
)

StrategyName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Description = Annotated[str, StringConstraints(max_length=1000), NoNul]
MaxAttempts = Annotated[int, Field(ge=1, le=100, description="Cap on total attempts per contact")]
# Outcome keys are checked by the service so that the error can say which outcomes exist.
OutcomeKey = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Position = Annotated[int, Field(ge=1, le=checks.MAX_STRATEGY_ATTEMPTS)]
PhoneSlot = Annotated[int, Field(ge=1, le=checks.PHONE_SLOT_MAX)]
SmsTemplate = Annotated[
    str, StringConstraints(min_length=1, max_length=checks.MAX_SMS_TEMPLATE_CHARS), NoNul
]
SmsExpiry = Annotated[int, Field(ge=1, le=checks.MAX_SMS_EXPIRY_MINUTES)]


def _rule_by_action(schema: dict[str, Any]) -> None:
    """The document's form of the rule checks: close takes no delay, only goto takes (and
    needs) an attempt."""
    no_attempt = {"attempt": {"type": "null"}}
    schema["oneOf"] = [
        {
            "properties": {
                "action": {"const": RuleAction.CLOSE.value},
                "delay_minutes": {"enum": [0, None]},
                **no_attempt,
            }
        },
        {
            "properties": {
                "action": {"const": RuleAction.GOTO.value},
                "attempt": {"type": "integer"},
            },
            "required": ["action", "attempt"],
        },
        {
            "properties": {
                "action": {"enum": [RuleAction.NEXT.value, RuleAction.RETRY.value]},
                **no_attempt,
            }
        },
    ]


class RuleIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_rule_by_action)

    action: RuleAction
    delay_minutes: Annotated[int, Field(ge=0, le=checks.MAX_DELAY_MINUTES)] | None = Field(
        default=None, description="Omitted: the outcome's current delay (default for a new attempt)"
    )
    attempt: Position | None = Field(
        default=None,
        description="goto only: the 1-based position of the target attempt (in POST /strategies, "
        "the position within the given attempts list; elsewhere the current position)",
    )


RulesIn = Annotated[
    dict[OutcomeKey, RuleIn],
    Field(max_length=len(Outcome), description="Partial: the outcomes given override the rest"),
]


def _rules_for(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Rules keyed by these outcomes only; an outcome that always closes takes only close."""
    keys = list(dict.fromkeys(outcomes))
    close = {"properties": {"action": {"const": RuleAction.CLOSE.value}}}
    return {
        "propertyNames": {"enum": [o.value for o in keys]},
        "properties": {o.value: close for o in keys if o in CLOSE_ONLY_OUTCOMES},
    }


def _sms_fields_on_sms_only(schema: dict[str, Any]) -> None:
    """The document's form of the service's rules: a voice attempt has no SMS fields (null
    or absent), each channel takes rules for its own outcomes; a PATCH without ``channel``
    is judged against the stored one (409)."""
    required = "channel" in schema.get("required", [])
    voice: dict[str, Any] = {"properties": {"channel": {"const": Channel.VOICE.value}}}
    voice["properties"] |= {name: {"type": "null"} for name in SMS_FIELDS}
    voice["properties"]["rules"] = _rules_for(rule_outcomes(Channel.VOICE))
    sms = {
        "properties": {
            "channel": {"const": Channel.SMS.value},
            "rules": _rules_for(rule_outcomes(Channel.SMS)),
        }
    }
    variants: list[dict[str, Any]] = [sms, voice]
    if not required:
        either = (*rule_outcomes(Channel.VOICE), *rule_outcomes(Channel.SMS))
        variants.append(
            {"not": {"required": ["channel"]}, "properties": {"rules": _rules_for(either)}}
        )
    for variant in variants[:2]:
        variant["required"] = ["channel"]
    schema["anyOf"] = variants


SMS_FIELDS = ("sms_template", "sms_expiry_minutes", "sms_mode")


class AttemptIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_sms_fields_on_sms_only)

    channel: Channel
    phone_slot: PhoneSlot = 1
    sms_template: SmsTemplate | None = Field(
        default=None, description="sms only; null: the campaign's SMS template"
    )
    sms_expiry_minutes: SmsExpiry | None = Field(
        default=None, description="sms only; null: the default SMS expiry setting"
    )
    sms_mode: SmsMode | None = Field(default=None, description="sms only; null: await_reply")
    rules: RulesIn = Field(default_factory=dict)


class AttemptCreate(AttemptIn):
    position: Position | None = Field(
        default=None, description="Insert at this position (1..n+1); omitted: append"
    )


class AttemptUpdate(Strict):
    """Fields given change. Switching to voice clears the SMS fields; switching channel
    resets the rules to the new channel's defaults before ``rules`` applies."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_sms_fields_on_sms_only)

    channel: Channel | None = Field(
        default=None, json_schema_extra=not_null
    )  # never null: the service refuses it
    phone_slot: PhoneSlot | None = Field(default=None, json_schema_extra=not_null)
    sms_template: SmsTemplate | None = None
    sms_expiry_minutes: SmsExpiry | None = None
    sms_mode: SmsMode | None = None
    rules: RulesIn | None = None


class StrategyCreate(Strict):
    name: StrategyName
    description: Description = ""
    max_attempts: MaxAttempts = 10
    attempts: Annotated[list[AttemptIn], Field(max_length=checks.MAX_STRATEGY_ATTEMPTS)] = Field(
        default_factory=list
    )


class StrategyUpdate(Strict):
    """Fields given change; none of them may be null."""

    name: StrategyName | None = Field(default=None, json_schema_extra=not_null)
    description: Description | None = Field(default=None, json_schema_extra=not_null)
    max_attempts: MaxAttempts | None = Field(default=None, json_schema_extra=not_null)

    @field_validator("name", "description", "max_attempts")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the client sent: an explicit null is a mistake, not "unchanged".
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep it")
        return value


class AttemptOrder(Strict):
    attempt_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Field(
            max_length=checks.MAX_STRATEGY_ATTEMPTS,
            json_schema_extra={"uniqueItems": True},
            description="Every attempt of the strategy, each once, in the new order",
        ),
    ]


class RuleOut(BaseModel):
    action: RuleAction
    delay_minutes: int
    attempt: int | None = Field(description="goto only: the target's current position")


class AttemptOut(BaseModel):
    id: int
    position: int
    channel: Channel
    phone_slot: int
    sms_template: str | None
    sms_expiry_minutes: int | None
    sms_mode: SmsMode | None
    rules: dict[Outcome, RuleOut]


class StrategyOut(BaseModel):
    id: int
    name: str
    description: str
    max_attempts: int
    builtin: bool
    created_at: datetime
    updated_at: datetime
    attempts: list[AttemptOut]


def attempt_out(attempt: StrategyAttempt, positions: dict[int, int]) -> AttemptOut:
    """``positions`` maps every attempt id of the strategy to its current position."""
    stored = {
        rule.outcome: Rule(
            rule.action,
            rule.delay_minutes,
            positions.get(rule.target_attempt_id) if rule.target_attempt_id else None,
        )
        for rule in attempt.rules
    }
    sms = attempt.channel is Channel.SMS
    return AttemptOut(
        id=attempt.id,
        position=attempt.position,
        channel=attempt.channel,
        phone_slot=attempt.phone_slot,
        sms_template=attempt.sms_template if sms else None,
        sms_expiry_minutes=attempt.sms_expiry_minutes if sms else None,
        sms_mode=attempt.sms_mode if sms else None,
        rules={
            outcome: RuleOut(
                action=rule.action, delay_minutes=rule.delay_minutes, attempt=rule.target_position
            )
            for outcome, rule in checks.materialise(attempt.channel, stored).items()
        },
    )


def strategy_out(strategy: Strategy) -> StrategyOut:
    attempts = sorted(strategy.attempts, key=lambda a: a.position)
    positions = {a.id: a.position for a in attempts}
    return StrategyOut(
        id=strategy.id,
        name=strategy.name,
        description=strategy.description,
        max_attempts=strategy.max_attempts,
        builtin=strategy.builtin,
        created_at=strategy.created_at,
        updated_at=strategy.updated_at,
        attempts=[attempt_out(a, positions) for a in attempts],
    )
