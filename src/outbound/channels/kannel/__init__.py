"""The ``http`` SMS gateway (Kannel's ``sendsms``) and its callbacks."""

from __future__ import annotations

from outbound.channels.kannel.config import HttpSmsConfig
from outbound.channels.kannel.gateway import HttpSmsGateway

__all__ = ["HttpSmsConfig", "HttpSmsGateway"]
