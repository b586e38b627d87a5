"""The ``smpp`` SMS gateway's options, as stored in settings ``sms_gateway.options``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Seconds = Annotated[float, Field(gt=0, le=3600)]


class SmppConfig(BaseModel):
    """An SMSC bound as a transceiver (SMPP 3.4).

    ``window``: submit_sm awaiting their response at most; ``max_per_second``: submits per
    second at most; ``capacity``: messages held (waiting, retrying or awaiting a response).
    A submit refused with a retriable status (0x58 throttled, 0x14 queue full) is retried
    ``retry_max`` times after ``retry_delay_seconds``, doubled each time; other refusals fail
    the message. A connection lost is bound again after ``reconnect_min_seconds``, doubled up
    to ``reconnect_max_seconds``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    host: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\s\x00]+$")]
    port: Annotated[int, Field(ge=1, le=65535)] = 2775
    system_id: Annotated[str, StringConstraints(min_length=1, max_length=15)]
    password: Annotated[str, StringConstraints(max_length=8)] = ""
    system_type: Annotated[str, StringConstraints(max_length=12)] = ""
    source_addr: Annotated[str, StringConstraints(max_length=20)] = ""
    source_addr_ton: Annotated[int, Field(ge=0, le=6)] = 5  # alphanumeric
    source_addr_npi: Annotated[int, Field(ge=0, le=18)] = 0
    window: Annotated[int, Field(ge=1, le=1000)] = 10
    max_per_second: Annotated[float, Field(gt=0, le=100_000)] = 50.0
    capacity: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    retry_max: Annotated[int, Field(ge=0, le=20)] = 5
    retry_delay_seconds: Seconds = 1.0
    reconnect_min_seconds: Seconds = 0.5
    reconnect_max_seconds: Seconds = 30.0
    response_timeout_seconds: Seconds = 30.0
    enquire_link_seconds: Seconds = 30.0
    connect_timeout_seconds: Seconds = 5.0

    @model_validator(mode="after")
    def _backoff(self) -> SmppConfig:
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError("reconnect_max_seconds must not be below reconnect_min_seconds")
        return self
