"""Channels by name: the settings say which kind and its options; each kind validates its own.

Settings call ``validate_*_options`` on save so a bad option is refused then, not when the
engine starts; the engine calls ``build_*`` with the same kind and options. A gateway that
keeps state in the database (message ids of a restarted SMPP session, the callbacks of the
HTTP gateway) is given the engine's ``Database``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from outbound.channels.base import Dialer, SmsGateway
from outbound.channels.cisco import UcceConfig, UcceDialer, UccxConfig, UccxDialer
from outbound.channels.kannel import HttpSmsConfig, HttpSmsGateway
from outbound.channels.simulator import (
    SimulatorConfig,
    SimulatorDialer,
    SimulatorSms,
    SmsSimulatorConfig,
)
from outbound.channels.sip import SipDialer, SipDialerConfig
from outbound.channels.smpp import SmppConfig, SmppGateway
from outbound.db.engine import Database
from outbound.engine.clock import Clock

Loc = tuple[str | int, ...]
C = TypeVar("C", bound=BaseModel)
T = TypeVar("T")


class InvalidOptions(ValueError):
    """Options a channel refuses; ``problems`` name each option (its path) and why."""

    def __init__(self, what: str, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        detail = "; ".join(
            f"{'.'.join(map(str, loc)) or 'options'}: {msg}" for loc, msg in problems
        )
        super().__init__(f"invalid {what} options: {detail}")


def _config(model: type[C], what: str, options: Mapping[str, Any]) -> C:
    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidOptions(what, problems) from None


def _dialer_simulator(
    options: Mapping[str, Any], clock: Clock, db: Database | None = None
) -> Dialer:
    return SimulatorDialer(_config(SimulatorConfig, "simulator dialer", options), clock)


def _dialer_sip(options: Mapping[str, Any], clock: Clock, db: Database | None = None) -> Dialer:
    return SipDialer(_config(SipDialerConfig, "sip dialer", options), clock)


def _needs_db(db: Database | None, what: str) -> Database:
    if db is None:
        raise ValueError(f"the {what} dialer keeps what it fed in the database: give it one")
    return db


def _dialer_uccx(options: Mapping[str, Any], clock: Clock, db: Database | None = None) -> Dialer:
    config = _config(UccxConfig, "cisco_uccx dialer", options)
    return UccxDialer(config, clock, _needs_db(db, "cisco_uccx"))


def _dialer_ucce(options: Mapping[str, Any], clock: Clock, db: Database | None = None) -> Dialer:
    config = _config(UcceConfig, "cisco_ucce dialer", options)
    return UcceDialer(config, clock, _needs_db(db, "cisco_ucce"))


def _sms_simulator(
    options: Mapping[str, Any], clock: Clock, db: Database | None = None
) -> SmsGateway:
    return SimulatorSms(_config(SmsSimulatorConfig, "simulator SMS gateway", options), clock)


def _sms_smpp(options: Mapping[str, Any], clock: Clock, db: Database | None = None) -> SmsGateway:
    return SmppGateway(_config(SmppConfig, "smpp SMS gateway", options), clock, db)


def _sms_http(options: Mapping[str, Any], clock: Clock, db: Database | None = None) -> SmsGateway:
    if db is None:
        raise ValueError("the http SMS gateway reads its callbacks from the database")
    return HttpSmsGateway(_config(HttpSmsConfig, "http SMS gateway", options), clock, db)


SmsBuilder = Callable[[Mapping[str, Any], Clock, Database | None], SmsGateway]
DialerBuilder = Callable[[Mapping[str, Any], Clock, Database | None], Dialer]


DIALERS: dict[str, tuple[type[BaseModel], DialerBuilder]] = {
    "simulator": (SimulatorConfig, _dialer_simulator),
    "sip": (SipDialerConfig, _dialer_sip),
    "cisco_uccx": (UccxConfig, _dialer_uccx),
    "cisco_ucce": (UcceConfig, _dialer_ucce),
}
SMS_GATEWAYS: dict[str, tuple[type[BaseModel], SmsBuilder]] = {
    "simulator": (SmsSimulatorConfig, _sms_simulator),
    "smpp": (SmppConfig, _sms_smpp),
    "http": (HttpSmsConfig, _sms_http),
}


def _known(table: Mapping[str, T], kind: str, what: str) -> T:
    if kind not in table:
        raise ValueError(f"unknown {what} {kind!r}; known: {', '.join(sorted(table))}")
    return table[kind]


def build_dialer(
    kind: str, options: Mapping[str, Any], clock: Clock, db: Database | None = None
) -> Dialer:
    """``db``: where a dialer that keeps state (the Cisco ones) keeps it."""
    return _known(DIALERS, kind, "dialer")[1](options, clock, db)


def build_sms_gateway(
    kind: str, options: Mapping[str, Any], clock: Clock, db: Database | None = None
) -> SmsGateway:
    return _known(SMS_GATEWAYS, kind, "SMS gateway")[1](options, clock, db)


def validate_dialer_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with their defaults filled in, ready to store; raises InvalidOptions."""
    model = _known(DIALERS, kind, "dialer")[0]
    return _config(model, f"{kind} dialer", options).model_dump(mode="json")


def validate_sms_gateway_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    model = _known(SMS_GATEWAYS, kind, "SMS gateway")[0]
    return _config(model, f"{kind} SMS gateway", options).model_dump(mode="json")


def probe_dialer(kind: str, options: Mapping[str, Any]) -> list[tuple[str, bool, str]]:
    """ "Test connection": (check, ok, detail) for each thing the dialer needs to reach.
    Raises InvalidOptions for options the kind refuses; a kind that reaches nothing
    outside this process has nothing to test."""
    from outbound.channels.cisco import probe

    model = _known(DIALERS, kind, "dialer")[0]
    config = _config(model, f"{kind} dialer", options)
    if isinstance(config, UccxConfig):
        checks = probe.probe_uccx(config)
    elif isinstance(config, UcceConfig):
        checks = probe.probe_ucce(config)
    else:
        return [(kind, True, f"the {kind} dialer runs inside outbound: nothing to reach")]
    return [(c.name, c.ok, c.detail) for c in checks]
