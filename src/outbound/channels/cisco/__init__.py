"""Cisco's outbound dialers behind our Dialer Protocol: Unified CCX (``cisco_uccx``) and
Unified CCE/PCCE Outbound Option (``cisco_ucce``). See ``dialer`` for how contacts are fed
and results read back, ``codes`` for the call results, and each product's module for the
routes used and the pages they come from."""

from outbound.channels.cisco.config import UcceConfig, UccxConfig
from outbound.channels.cisco.ucce import UcceDialer
from outbound.channels.cisco.uccx import UccxDialer

__all__ = ["UcceConfig", "UcceDialer", "UccxConfig", "UccxDialer"]
