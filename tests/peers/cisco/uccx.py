"""A simulated Unified CCX Configuration API (the campaign routes), over real HTTP.

Documented (Cisco developer docs, "Unified CCX Configuration API"): ``/adminapi/campaign``
and ``/adminapi/campaign/{id}`` (``campaignName``, ``maxDialAttempts`` 1-3),
``POST /adminapi/campaign/{id}/contacts`` (``campaignContacts`` with ``csvdata`` whose first
line is the header: Account Number, First Name, Last Name, Phone1..3; Phone1 required;
``allowDuplicateContacts``; 200 or 202), ``GET …/contacts`` (``csvdata`` with the call result
and call status columns), ``GET …/contacts/status`` (``statusDetails``), basic auth.

Not documented, so chosen here: the list envelope (``<campaigns>``), the error body, whether
closed contacts stay in the contacts list (here they do), the "call status" values (here 1
pending, 3 closed), and a 503 while "busy" (UCCX's pages list no 503; the simulator uses it
to exercise the same refusal path as UCCE's documented queue limit).
"""

from __future__ import annotations

import csv
import io
import time
from xml.etree import ElementTree as ET

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.peers.cisco.server import HttpPeer, basic_auth
from tests.peers.cisco.state import SimState

BASE = "/adminapi/campaign"
MAX_RECORDS = 10_000
HEADER = (
    "account number, first name, last name, phone1, phone2, phone3, dial time, call result,"
    " callback number, call status, call result 01, call result 02, call result 03,"
    " last number dialled, calls made to phone 01, calls made to phone 02,"
    " calls made to phone 03, retry, num missed call back"
)


def _xml(root: ET.Element, status: int = 200) -> Response:
    return Response(ET.tostring(root), status_code=status, media_type="application/xml")


def _error(status: int, message: str) -> Response:
    root = ET.Element("apiError")
    ET.SubElement(root, "errorMessage").text = message
    return _xml(root, status)


class UccxSim:
    def __init__(self, state: SimState, *, username: str, password: str) -> None:
        self.state = state
        self.busy = False  # answer the contact imports 503 (see the module docstring)
        auth = basic_auth(username, password)
        routes = [
            Route(BASE, auth(self.list_campaigns), methods=["GET"]),
            Route(BASE + "/{id:int}", auth(self.get_campaign), methods=["GET"]),
            Route(BASE + "/{id:int}", auth(self.put_campaign), methods=["PUT"]),
            Route(BASE + "/{id:int}/contacts", auth(self.add_contacts), methods=["POST"]),
            Route(BASE + "/{id:int}/contacts", auth(self.list_contacts), methods=["GET"]),
            Route(BASE + "/{id:int}/contacts/status", auth(self.import_status), methods=["GET"]),
        ]
        self.peer = HttpPeer(Starlette(routes=routes))

    @property
    def url(self) -> str:
        return self.peer.url

    def _campaign_xml(self, row: dict[str, object]) -> ET.Element:
        root = ET.Element("campaign")
        ET.SubElement(root, "self").text = f"{self.url}{BASE}/{row['id']}"
        ET.SubElement(root, "campaignId").text = str(row["id"])
        ET.SubElement(root, "campaignName").text = str(row["name"])
        ET.SubElement(root, "enabled").text = "true"
        ET.SubElement(root, "maxDialAttempts").text = str(row["max_attempts"])
        ET.SubElement(root, "noAnswerRingLimit").text = "15"
        return root

    async def list_campaigns(self, request: Request) -> Response:
        root = ET.Element("campaigns")
        for row in self.state.all_campaigns():
            root.append(self._campaign_xml(row))
        return _xml(root)

    async def get_campaign(self, request: Request) -> Response:
        row = self.state.campaign(int(request.path_params["id"]))
        if row is None:
            return _error(404, "campaign not found")
        return _xml(self._campaign_xml(row))

    async def put_campaign(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        if self.state.campaign(campaign_id) is None:
            return _error(404, "campaign not found")
        try:
            body = ET.fromstring(await request.body())  # noqa: S314 - our own test peer
            attempts = int(body.findtext("maxDialAttempts") or 3)
        except (ET.ParseError, ValueError):
            return _error(400, "not a campaign")
        if not 1 <= attempts <= 3:
            return _error(400, "maxDialAttempts must be 1 to 3")
        self.state.set_max_attempts(campaign_id, attempts)
        return Response(status_code=200)

    async def add_contacts(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        if self.busy:
            with self.state.lock:
                self.state.refused += 1
            return _error(503, "the server is busy")
        if self.state.campaign(campaign_id) is None:
            return _error(404, "campaign not found")
        try:
            body = ET.fromstring(await request.body())  # noqa: S314 - our own test peer
        except ET.ParseError:
            return _error(400, "not campaignContacts")
        lines = [x.strip() for x in (body.findtext("csvdata") or "").splitlines() if x.strip()]
        if not lines:
            return _error(400, "no csvdata")
        reader = csv.reader(io.StringIO("\n".join(lines)), skipinitialspace=True)
        header = [h.strip().lower() for h in next(reader)]
        if "phone1" not in header:
            return _error(400, "Phone1 is mandatory")
        rows = [dict(zip(header, (v.strip() for v in values), strict=False)) for values in reader]
        if len(rows) > MAX_RECORDS:
            return _error(400, "at most 10000 contacts a request")
        self.state.import_records(
            campaign_id, [(r.get("account number", ""), r["phone1"]) for r in rows]
        )
        self._last_import = (len(rows), int(time.time() * 1000))
        return Response(status_code=200)

    async def list_contacts(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        row = self.state.campaign(campaign_id)
        if row is None:
            return _error(404, "campaign not found")
        out = io.StringIO()
        out.write(HEADER + "\n")
        for c in self.state.contacts(campaign_id):
            status = 3 if c["status"] == "C" else 1
            made = c["attempts"]
            out.write(
                f"{c['account']}, , , {c['phone']}, , , , {c['call_result']}, , {status},"
                f" {c['call_result']}, 0, 0, 1, {made}, 0, 0, false, 0\n"
            )
        root = ET.Element("campaignContacts")
        campaign = ET.SubElement(root, "campaign", name=str(row["name"]))
        ET.SubElement(campaign, "refURL").text = f"{self.url}{BASE}/{campaign_id}"
        ET.SubElement(root, "csvdata").text = out.getvalue()
        return _xml(root)

    async def import_status(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        if self.state.campaign(campaign_id) is None:
            return _error(404, "campaign not found")
        count, started = getattr(self, "_last_import", (0, 0))
        root = ET.Element("statusDetails")
        ET.SubElement(root, "campaignId").text = str(campaign_id)
        status = ET.SubElement(ET.SubElement(root, "importStatus"), "status", importType="MANUAL")
        ET.SubElement(status, "result").text = "SUCCESS"
        ET.SubElement(status, "startTime").text = str(started)
        ET.SubElement(status, "numContactsImported").text = str(count)
        return _xml(root)
