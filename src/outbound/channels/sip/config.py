"""The ``sip`` dialer's options, as stored in settings ``dialer.options``.

Checked when the settings are saved: a bad trunk URI, a port range that runs past 65535 or
a baresip that is not installed is refused then, not when the engine starts.
"""

from __future__ import annotations

import re
import shutil
import socket
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# sip:host[:port][;param...]: the trunk or proxy every call goes through.
_TRUNK = re.compile(
    r"^sips?:(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
    r"(?::(?P<port>[0-9]{1,5}))?(?P<params>(?:;[A-Za-z0-9._~=-]+)*)$"
)
_IPV4 = re.compile(
    r"^(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$"
)
Port = Annotated[int, Field(ge=1024, le=65535)]
# baresip 1.0 holds at most 255 calls in one process; several processes give more.
MAX_CALLS_PER_PROCESS = 255
# baresip draws each call's RTP and RTCP ports at random from its range: keep it sparse.
RTP_PORTS_PER_PROCESS = 2048


class SipDialerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    trunk: Annotated[str, StringConstraints(min_length=5, max_length=255)] = Field(
        description="SIP URI of the trunk or proxy, e.g. sip:10.0.0.5:5060;transport=udp"
    )
    processes: Annotated[int, Field(ge=1, le=16)] = 1
    calls_per_process: Annotated[int, Field(ge=1, le=MAX_CALLS_PER_PROCESS)] = 250
    ring_timeout_seconds: Annotated[float, Field(ge=1, le=300)] = 30.0
    # An answered call waits this long for the far end to accept a transfer.
    transfer_timeout_seconds: Annotated[float, Field(ge=1, le=300)] = 30.0
    # The longest an answered call may last (a message that never ends): then we hang up.
    # Well inside the default dangling timeout (60 min), so the dialer's result comes first.
    max_call_seconds: Annotated[float, Field(ge=1, le=86_400)] = 1800.0
    listen_address: Annotated[str, Field(pattern=_IPV4.pattern)] = "127.0.0.1"
    from_user: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._~+-]{1,64}$")] = "outbound"
    # Process i listens for SIP on sip_port + 2i (UDP and TCP; TLS takes the port above), the
    # relay to the trunk on sip_port + 2 * processes,
    # for its control connection on ctrl_port + i and sends RTP from rtp_port + 2048i on.
    sip_port: Port = 5080
    ctrl_port: Port = 4444
    rtp_port: Port = 20000
    # Relative audio files of Automated campaigns are looked up here.
    audio_dir: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    # Where each process's config is written; <temp dir>/outbound-sip-<ctrl_port> if not given.
    work_dir: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    baresip: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = "baresip"
    keep_logs: bool = False

    @field_validator("trunk")
    @classmethod
    def _trunk(cls, value: str) -> str:
        found = _TRUNK.match(value)
        if found is None:
            raise ValueError("must be a SIP URI without a user part, e.g. sip:10.0.0.5:5060")
        port = found.group("port")
        if port is not None and not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port} is out of range 1-65535")
        if value.startswith("sips:") or re.search(r";transport=(?!udp(?:;|$))", value, re.I):
            # The dialer relays each INVITE transaction (relay.py) and speaks UDP only.
            raise ValueError("must be a UDP trunk (sip:, no transport other than udp)")
        return value

    @field_validator("baresip")
    @classmethod
    def _installed(cls, value: str) -> str:
        if shutil.which(value) is None:
            raise ValueError(f"{value!r} is not an executable (install Debian baresip-core)")
        return value

    @model_validator(mode="after")
    def _ports(self) -> SipDialerConfig:
        last = self.processes - 1
        for name, top in (
            ("sip_port", self.relay_port),
            ("ctrl_port", self.ctrl_port + last),
            ("rtp_port", self.rtp_port + self.processes * RTP_PORTS_PER_PROCESS),
        ):
            if top > 65535:
                raise ValueError(f"{name}: {self.processes} processes need ports up to {top}")
        return self

    def dial_uri(self, number: str, attempt_id: int) -> str:
        """The Request-URI for one attempt: the number at the trunk, tagged with the attempt
        so that baresip's events (their ``peeruri``) name the attempt."""
        found = _TRUNK.match(self.trunk)
        assert found is not None
        scheme = self.trunk.split(":", 1)[0]
        rest = self.trunk[len(scheme) + 1 :]
        return f"{scheme}:{number}@{rest};x-att={attempt_id}"

    @property
    def relay_port(self) -> int:
        """The UDP port of the dialer's relay to the trunk: the one after the processes'."""
        return self.sip_port + 2 * self.processes

    def trunk_address(self) -> tuple[str, int]:
        """Where the relay sends INVITEs: the trunk's host (resolved) and port."""
        found = _TRUNK.match(self.trunk)
        assert found is not None
        host = found.group("host").strip("[]")
        port = int(found.group("port") or 5060)
        address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_DGRAM)[0][4]
        return str(address[0]), int(address[1])

    def target_host(self) -> str:
        """host[:port] of the trunk: where a bare transfer target (an extension) lives."""
        found = _TRUNK.match(self.trunk)
        assert found is not None
        port = found.group("port")
        return found.group("host") + (f":{port}" if port else "")
