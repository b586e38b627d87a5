"""The ``sip`` dialer: real calls through baresip (Debian ``baresip-core``) to a SIP trunk.

The dialer writes each baresip's config, starts and watches the processes (a process that
dies is started again; its calls in progress get no result and go Dangling, never dialled
again) and drives them over ``ctrl_tcp``. Per call: dial ``<number>@<trunk>`` (tagged
``;x-att=<attempt>`` so that events name the attempt), give up after the ring timeout, map
the SIP final response to the canonical outcome and keep it as the raw result. INVITEs go
through ``relay`` (3xx never followed; 100 Trying, Retry-After and the answer's codecs seen).
Answered:

* Agent and IVR campaigns: blind transfer (REFER) to the campaign's target, a SIP URI or an
  extension at the trunk; a refused or failed transfer is ``dialer_abandoned``.
* Automated campaigns: play the campaign's audio file (8 kHz mono 16-bit WAV), then hang up.
"""

from __future__ import annotations

from outbound.channels.sip.config import SipDialerConfig
from outbound.channels.sip.dialer import SipDialer

__all__ = ["SipDialer", "SipDialerConfig"]
