"""The ``cisco_uccx`` dialer: Unified Contact Center Express outbound campaigns.

From Cisco's "Unified CCX Configuration API" (https://developer.cisco.com/docs/
contact-center-express/configuration-api-overview), HTTP basic auth of an administrator:

- "Campaign" (``/adminapi/campaign/{id}``; "Common Data Structure for IVR-Based and
  Agent-Based Campaigns", "Data Structure for Preview Campaign"): the campaign is read and,
  when its ``maxDialAttempts`` (1-3, default 3) is above 1, updated to 1 so that UCCX never
  redials on its own.
- "Add Contacts to Campaign" (``POST /adminapi/campaign/{id}/contacts``; "Data Structure for
  Campaign Contacts"): ``csvdata`` whose first line is the header (``Account Number``,
  ``First Name``, ``Last Name``, ``Phone1``), ``allowDuplicateContacts`` true (the same phone
  comes back for a later attempt, as a new record). At most 10,000 records a request.
- Results: "Get List of Pending Contacts for Campaign" (``GET /adminapi/campaign/{id}/
  contacts``), whose ``csvdata`` carries each contact's ``call result`` and ``call status``
  columns: this is what UCCX publishes through its API, so we read it there rather than in
  its Informix database. The pages are silent on whether a closed contact stays listed and
  on the full list of codes (see ``codes``): a site checks both on its release.
- "Get Campaign Contacts Import Status" (``…/contacts/status``) serves the test connection.

The documented bodies are XML (JSON is accepted but its envelope is not shown); we send XML
and read either.
"""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree as ET

from outbound.channels.cisco.codes import UCCX_CALL_RESULTS, map_result
from outbound.channels.cisco.config import UccxConfig
from outbound.channels.cisco.dialer import CiscoDialer, Found, Rejected
from outbound.channels.cisco.store import Row
from outbound.db.engine import Database
from outbound.engine.clock import Clock

CAMPAIGNS = "/adminapi/campaign"
XML = {"Content-Type": "application/xml", "Accept": "application/xml"}


def contacts_body(name: str, ref: str, rows: list[Row]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["Account Number", "First Name", "Last Name", "Phone1"])
    for row in rows:
        writer.writerow([row.account, "", "", row.phone])
    root = ET.Element("campaignContacts")
    campaign = ET.SubElement(root, "campaign", name=name)
    ET.SubElement(campaign, "refURL").text = ref
    ET.SubElement(root, "allowDuplicateContacts").text = "true"
    ET.SubElement(root, "csvdata").text = text.getvalue()
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def parse_contacts(content: bytes) -> list[dict[str, str]]:
    """The contacts of a ``campaignContacts`` answer, keyed by the lower-case header."""
    root = _xml(content)
    data = root.findtext("csvdata") or ""
    lines = [line.strip() for line in data.splitlines() if line.strip()]
    if not lines:
        return []
    reader = csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True)
    header = [h.strip().lower() for h in next(reader)]
    return [
        {key: value.strip() for key, value in zip(header, values, strict=False)}
        for values in reader
    ]


class UccxDialer(CiscoDialer):
    name = "cisco_uccx"
    product = "uccx"

    def __init__(self, config: UccxConfig, clock: Clock, db: Database) -> None:
        super().__init__(config, clock, db)
        self.uccx = config
        self._names: dict[str, str] = {}

    def prepare(self, campaign: str) -> None:
        got = self.request("GET", f"{CAMPAIGNS}/{campaign}", headers=XML)
        root = _xml(got.content)
        self._names[campaign] = (root.findtext("campaignName") or campaign).strip()
        if not self.config.single_attempt:
            return
        attempts = root.find("maxDialAttempts")
        if attempts is not None and (attempts.text or "").strip() == "1":
            return
        if attempts is None:
            attempts = ET.SubElement(root, "maxDialAttempts")
        attempts.text = "1"
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        self.request("PUT", f"{CAMPAIGNS}/{campaign}", content=body, headers=XML)

    def send(self, campaign: str, rows: list[Row]) -> None:
        ref = f"{self.config.url}{CAMPAIGNS}/{campaign}"
        body = contacts_body(self._names.get(campaign, campaign), ref, rows)
        self.request("POST", f"{CAMPAIGNS}/{campaign}/contacts", content=body, headers=XML)

    def results(self, campaign: str, rows: list[Row]) -> dict[str, Found]:
        got = self.request("GET", f"{CAMPAIGNS}/{campaign}/contacts", headers=XML)
        wanted = {r.account for r in rows}
        found: dict[str, Found] = {}
        for contact in parse_contacts(got.content):
            account = contact.get("account number", "")
            if account not in wanted or account in found:
                continue
            try:
                code = int(contact.get("call result") or 0)
            except ValueError:
                continue
            mapped = map_result(
                code, UCCX_CALL_RESULTS, product="UCCX", overrides=self.uccx.call_results
            )
            if mapped is not None:
                found[account] = Found(account, mapped)
        return found


def _xml(content: bytes) -> ET.Element:
    try:
        return ET.fromstring(content)  # noqa: S314 - Cisco's answer, no DTD involved
    except ET.ParseError as exc:
        raise Rejected(f"Cisco's answer is not XML: {exc}") from None
