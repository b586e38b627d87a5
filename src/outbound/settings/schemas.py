"""Administrator settings (REQUIREMENTS §8): their shapes, limits and defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from outbound.api.schemas import not_null
from outbound.dnc.optout import DEFAULT_OPT_OUT_WORDS, MAX_ENTRIES, check_entry

# Channel options never shown back (an SMSC password, a callback secret): reads show the
# mask, and a save that sends the mask back keeps the stored value.
SECRET_OPTIONS = frozenset({"password", "secret", "results_password"})
MASK = "********"
DIALER_KINDS = ("simulator", "sip", "cisco_uccx", "cisco_ucce")
SMS_GATEWAY_KINDS = ("simulator", "smpp", "http")

FolderPath = Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\x00]+$")]
# One opt-out entry: a word or a few ("opt out"); each bad entry is refused by its index.
# In the document as a pattern: 1 to 4 words of letters or digits, separated by spaces or a
# hyphen (the service also refuses an entry over 40 characters once its spaces are collapsed,
# and the same entry twice).
_WORD = "[^\\W_]+"
OPT_OUT_PATTERN = f"^\\s*{_WORD}(?:(?:\\s+|-){_WORD}){{0,3}}\\s*$"
OptOutEntry = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(check_entry),
    WithJsonSchema({"type": "string", "maxLength": 200, "pattern": OPT_OUT_PATTERN}),
]


class ChannelConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)] = "simulator"
    options: Annotated[dict[str, Any], Field(max_length=50)] = Field(default_factory=dict)


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with its local ``$ref``s replaced by the definitions they name."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def _options_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A kind's options as its adapter validates them; a secret may be sent back masked
    (the stored one is kept, see settings.service)."""
    full = model.model_json_schema(mode="validation")
    options: dict[str, Any] = _inline(full, full.get("$defs", {}))
    for name, field in options.get("properties", {}).items():
        if name in SECRET_OPTIONS:
            options["properties"][name] = {"anyOf": [field, {"const": MASK}]}
    return options


def _branch(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """One kind's shape: a kind with required options needs ``options`` too."""
    required = [] if kind == "simulator" else ["kind"]
    if options.get("required"):
        required.append("options")
    return {
        "properties": {"kind": {"const": kind}, "options": options},
        **({"required": required} if required else {}),
    }


def _kinds(registry: str) -> Callable[[dict[str, Any]], None]:
    """The document lists the known kinds and, for each, the options its adapter takes
    (``oneOf`` by ``kind``; no kind is the simulator). The validators below say which
    kinds exist; the adapter's own validation names a bad option by its path."""

    def amend(schema: dict[str, Any]) -> None:
        from outbound.channels import registry as channels  # the adapters import settings

        models = {kind: model for kind, (model, _) in getattr(channels, registry).items()}
        schema["properties"]["kind"] = {"type": "string", "enum": list(models)}
        schema["oneOf"] = [_branch(kind, _options_schema(model)) for kind, model in models.items()]

    return amend


class DialerConnection(ChannelConnection):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_kinds("DIALERS"))

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DIALER_KINDS:
            raise ValueError(f"unknown dialer {value!r}; known: {', '.join(DIALER_KINDS)}")
        return value


class SmsGatewayConnection(ChannelConnection):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_kinds("SMS_GATEWAYS"))

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in SMS_GATEWAY_KINDS:
            known = ", ".join(SMS_GATEWAY_KINDS)
            raise ValueError(f"unknown SMS gateway {value!r}; known: {known}")
        return value


RegionCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=3),
    # Case-blind to people: "gb" is GB.
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(
                phonenumbers.SUPPORTED_REGIONS | {r.lower() for r in phonenumbers.SUPPORTED_REGIONS}
            ),
        }
    ),
]


def _check_region(value: str | None) -> str | None:
    """A region code in capitals (``gb`` is GB: the codes are case-blind to people)."""
    if value is None:
        return None
    if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a region code such as US, GB or FR")
    return value.upper()


class SettingsOut(BaseModel):
    feed_batch_size: int = 500
    watch_folder: str | None = None
    archive_folder: str | None = None
    poll_interval_seconds: int = 30
    dangling_timeout_minutes: int = 60
    default_sms_expiry_minutes: int = 1440
    default_region: str = "US"
    opt_out_words: list[str] = Field(default_factory=lambda: list(DEFAULT_OPT_OUT_WORDS))
    max_upload_bytes: int = 100 * 2**20  # a contact file; larger uploads get a 413
    max_json_body_bytes: int = 8 * 2**20  # any other request body (a 10,000-contact batch fits)
    # A logged-in agent whose desktop sends no heartbeat for this long is made not ready.
    agent_heartbeat_seconds: int = 30
    dialer: DialerConnection = Field(default_factory=DialerConnection)
    sms_gateway: SmsGatewayConnection = Field(default_factory=SmsGatewayConnection)


class SettingsUpdate(BaseModel):
    """Only the fields given change; ``null`` clears a folder."""

    model_config = ConfigDict(extra="forbid")

    # Only the folders may be null; the service refuses a null anywhere else.
    feed_batch_size: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    watch_folder: FolderPath | None = None
    archive_folder: FolderPath | None = None
    poll_interval_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    dangling_timeout_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    default_sms_expiry_minutes: Annotated[int, Field(ge=1, le=43_200)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    default_region: RegionCode | None = Field(default=None, json_schema_extra=not_null)
    opt_out_words: (
        Annotated[list[OptOutEntry], Field(min_length=1, max_length=MAX_ENTRIES)] | None
    ) = Field(default=None, json_schema_extra=not_null)
    max_upload_bytes: Annotated[int, Field(ge=2**10, le=2**40)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    max_json_body_bytes: Annotated[int, Field(ge=2**10, le=2**30)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    agent_heartbeat_seconds: Annotated[int, Field(strict=True, ge=5, le=3600)] | None = Field(
        default=None, json_schema_extra=not_null
    )
    dialer: DialerConnection | None = Field(default=None, json_schema_extra=not_null)
    sms_gateway: SmsGatewayConnection | None = Field(default=None, json_schema_extra=not_null)

    _region = field_validator("default_region")(_check_region)


class DialerTest(BaseModel):
    """A dialer to try: its kind and options as they would be saved (a masked secret means
    the stored one). Options the kind refuses are reported as a failed check."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        json_schema_extra={"enum": list(DIALER_KINDS)}
    )
    options: Annotated[dict[str, Any], Field(max_length=50)] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DIALER_KINDS:
            raise ValueError(f"unknown dialer {value!r}; known: {', '.join(DIALER_KINDS)}")
        return value


class ConnectionCheck(BaseModel):
    name: str
    ok: bool
    detail: str


class DialerTestResult(BaseModel):
    """What "test connection" found: ``ok`` when every check passed."""

    kind: str
    ok: bool
    checks: list[ConnectionCheck]
