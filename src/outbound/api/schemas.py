"""Schema pieces shared by every domain's API."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

T = TypeVar("T")


class Strict(BaseModel):
    """Input bodies: unknown fields are refused (422 naming the field), never ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated listing; pass ``next_after`` as ``after`` for the next."""

    items: list[T]
    next_after: int | None


class ErrorOut(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str]
    field: str
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    detail: list[FieldError]


# Documented on every v1 route, so clients (and the schema fuzzer) know the error shapes.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "Malformed request"},
    401: {"model": ErrorOut, "description": "Missing, unknown, expired or revoked token"},
    403: {"model": ErrorOut, "description": "The caller's role does not allow this"},
    404: {"model": ErrorOut, "description": "No such resource"},
    409: {"model": ErrorOut, "description": "Conflicts with the current state"},
    413: {
        "model": ErrorOut,
        "description": "The body is over the size limit (settings max_json_body_bytes, "
        "max_upload_bytes)",
    },
    422: {"model": ValidationErrorOut, "description": "A field is invalid; `field` names it"},
    429: {"model": ErrorOut, "description": "Too many failed log-ins; see Retry-After"},
    503: {"model": ErrorOut, "description": "The database refuses writes or cannot be reached"},
    507: {"model": ErrorOut, "description": "Storage full: the database cannot grow"},
}


# Ids are bounded so that no database is asked for a number its column cannot hold:
# most tables have INTEGER keys, contacts, attempts and DNC entries BIGINT ones.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
CampaignRefPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=140,
        description='The campaign\'s id, or its CRM id written "crm:<crm_campaign_id>"',
    ),
]
BigIdPath = Annotated[int, Path(ge=1, le=MAX_BIG_ID)]


# A phone number as written: what the services' precheck lets through to phonenumbers (at
# most 28 characters, digits and + ( ) . - / and spaces, a digit at least). Whether it is a
# real number for its region is decided there, so the document names it "format: phone".
PHONE_CHARS = r"^\s*\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*\s*$"
PHONE_HELP = "A phone number: E.164 (+33612345678) or national, read in the default region"


def phone_schema(*, optional: bool = False) -> WithJsonSchema:
    """The document's shape of a phone field; ``optional``: "" also means "none"."""
    pattern = PHONE_CHARS if not optional else f"^$|{PHONE_CHARS}"
    return WithJsonSchema(
        {
            "type": "string",
            "format": "phone",
            "minLength": 0 if optional else 1,
            "maxLength": 28,
            "description": f"{PHONE_HELP}; digits, spaces, + ( ) . - / (pattern {pattern})",
        }
    )


def no_nul(value: str) -> str:
    """PostgreSQL cannot store NUL in text: refuse it as bad input, not fail on insert."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    return value


def not_null(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` of an optional field the server refuses as null: drop the null.

    (``SkipJsonSchema[None]`` would do the same but makes pydantic name union branches in
    its error locations, which must name the field alone.)"""
    branches = schema.pop("anyOf", None)
    if branches is None:
        return
    rest = [b for b in branches if b != {"type": "null"}]
    if len(rest) == 1:
        schema.update(rest[0])
    else:
        schema["anyOf"] = rest


class _NoNul:
    """Refuses NUL (with its own message) and says so in the document: a pattern."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(no_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NO_NUL_PATTERN)
        return json_schema


NO_NUL_PATTERN = "^[^\\x00]*$"
NoNul = _NoNul()


def _json_integer(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # JSON's 7.0 is the integer 7 (JSON Schema's "integer" says so too)
    return value


class _NumericKeywords:
    """Bounds given to a JsonInt (``Field(ge=1)``) sit on its before-validator, whose JSON
    Schema pydantic writes with its own names (``ge``): the document says ``minimum``."""

    NAMES = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for ours, theirs in self.NAMES.items():
            if ours in json_schema:
                json_schema[theirs] = json_schema.pop(ours)
        return json_schema


# An integer as JSON Schema's "integer" means it: 7 and 7.0, never "7" nor true.
JsonInt = Annotated[StrictInt, BeforeValidator(_json_integer), _NumericKeywords()]


def _campaign_ref(value: object) -> object:
    """A body's campaign reference in the paths' terms: its id (a JSON number or the same
    digits as a string) or ``crm:<crm_campaign_id>``; kept as the path form for ``get_by_ref``."""
    if isinstance(value, bool):
        raise ValueError("a campaign is its id or crm:<crm_campaign_id>, not a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 7.0 is the integer 7
    if isinstance(value, int):
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"a campaign id is between 1 and {MAX_ID}")
        return str(value)
    return value


CAMPAIGN_REF_HELP = 'The campaign\'s id, or its CRM id written "crm:<crm_campaign_id>"'
CampaignRefValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=140),
    BeforeValidator(_campaign_ref),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                {"type": "string", "minLength": 1, "maxLength": 140},
            ],
            "description": CAMPAIGN_REF_HELP,
        }
    ),
]
