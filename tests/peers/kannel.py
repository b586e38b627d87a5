"""A real Kannel (Debian ``kannel``: bearerbox and smsbox) for the tests, with a generated
configuration: an ``smpp`` SMSC connection (transceiver) to the test SMSC, the sendsms
interface, and every inbound message handed to our ``get-url``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

CONFIG = """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = adminpw
status-password = statuspw
admin-allow-ip = "127.0.0.1"
smsbox-port = {box_port}
smsbox-interface = 127.0.0.1
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
log-file = "{dir}/bearerbox.log"
log-level = 1
dlr-storage = internal
sms-resend-freq = 1

group = smsc
smsc = smpp
smsc-id = testsmsc
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = pw
system-type = ""
msg-id-type = 0x03
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{dir}/smsbox.log"
log-level = 1

group = sendsms-user
username = {username}
password = {password}

group = sms-service
keyword = default
catch-all = yes
get-url = "{get_url}"
max-messages = 0
"""


def available() -> bool:
    return shutil.which("bearerbox") is not None and shutil.which("smsbox") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


class Kannel:
    def __init__(
        self, directory: Path, *, smsc_port: int, get_url: str, username: str, password: str
    ) -> None:
        self.dir = directory
        self.sendsms_port = _free_port()
        self.box_port = _free_port()
        self.config = directory / "kannel.conf"
        self.config.write_text(
            CONFIG.format(
                admin_port=_free_port(),
                box_port=self.box_port,
                sendsms_port=self.sendsms_port,
                smsc_port=smsc_port,
                dir=directory,
                username=username,
                password=password,
                get_url=get_url,
            )
        )
        self._boxes: list[subprocess.Popen[bytes]] = []

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def start(self) -> Kannel:
        for box in ("bearerbox", "smsbox"):
            log = (self.dir / f"{box}.out").open("wb")
            self._boxes.append(
                subprocess.Popen([box, str(self.config)], stdout=log, stderr=subprocess.STDOUT)
            )
            if box == "bearerbox":
                _wait_port(self.box_port)
        _wait_port(self.sendsms_port)
        return self

    def stop(self) -> None:
        """Stop both boxes (a Kannel never started stops at once)."""
        for box in reversed(self._boxes):
            box.terminate()
        for box in self._boxes:
            try:
                box.wait(10)
            except subprocess.TimeoutExpired:
                box.kill()
                box.wait()
