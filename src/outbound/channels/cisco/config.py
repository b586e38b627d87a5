"""The Cisco dialers' options, as stored in settings ``dialer.options``.

``password`` (the Cisco administrator's) and ``results_password`` (the UCCE historical
database's) are secrets: the settings API shows them masked.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from outbound.strategies.outcomes import VOICE_RULE_OUTCOMES, Outcome

Text = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_PORT = (
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}"
    r"|[1-9][0-9]{0,3}))?"
)
# https://host[:port][/path]: what the validator below takes, as a pattern for the document.
HTTP_URL = rf"^https?://[A-Za-z0-9._~-]+{_PORT}(?:/[^\s?#]*)?$"
# dialect[+driver]://[user@]host[:port][/database][?query], no password (it has its option).
DATABASE_URL = r"^[A-Za-z][A-Za-z0-9_+]*://(?:[^:@/\s]*@)?[^:@/\s]*(?::[0-9]{1,5})?(?:/[^@\s]*)?$"
VOICE = sorted(o.value for o in VOICE_RULE_OUTCOMES)
Seconds = Annotated[float, Field(gt=0, le=3600, strict=True)]
Flag = Annotated[bool, Field(strict=True)]


def _http_url(value: object) -> object:
    """Runs before the pattern, for a message that says what to write."""
    if not isinstance(value, str):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("give the server's address as https://host[:port]")
    if parts.query or parts.fragment:
        raise ValueError("the address takes no query or fragment")
    return value.rstrip("/")


class CiscoCommon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # The server (UCCX node, or the CCE/PCCE AW that serves /unifiedconfig) and an
    # administrator it accepts (HTTP basic auth).
    url: Annotated[str, StringConstraints(min_length=8, max_length=1024, pattern=HTTP_URL)]
    username: Text
    password: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    verify_tls: Flag = True
    timeout_seconds: Seconds = 30.0
    # ECM's "campaignBatchSize": never more of our contacts waiting in Cisco than this.
    batch_size: Annotated[int, Field(ge=1, le=10_000, strict=True)] = 10
    # How often the results are read; the first wait after a refusal (503, a connection
    # refused), doubled on each further refusal up to the maximum.
    poll_seconds: Seconds = 5.0
    backoff_seconds: Seconds = 5.0
    backoff_max_seconds: Seconds = 300.0
    # Switch the Cisco campaign's own redials off (one dial attempt per record) before the
    # first contact goes to it: our strategy decides every retry.
    single_attempt: Flag = True
    # A record without a result this long after it was fed stops counting against the
    # batch size; keep it equal to the dangling timeout (its attempt ends Dangling then).
    result_timeout_minutes: Annotated[int, Field(ge=1, le=10_080, strict=True)] = 60

    _url = field_validator("url", mode="before")(_http_url)


class UccxConfig(CiscoCommon):
    """Unified CCX: contacts through the Configuration API, results from its contact list."""

    # Call result codes the built-in table lacks or gets wrong for this UCCX release.
    call_results: Annotated[
        dict[int, Outcome],
        Field(max_length=100),
        WithJsonSchema(
            {
                "type": "object",
                "maxProperties": 100,
                "propertyNames": {"pattern": "^[0-9]{1,6}$"},
                "additionalProperties": {"type": "string", "enum": VOICE},
            }
        ),
    ] = Field(default_factory=dict)

    @field_validator("call_results")
    @classmethod
    def _voice(cls, value: dict[int, Outcome]) -> dict[int, Outcome]:
        foreign = sorted(o.value for o in value.values() if o not in VOICE_RULE_OUTCOMES)
        if foreign:
            raise ValueError(f"not a voice outcome: {', '.join(foreign)}")
        return value


class UcceConfig(CiscoCommon):
    """Unified CCE/PCCE: contacts through the Outbound API's import, results from the
    ``Dialer_Detail`` table of the historical database (HDS/AW DB)."""

    # A SQLAlchemy URL without its password, e.g.
    # ``mssql+pymssql://outbound@hds.example.com:1433/cc_awdb`` (pip install
    # 'outbound[cisco]' brings the driver); the password goes in ``results_password``.
    results_url: Annotated[
        str, StringConstraints(min_length=8, max_length=1024, pattern=DATABASE_URL)
    ]
    results_password: Annotated[str, StringConstraints(max_length=255)] | None = None
    results_schema: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")] | (
        None
    ) = None
    results_table: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")] = (
        "Dialer_Detail"
    )

    @field_validator("results_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "give a database URL such as mssql+pymssql://user@host:1433/cc_awdb"
            ) from None
        if url.password:
            raise ValueError("put the password in results_password, not in the URL")
        return value
