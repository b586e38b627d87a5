"""The ``cisco_ucce`` dialer: Unified CCE / Packaged CCE Outbound Option.

From Cisco's developer reference ("Outbound API", https://developer.cisco.com/docs/
packaged-contact-center/outbound-api-outbound-api):

- "Outbound Campaign API" (``/unifiedconfig/config/campaign``, ``…/campaign/<id>``): the
  campaign is read, and, when its ``maxAttempts`` is above 1, updated to 1 (with the
  ``changeStamp`` read) so that Cisco never redials on its own. Only campaigns created
  through the API can be read or fed this way (Cisco's note): the site creates them so.
- "Import API" (https://developer.cisco.com/docs/packaged-contact-center/import-api,
  ``POST …/campaign/<id>/import``): the contacts as CSV text (``fileContent``, one record a
  line: ``AccountNumber``, ``FirstName``, ``LastName``, ``Phone01``), appended
  (``overwriteData`` false). At most 10,000 records a request; at most 30 requests queued,
  then HTTP 503 "Request processing queue is at capacity", which we wait out (backoff).
- Results: the ``Dialer_Detail`` table of the historical database (``dialer_detail``).
  ``AccountNumber`` is our attempt (``OB<attempt id>``), so each attempt is its own record
  in Cisco and its row names it.

Cisco documents its bodies as XML; ``xml.etree`` reads and writes them (no entity or DTD
processing is needed for these shapes, and the parser is given only Cisco's answers).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.engine import make_url

from outbound.channels.cisco.codes import CCE_CALL_RESULTS, map_result
from outbound.channels.cisco.config import UcceConfig
from outbound.channels.cisco.dialer import CiscoDialer, Found, Rejected
from outbound.channels.cisco.dialer_detail import dialer_detail_table, read_results
from outbound.channels.cisco.store import Row
from outbound.db.engine import Database
from outbound.engine.clock import Clock

CAMPAIGNS = "/unifiedconfig/config/campaign"
XML = {"Content-Type": "application/xml", "Accept": "application/xml"}


def import_body(rows: list[Row]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["AccountNumber", "FirstName", "LastName", "Phone01"])
    for row in rows:
        writer.writerow([row.account, "", "", row.phone])
    root = ET.Element("import")
    ET.SubElement(root, "fileContent").text = text.getvalue()
    ET.SubElement(root, "delimiter").text = ","
    ET.SubElement(root, "overwriteData").text = "false"
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def results_engine(config: UcceConfig) -> Engine:
    url = make_url(config.results_url)
    if config.results_password:
        url = url.set(password=config.results_password)
    if url.get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)


class UcceDialer(CiscoDialer):
    name = "cisco_ucce"
    product = "ucce"

    def __init__(self, config: UcceConfig, clock: Clock, db: Database) -> None:
        super().__init__(config, clock, db)
        self.ucce = config
        self._engine: Engine | None = None
        self._table = dialer_detail_table(
            MetaData(schema=config.results_schema), config.results_table
        )

    @property
    def results_db(self) -> Engine:
        if self._engine is None:  # built on first use, never at start-up
            self._engine = results_engine(self.ucce)
        return self._engine

    def prepare(self, campaign: str) -> None:
        if not self.config.single_attempt:
            return
        got = self.request("GET", f"{CAMPAIGNS}/{campaign}", headers=XML)
        root = _xml(got.content)
        attempts = root.find("maxAttempts")
        if attempts is not None and (attempts.text or "").strip() == "1":
            return
        if attempts is None:
            attempts = ET.SubElement(root, "maxAttempts")
        attempts.text = "1"
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        self.request("PUT", f"{CAMPAIGNS}/{campaign}", content=body, headers=XML)

    def send(self, campaign: str, rows: list[Row]) -> None:
        body = import_body(rows)
        self.request("POST", f"{CAMPAIGNS}/{campaign}/import", content=body, headers=XML)

    def results(self, campaign: str, rows: list[Row]) -> dict[str, Found]:
        found: dict[str, Found] = {}
        accounts = [r.account for r in rows]
        for row in read_results(
            self.results_db, self._table, campaign_id=int(campaign), accounts=accounts
        ):
            if row.account in found:
                continue
            mapped = map_result(row.call_result, CCE_CALL_RESULTS, product="UCCE")
            if mapped is not None:
                found[row.account] = Found(row.account, mapped, _utc(row.callback_at))
        return found

    def close(self) -> None:
        super().close()
        if self._engine is not None:
            self._engine.dispose()


def _utc(value: datetime | None) -> datetime | None:
    """Dialer_Detail times carry no zone: read as UTC (set the HDS login's times so)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _xml(content: bytes) -> ET.Element:
    try:
        return ET.fromstring(content)  # noqa: S314 - Cisco's answer, no DTD involved
    except ET.ParseError as exc:
        raise Rejected(f"Cisco's answer is not XML: {exc}") from None
