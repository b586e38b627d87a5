"""The one query on Cisco's historical database: results from ``Dialer_Detail``.

The table's columns are those of the "Database Schema Handbook for Cisco Unified Contact
Center Enterprise" that the Outbound Option guide's chapter "Dialer Detail Table" points to
(https://www.cisco.com/c/en/us/td/docs/voice_ip_comm/cust_contact/contact_center/
icm_enterprise/icm_enterprise_12_6_2/user/ucce_b_1262_outbound_options_guide/
ucce_m_1262_dialer-detail-table.html). Only SQLAlchemy Core over a declared ``Table``: the
same statement runs on Microsoft SQL Server (production: an HDS/AW database, through
``pymssql`` or ``pyodbc``) and on the SQLite or PostgreSQL table the test simulator writes.

Cisco advises against heavy queries on the HDS: this one asks only for the few accounts we
are waiting for (at most the batch size), by ``AccountNumber`` and ``CampaignID``. A site may
instead point ``results_url`` at its own extract of the table (Cisco's advice), indexed on
``AccountNumber``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    select,
)

IN_LIST = 500  # accounts per statement (SQL Server allows 2,100 parameters)


def dialer_detail_table(metadata: MetaData, name: str = "Dialer_Detail") -> Table:
    """The documented columns (the ``InternalUse``/``FutureUse`` ones left out)."""
    return Table(
        name,
        metadata,
        Column("RecoveryKey", Float, primary_key=True),
        Column("DateTime", DateTime),
        Column("TimeZone", Integer),
        Column("CustomerTimeZone", Integer),
        Column("DBDateTime", DateTime),
        Column("CampaignID", Integer),
        Column("CallResult", SmallInteger),
        Column("CallResultDetail", Integer),
        Column("CallStatusZone1", CHAR(1)),
        Column("CallStatusZone2", CHAR(1)),
        Column("QueryRuleID", Integer),
        Column("DialingListID", Integer),
        Column("Phone", String(20)),
        Column("PhoneExt", String(8)),
        Column("SkillGroupSkillTargetID", Integer),
        Column("PhoneIndex", Integer),
        Column("PhoneID", Integer),
        Column("ZoneIndex", Integer),
        Column("AgentPeripheralNumber", String(32)),
        Column("PeripheralID", Integer),
        Column("PeripheralCallKey", Integer),
        Column("CallDuration", Integer),
        Column("AccountNumber", String(30)),
        Column("FirstName", String(50)),
        Column("LastName", String(50)),
        Column("CallbackPhone", String(20)),
        Column("CallbackDateTime", DateTime),
        Column("DialingMode", Integer),
        Column("DialerID", Integer),
        Column("PortNumber", Integer),
        Column("ImportRuleDateTime", DateTime),
    )


@dataclass(frozen=True, slots=True)
class DetailRow:
    account: str
    call_result: int
    detail: int | None
    status_zone1: str | None
    callback_at: datetime | None


def read_results(
    engine: Engine,
    table: Table,
    *,
    campaign_id: int,
    accounts: Sequence[str],
) -> Iterator[DetailRow]:
    """The rows of these accounts in this campaign, oldest first (by ``RecoveryKey``)."""
    t = table.c
    for start in range(0, len(accounts), IN_LIST):
        chunk = list(accounts[start : start + IN_LIST])
        query = (
            select(
                t.AccountNumber,
                t.CallResult,
                t.CallResultDetail,
                t.CallStatusZone1,
                t.CallbackDateTime,
            )
            .where(t.CampaignID == campaign_id, t.AccountNumber.in_(chunk))
            .order_by(t.RecoveryKey)
        )
        with engine.connect() as conn:
            for row in conn.execute(query):
                yield DetailRow(
                    account=str(row.AccountNumber).strip(),
                    call_result=int(row.CallResult),
                    detail=row.CallResultDetail,
                    status_zone1=row.CallStatusZone1,
                    callback_at=row.CallbackDateTime,
                )
