"""What a simulated Cisco keeps, in its own database (SQLite file or PostgreSQL): campaigns,
the dialing list, and for UCCE the ``Dialer_Detail`` table where the real product writes
its results. Being in a database, it survives a restart of the simulator's HTTP server.

Dialing is explicit (``run_dialer``): the test lets Cisco dial between engine steps, so
every run is the same. The outcome of a number is chosen by its last three digits, like
our own simulator's plan (README): the code Cisco would report for it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    CHAR,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class Fate:
    kind: str  # what happened, in words; "busy" and "no_answer" are what Cisco redials
    cce: int  # CallResult in Dialer_Detail (Outbound Option guide)
    uccx: int | None  # the "call result" UCCX lists (only the publicly stated ones)


PLAN: dict[str, Fate] = {
    "200": Fate("connected", 10, 1),
    "486": Fate("busy", 9, 11),
    "480": Fate("no_answer", 8, 15),
    "404": Fate("invalid", 7, 4),
    "700": Fate("answering_machine", 12, 3),
    "701": Fate("fax", 11, 2),
    "702": Fate("customer_abandoned", 21, None),
    "703": Fate("dialer_abandoned", 16, None),
    "503": Fate("error", 2, None),
    "224": Fate("wrong_person", 24, None),
}
CONNECTED = PLAN["200"]
# Dialled, but its result never reaches where results are read (a lost replication).
LOST_RESULT = "999"

metadata = MetaData()
campaigns = Table(
    "sim_campaign",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(64)),
    Column("max_attempts", Integer),
    Column("change_stamp", Integer),
)
records = Table(
    "sim_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, index=True),
    Column("account", String(30), index=True),
    Column("phone", String(20)),
    Column("status", CHAR(1)),  # P pending, C closed (the CallStatusZone1 letters)
    Column("call_result", Integer),
    Column("attempts", Integer),
)
# The documented shape (Database Schema Handbook, as the Outbound Option guide cites it);
# declared here on its own, not taken from the product's code.
dialer_detail = Table(
    "Dialer_Detail",
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


class SimState:
    def __init__(self, url: str, *, product: str) -> None:
        self.url, self.product = url, product
        args = {"check_same_thread": False} if make_url(url).get_backend_name() == "sqlite" else {}
        self.engine = create_engine(url, connect_args=args)
        metadata.create_all(self.engine)
        self.lock = threading.Lock()
        self.fed: Counter[str] = Counter()  # account -> times imported
        self.dials: Counter[str] = Counter()  # account -> times dialled
        self.max_waiting = 0  # the most records ever imported and not yet dialled
        self.refused = 0  # requests answered 503
        self.occupied = 0  # other integrations' requests in the processing queue

    def add_campaign(self, campaign_id: int, name: str, *, max_attempts: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(campaigns).values(
                    id=campaign_id, name=name, max_attempts=max_attempts, change_stamp=0
                )
            )

    def campaign(self, campaign_id: int) -> dict[str, object] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
        return dict(row._mapping) if row else None

    def all_campaigns(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(campaigns))]

    def set_max_attempts(self, campaign_id: int, value: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(campaigns)
                .where(campaigns.c.id == campaign_id)
                .values(max_attempts=value, change_stamp=campaigns.c.change_stamp + 1)
            )

    def import_records(self, campaign_id: int, rows: list[tuple[str, str]]) -> None:
        with self.lock, self.engine.begin() as conn:
            if rows:
                conn.execute(
                    insert(records),
                    [
                        {
                            "campaign_id": campaign_id,
                            "account": account,
                            "phone": phone,
                            "status": "P",
                            "call_result": 0,
                            "attempts": 0,
                        }
                        for account, phone in rows
                    ],
                )
            for account, _ in rows:
                self.fed[account] += 1
            waiting = conn.execute(
                select(func.count()).select_from(records).where(records.c.status == "P")
            ).scalar_one()
            self.max_waiting = max(self.max_waiting, int(waiting))

    def contacts(self, campaign_id: int) -> list[dict[str, object]]:
        query = select(records).where(records.c.campaign_id == campaign_id).order_by(records.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def run_dialer(self) -> int:
        """Dial every pending record (redialling busy and no answer while the campaign's
        attempts allow, as Cisco does); returns how many records were dialled."""
        with self.lock, self.engine.begin() as conn:
            pending = conn.execute(
                select(records, campaigns.c.max_attempts)
                .join(campaigns, campaigns.c.id == records.c.campaign_id)
                .where(records.c.status == "P")
                .order_by(records.c.id)
            ).all()
            key = float(
                conn.execute(
                    select(func.coalesce(func.max(dialer_detail.c.RecoveryKey), 0))
                ).scalar_one()
            )
            for rec in pending:
                fate = PLAN.get(rec.phone[-3:], CONNECTED)
                tries = 0
                while True:
                    tries += 1
                    self.dials[rec.account] += 1
                    again = fate.kind in ("busy", "no_answer") and tries < rec.max_attempts
                    if self.product == "ucce" and rec.phone[-3:] != LOST_RESULT:
                        key += 1
                        conn.execute(insert(dialer_detail).values(**_detail(rec, fate, key, again)))
                    if not again:
                        break
                code = fate.uccx if self.product == "uccx" else fate.cce
                if rec.phone[-3:] == LOST_RESULT:
                    code = 0
                conn.execute(
                    update(records)
                    .where(records.c.id == rec.id)
                    .values(status="C", call_result=code or 0, attempts=tries)
                )
            return len(pending)

    def close(self) -> None:
        self.engine.dispose()


def _detail(rec: object, fate: Fate, key: float, again: bool) -> dict[str, object]:
    now = datetime.now()  # Dialer_Detail times are the Logger's local time
    return {
        "RecoveryKey": key,
        "DateTime": now,
        "DBDateTime": now,
        "CampaignID": rec.campaign_id,  # type: ignore[attr-defined]
        "CallResult": fate.cce,
        "CallResultDetail": 0,
        "CallStatusZone1": "R" if again else "C",
        "Phone": rec.phone,  # type: ignore[attr-defined]
        "AccountNumber": rec.account,  # type: ignore[attr-defined]
        "DialingMode": 5,  # progressive only
        "ZoneIndex": 1,
        "PhoneIndex": 1,
    }
