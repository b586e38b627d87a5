"""A simulated Unified CCE/PCCE Outbound API (the routes our dialer and an administrator
use), served over real HTTP, with results written to ``Dialer_Detail``.

Documented (Cisco developer reference, "Outbound API"): ``/unifiedconfig/config/campaign``
(list, get, update with ``changeStamp``), ``…/campaign/<id>/import`` (CSV ``fileContent``
with a ``delimiter``; at most 10,000 records a request; at most 30 requests queued, then
503 "Request processing queue is at capacity"), ``…/campaign/<id>/runtimestats``, and
basic auth of an administrator; a campaign not created through the API answers
``CceDBDataNotFoundException``.

Not documented, so chosen here (and the dialer is tolerant of any other choice): the list
envelope (``<results><campaigns>…``), the error body (``<apiErrors><apiError>…``), the
status of a successful import (200), and a stale ``changeStamp`` answered 400.
"""

from __future__ import annotations

import csv
import io
from xml.etree import ElementTree as ET

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.peers.cisco.server import HttpPeer, basic_auth
from tests.peers.cisco.state import SimState

QUEUE_CAPACITY = 30
MAX_RECORDS = 10_000
BASE = "/unifiedconfig/config/campaign"


def _xml(root: ET.Element, status: int = 200) -> Response:
    return Response(ET.tostring(root), status_code=status, media_type="application/xml")


def _error(status: int, kind: str, message: str) -> Response:
    root = ET.Element("apiErrors")
    error = ET.SubElement(root, "apiError")
    ET.SubElement(error, "errorType").text = kind
    ET.SubElement(error, "errorMessage").text = message
    return _xml(root, status)


class UcceSim:
    def __init__(self, state: SimState, *, username: str, password: str) -> None:
        self.state = state
        auth = basic_auth(username, password)
        routes = [
            Route(BASE, auth(self.list_campaigns), methods=["GET"]),
            Route(BASE + "/{id:int}", auth(self.get_campaign), methods=["GET"]),
            Route(BASE + "/{id:int}", auth(self.put_campaign), methods=["PUT"]),
            Route(BASE + "/{id:int}/import", auth(self.import_contacts), methods=["POST"]),
            Route(BASE + "/{id:int}/runtimestats", auth(self.runtime_stats), methods=["GET"]),
        ]
        self.peer = HttpPeer(Starlette(routes=routes))
        self.in_flight = 0

    @property
    def url(self) -> str:
        return self.peer.url

    def _campaign_xml(self, row: dict[str, object]) -> ET.Element:
        root = ET.Element("campaign")
        ET.SubElement(root, "refURL").text = f"{BASE}/{row['id']}"
        ET.SubElement(root, "name").text = str(row["name"])
        ET.SubElement(root, "changeStamp").text = str(row["change_stamp"])
        ET.SubElement(root, "maxAttempts").text = str(row["max_attempts"])
        ET.SubElement(root, "dialingMode").text = "PROGRESSIVEONLY"
        return root

    async def list_campaigns(self, request: Request) -> Response:
        root = ET.Element("results")
        listed = ET.SubElement(root, "campaigns")
        for row in self.state.all_campaigns():
            listed.append(self._campaign_xml(row))
        return _xml(root)

    async def get_campaign(self, request: Request) -> Response:
        row = self.state.campaign(int(request.path_params["id"]))
        if row is None:
            return _error(404, "CceDBDataNotFoundException", "no campaign with that id")
        return _xml(self._campaign_xml(row))

    async def put_campaign(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        row = self.state.campaign(campaign_id)
        if row is None:
            return _error(404, "CceDBDataNotFoundException", "no campaign with that id")
        try:
            body = ET.fromstring(await request.body())  # noqa: S314 - our own test peer
            stamp = int(body.findtext("changeStamp") or -1)
            attempts = int(body.findtext("maxAttempts") or row["max_attempts"])  # type: ignore[call-overload]
        except (ET.ParseError, ValueError):
            return _error(400, "invalidInput", "the body is not a campaign")
        if stamp != row["change_stamp"]:
            return _error(400, "staleChangeStamp", "the campaign changed since it was read")
        if not 1 <= attempts <= 100:
            return _error(400, "invalidInput", "maxAttempts must be 1 to 100")
        self.state.set_max_attempts(campaign_id, attempts)
        return Response(status_code=200)

    async def import_contacts(self, request: Request) -> Response:
        campaign_id = int(request.path_params["id"])
        with self.state.lock:
            if self.state.occupied + self.in_flight >= QUEUE_CAPACITY:
                self.state.refused += 1
                return _error(503, "serviceUnavailable", "Request processing queue is at capacity")
            self.in_flight += 1
        try:
            if self.state.campaign(campaign_id) is None:
                return _error(404, "CceDBDataNotFoundException", "no campaign with that id")
            try:
                body = ET.fromstring(await request.body())  # noqa: S314 - our own test peer
            except ET.ParseError:
                return _error(400, "invalidInput", "the body is not an import")
            delimiter = body.findtext("delimiter") or ","
            text = body.findtext("fileContent") or ""
            reader = csv.DictReader(io.StringIO(text.strip()), delimiter=delimiter)
            rows = [(r["AccountNumber"], r["Phone01"]) for r in reader]
            if len(rows) > MAX_RECORDS:
                return _error(400, "invalidInput", "at most 10000 records a request")
            if (body.findtext("overwriteData") or "false").lower() == "true":
                return _error(400, "invalidInput", "the simulator only appends")
            self.state.import_records(campaign_id, rows)
            return Response(status_code=200)
        finally:
            with self.state.lock:
                self.in_flight -= 1

    async def runtime_stats(self, request: Request) -> Response:
        contacts = self.state.contacts(int(request.path_params["id"]))
        root = ET.Element("runtimeStats")
        dialled = [c for c in contacts if c["status"] == "C"]
        ET.SubElement(root, "attemptedCount").text = str(len(dialled))
        ET.SubElement(root, "busyCount").text = str(sum(c["call_result"] == 9 for c in dialled))
        ET.SubElement(root, "voiceCount").text = str(sum(c["call_result"] == 10 for c in dialled))
        ET.SubElement(root, "pendingCount").text = str(len(contacts) - len(dialled))
        return _xml(root)
