"""The ``smpp`` SMS gateway (SMPP 3.4 transceiver)."""

from __future__ import annotations

from outbound.channels.smpp.config import SmppConfig
from outbound.channels.smpp.gateway import SmppGateway

__all__ = ["SmppConfig", "SmppGateway"]
