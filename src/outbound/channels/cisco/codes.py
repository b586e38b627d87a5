"""Cisco's call results and the outcome each one means to our strategies.

Unified CCE/PCCE (Outbound Option): the ``CallResult`` codes of the ``Dialer_Detail``
table, as the "Outbound Option Guide for Unified Contact Center Enterprise, Release 12.6(2)",
chapter "Dialer Detail Table" (https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/
cust_contact/contact_center/icm_enterprise/icm_enterprise_12_6_2/user/
ucce_b_1262_outbound_options_guide/ucce_m_1262_dialer-detail-table.html) lists them: 0 and
2-33 (there is no 1). Each maps to an outcome, or to "not a result" where Cisco says the
record was not dialled and goes back to pending in Cisco (0, 25): its result comes later.
The mapping follows DESIGN.md's outcome table; the codes it does not name follow the guide's
"CallResults Table" (its retry action and whether live voice was detected):

- 4 (no ringback), 27 (network disconnected while alerting), 28 (dead air / low energy):
  DESIGN.md names 4 no answer and 27, 28 network error; we keep that.
- 6 (no dial tone): a fault on our side of the network, network error.
- 13 (dialer stopped for lack of agents), 17 (failed to reserve an agent for a personal
  callback), 20 (abandoned to an IVR): dialer abandoned.
- 15 (answering machine requested callback): the record asked for a callback, as 14.
- 18 (agent rejected a preview or callback call), 33 (agent timed out accepting it): Cisco
  retries these as no answer; so do we.
- 19 (agent rejected with the close option): declined, which closes by default.
- 23 (contacted, but a wrong number): invalid number (the number is not the customer's).
- 26 (on Cisco's do-not-call list): declined (never dialled; the customer does not want it).
- 29, 30, 31 (SIP message refused by the voice gateway), 32 (dialer lost the Campaign
  Manager): network error.

Unified CCX publishes a "call result" column in the campaign contacts CSV of its
Configuration API ("Get List of Pending Contacts for Campaign", https://developer.cisco.com/
docs/contact-center-express/get-list-of-pending-contacts-for-campaign) but the pages we
could read do not list its codes. ``UCCX_CALL_RESULTS`` holds the few that an integrator's
public mapping states (Expertflow CX "Outbound Result Notifications",
https://docs.expertflow.com/cx/4.10/outbound-result-notifications); a site completes or
corrects it with the ``call_results`` option, and a code nobody mapped is reported as a
network error with the code kept in the raw result, so nothing waits for ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outbound.strategies.outcomes import Outcome


@dataclass(frozen=True, slots=True)
class CallResult:
    description: str
    outcome: Outcome | None  # None: not a result yet (the record goes back to pending)


# Every code the Outbound Option guide lists, in its words (shortened).
CCE_CALL_RESULTS: dict[int, CallResult] = {
    0: CallResult("dialer has not yet attempted the record", None),
    2: CallResult("error condition while dialing", Outcome.NETWORK_ERROR),
    3: CallResult("number reported not in service by the network", Outcome.INVALID_NUMBER),
    4: CallResult("no ringback from the network", Outcome.NO_ANSWER),
    5: CallResult("operator intercept returned from the network", Outcome.INVALID_NUMBER),
    6: CallResult("no dial tone when the dialer port went off hook", Outcome.NETWORK_ERROR),
    7: CallResult("number reported as invalid by the network", Outcome.INVALID_NUMBER),
    8: CallResult("customer phone did not answer", Outcome.NO_ANSWER),
    9: CallResult("customer phone was busy", Outcome.BUSY),
    10: CallResult("customer answered and was connected to an agent", Outcome.CONNECTED),
    11: CallResult("fax machine detected", Outcome.FAX),
    12: CallResult("answering machine detected", Outcome.ANSWERING_MACHINE),
    13: CallResult(
        "dialer stopped dialing: no agents, or the network stopped", Outcome.DIALER_ABANDONED
    ),
    14: CallResult("customer requested callback", Outcome.CALLBACK_REQUESTED),
    15: CallResult("answering machine requested callback", Outcome.CALLBACK_REQUESTED),
    16: CallResult("call abandoned by the dialer for lack of agents", Outcome.DIALER_ABANDONED),
    17: CallResult("failed to reserve an agent for a personal callback", Outcome.DIALER_ABANDONED),
    18: CallResult("agent rejected a preview or personal callback call", Outcome.NO_ANSWER),
    19: CallResult("agent rejected a preview call with the close option", Outcome.DECLINED),
    20: CallResult("customer abandoned to an IVR", Outcome.DIALER_ABANDONED),
    21: CallResult("customer dropped the call within the abandon time", Outcome.CUSTOMER_ABANDONED),
    22: CallResult("network answering machine (e.g. voicemail full)", Outcome.ANSWERING_MACHINE),
    23: CallResult("contacted, but a wrong number", Outcome.INVALID_NUMBER),
    24: CallResult("contacted, but reached the wrong person", Outcome.WRONG_PERSON),
    25: CallResult("returned without being attempted (back to pending)", None),
    26: CallResult("number on the do not call list", Outcome.DECLINED),
    27: CallResult("disconnected by the network while ringing", Outcome.NETWORK_ERROR),
    28: CallResult("dead air or low voice volume", Outcome.NETWORK_ERROR),
    29: CallResult("SIP message not supported by the voice gateway", Outcome.NETWORK_ERROR),
    30: CallResult("SIP message not authorized by the voice gateway", Outcome.NETWORK_ERROR),
    31: CallResult("invalid SIP message sent to the voice gateway", Outcome.NETWORK_ERROR),
    32: CallResult("dialer lost its connection with the Campaign Manager", Outcome.NETWORK_ERROR),
    33: CallResult("agent timed out accepting a preview or callback call", Outcome.NO_ANSWER),
}

# UCCX: only the codes a public source states (see the module docstring).
UCCX_CALL_RESULTS: dict[int, CallResult] = {
    0: CallResult("not dialled yet", None),
    1: CallResult("voice", Outcome.CONNECTED),
    2: CallResult("fax", Outcome.FAX),
    3: CallResult("answering machine", Outcome.ANSWERING_MACHINE),
    4: CallResult("invalid number", Outcome.INVALID_NUMBER),
    11: CallResult("busy", Outcome.BUSY),
    15: CallResult("no answer", Outcome.NO_ANSWER),
}


@dataclass(frozen=True, slots=True)
class Mapped:
    outcome: Outcome
    raw: str


def map_result(
    code: int,
    table: Mapping[int, CallResult],
    *,
    product: str,
    overrides: Mapping[int, Outcome] | None = None,
) -> Mapped | None:
    """The outcome of a call result, or None when the record is not dialled yet.

    A code the table does not know is a network error: the attempt ends (the strategy
    decides) rather than waiting until it dangles, and the raw result names the code."""
    if overrides and code in overrides:
        known = table.get(code)
        what = known.description if known else "mapped by the call_results option"
        return Mapped(overrides[code], f"{product} CallResult {code} {what}"[:255])
    found = table.get(code)
    if found is None:
        return Mapped(Outcome.NETWORK_ERROR, f"{product} CallResult {code} (not a known code)")
    if found.outcome is None:
        return None
    return Mapped(found.outcome, f"{product} CallResult {code} {found.description}"[:255])
