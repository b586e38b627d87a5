"""The embedded default channels: a dialer and an SMS gateway that need no peer.

They run on the engine's ``Clock``: every event is decided at hand-over and falls due after
its latency, so a virtual clock runs a campaign of days in seconds. Each attempt draws from
its own generator seeded by (``seed``, attempt, number), so a seeded run is reproducible
whatever the batch order or the number of workers.

Deterministic plan: the last three digits of the E.164 number decide, whatever the weights.

Dialer:

=====  ==================  =================================
digits outcome             raw
=====  ==================  =================================
200    connected           200 OK
201    connected           200 OK
486    busy                486 Busy Here
600    busy                600 Busy Everywhere
480    no_answer           480 Temporarily Unavailable
408    no_answer           408 Request Timeout
404    invalid_number      404 Not Found
484    invalid_number      484 Address Incomplete
410    invalid_number      410 Gone
503    network_error       503 Service Unavailable
500    network_error       500 Server Internal Error
603    declined            603 Decline
700    answering_machine   SIM 700 Answering Machine
701    fax                 SIM 701 Fax
702    customer_abandoned  SIM 702 Customer Abandoned
703    dialer_abandoned    SIM 703 Dialer Abandoned
999    (never a result)    holds a line for ``lost_call_seconds``, then drops it silently:
                           the engine must find the attempt dangling
=====  ==================  =================================

Other numbers draw an outcome from ``outcomes`` (weights); its raw status is the first of
its row above, except no answer: ``487 Request Terminated`` (the ring timeout, we CANCEL).

SMS gateway (after ``submit_latency`` the submit response, after ``delivery_latency`` more
the receipt, after ``reply_latency`` more the reply):

=====  ===========================================================================
digits what happens
=====  ===========================================================================
998    sms_failed ``submit_sm_resp ESME_RINVDSTADR`` at once (submit rejected)
997    sms_failed ``submit_sm_resp ESME_RTHROTTLED`` after the submit latency
999    sms_accepted, then sms_failed ``DLR UNDELIV``
996    sms_accepted, then sms_failed ``DLR EXPIRED``
555    sms_accepted, sms_delivered ``DLR DELIVRD``, then an inbound reply ``YES``
556    sms_accepted, sms_delivered, then an inbound reply ``STOP``
=====  ===========================================================================

Other numbers: rejected (``ESME_RSUBMITFAIL``) with ``reject_probability``, else accepted
(``submit_sm_resp OK``); delivered with ``delivery_probability`` (else ``DLR UNDELIV``);
a delivered message is answered ``STOP`` with ``stop_probability`` or ``reply_text`` with
``reply_probability``.
"""

from __future__ import annotations

from outbound.channels.simulator.config import SimulatorConfig, SmsSimulatorConfig
from outbound.channels.simulator.dialer import SimulatorDialer
from outbound.channels.simulator.sms import SimulatorSms

__all__ = ["SimulatorConfig", "SimulatorDialer", "SimulatorSms", "SmsSimulatorConfig"]
