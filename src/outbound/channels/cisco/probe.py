""" "Test connection": can we reach Cisco with these options, and read the results?

Each check says what it tried and what came back, in words an administrator can act on.
Nothing is written to Cisco.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import MetaData, func, select
from sqlalchemy.exc import SQLAlchemyError

from outbound.channels.cisco import ucce, uccx
from outbound.channels.cisco.config import CiscoCommon, UcceConfig, UccxConfig
from outbound.channels.cisco.dialer import Refused, Rejected, check
from outbound.channels.cisco.dialer_detail import dialer_detail_table


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _http(config: CiscoCommon, path: str, name: str) -> Check:
    try:
        with httpx.Client(
            base_url=config.url,
            auth=(config.username, config.password),
            verify=config.verify_tls,
            timeout=min(config.timeout_seconds, 10.0),
        ) as client:
            check(client.get(path, headers={"Accept": "application/xml"}))
    except (Refused, Rejected) as exc:
        return Check(name, False, f"GET {path}: {exc}")
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return Check(name, False, f"GET {path}: cannot reach {config.url} ({exc})")
    return Check(name, True, f"GET {path}: answered, credentials accepted")


def probe_uccx(config: UccxConfig) -> list[Check]:
    return [_http(config, uccx.CAMPAIGNS, "uccx configuration api")]


def probe_ucce(config: UcceConfig) -> list[Check]:
    checks = [_http(config, ucce.CAMPAIGNS, "ucce outbound api")]
    table = dialer_detail_table(MetaData(schema=config.results_schema), config.results_table)
    try:
        engine = ucce.results_engine(config)
    except Exception as exc:  # an unknown dialect, a driver not installed
        return [*checks, Check("ucce results database", False, _reason(exc))]
    try:
        with engine.connect() as conn:
            conn.execute(select(func.count()).select_from(table).where(table.c.CampaignID == -1))
        checks.append(Check("ucce results database", True, f"{table.fullname} can be read"))
    except (SQLAlchemyError, ImportError, OSError) as exc:
        checks.append(Check("ucce results database", False, f"{table.fullname}: {_reason(exc)}"))
    finally:
        engine.dispose()
    return checks


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:240]
