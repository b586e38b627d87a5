"""Netstrings (``<length>:<bytes>,``), the framing of baresip's ``ctrl_tcp`` JSON messages."""

from __future__ import annotations

import json
from typing import Any

MAX_FRAME = 1 << 20


class FramingError(ValueError):
    """The peer sent bytes that are not a netstring: the connection cannot be trusted."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return b"%d:%s," % (len(body), body)


class Decoder:
    """Collects bytes as they arrive and yields each complete JSON message once."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        messages: list[dict[str, Any]] = []
        while True:
            colon = self._buffer.find(b":", 0, 12)
            if colon < 0:
                if len(self._buffer) >= 12:
                    raise FramingError(f"no length prefix in {bytes(self._buffer[:12])!r}")
                return messages
            digits = bytes(self._buffer[:colon])
            if not digits.isdigit():
                raise FramingError(f"bad length prefix {digits!r}")
            size = int(digits)
            if size > MAX_FRAME:
                raise FramingError(f"frame of {size} bytes is too large")
            end = colon + 1 + size
            if len(self._buffer) < end + 1:
                return messages
            if self._buffer[end] != ord(","):
                raise FramingError("netstring not terminated by ','")
            try:
                decoded = json.loads(bytes(self._buffer[colon + 1 : end]))
            except ValueError as exc:
                raise FramingError(f"not JSON: {exc}") from None
            del self._buffer[: end + 1]
            if isinstance(decoded, dict):
                messages.append(decoded)
