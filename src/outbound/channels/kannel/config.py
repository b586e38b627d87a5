"""The ``http`` SMS gateway's options (Kannel's ``sendsms`` interface)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Url = Annotated[
    str, StringConstraints(min_length=8, max_length=1024, pattern=r"^https?://[^\s\x00]+$")
]
Seconds = Annotated[float, Field(gt=0, le=3600)]


class HttpSmsConfig(BaseModel):
    """A Kannel smsbox (or anything speaking its ``sendsms`` GET interface).

    ``callback_url`` is this service's address as the gateway reaches it: delivery reports
    come to ``{callback_url}/api/v1/sms/http/receipt`` (each signed for its attempt with
    ``secret``), customer replies to ``{callback_url}/api/v1/sms/http/inbound?key={secret}``
    (Kannel's ``get-url``, with ``&from=%p&text=%a``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    sendsms_url: Url
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(max_length=64)] = ""
    callback_url: Url
    secret: Annotated[
        str, StringConstraints(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_.~-]+$")
    ]
    sender: Annotated[str, StringConstraints(max_length=20)] = ""
    smsc: Annotated[str, StringConstraints(max_length=32)] = ""
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    max_per_second: Annotated[float, Field(gt=0, le=100_000)] = 50.0
    capacity: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    retry_max: Annotated[int, Field(ge=0, le=20)] = 5
    retry_delay_seconds: Seconds = 1.0
    timeout_seconds: Seconds = 10.0
