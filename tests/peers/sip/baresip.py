"""baresip as a test peer: agents' phones (registered at kamailio, auto-answer) and
customers (one account per number, answering after a chosen ring time, following REFER).

Each process runs in its own folder on free ports; a ``Ctl`` client keeps every event it
sees with the monotonic time it arrived, and sends commands one at a time (baresip 1.0
takes one command in flight).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.peers.sip.far_end import free_block


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic() when it arrived
    type: str
    param: str
    peer: str
    call_id: str
    account: str  # the AoR of the account the call is on


def config_text(
    *, sip_port: int, ctrl_port: int, rtp: int, max_calls: int, snd: Path | None
) -> str:
    lines = [
        ("poll_method", "epoll"),
        ("sip_listen", f"127.0.0.1:{sip_port}"),
        ("net_interface", "127.0.0.1"),
        ("call_local_timeout", "120"),
        ("call_max_calls", str(max_calls)),
        ("audio_player", "aubridge,nullplay"),
        ("audio_source", "aubridge,nullsrc"),
        ("audio_alert", "aubridge,nullalert"),
        ("rtp_ports", f"{rtp}-{rtp + 199}"),
        ("module_path", "/usr/lib/baresip/modules"),
        ("module", "g711.so"),
        ("module", "aubridge.so"),
        ("module", "aufile.so"),
        ("module_tmp", "account.so"),
        ("module_app", "menu.so"),
        ("module_app", "ctrl_tcp.so"),
        ("ctrl_tcp_listen", f"127.0.0.1:{ctrl_port}"),
    ]
    if snd is not None:  # writes each call's received audio to <snd>/dump-…-dec.wav
        lines += [("module", "sndfile.so"), ("snd_path", str(snd))]
    return "".join(f"{k:<20}{v}\n" for k, v in lines)


def silence(path: Path, seconds: int = 120) -> Path:
    """A silent 8 kHz WAV: a customer's audio source (baresip sends RTP, and so DTMF
    events, only while its source gives frames)."""
    if not path.exists():
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\0\0" * 8000 * seconds)
    return path


class Ctl:
    """A lock-step ctrl_tcp client that records every event."""

    def __init__(self, port: int, *, on_event: Any = None) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._sock.settimeout(None)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.events: list[Event] = []
        self._on_event = on_event
        self._responses: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._token = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while data := self._sock.recv(65536):
                buffer += data
                while b":" in buffer:
                    head, rest = buffer.split(b":", 1)
                    size = int(head)
                    if len(rest) < size + 1:
                        break
                    message = json.loads(rest[:size])
                    buffer = rest[size + 1 :]
                    if message.get("response"):
                        self._responses.put(message)
                    elif message.get("event"):
                        event = Event(
                            time.monotonic(),
                            str(message.get("type", "")),
                            str(message.get("param") or ""),
                            str(message.get("peeruri") or ""),
                            str(message.get("id") or ""),
                            str(message.get("accountaor") or ""),
                        )
                        self.events.append(event)
                        if self._on_event is not None:
                            self._on_event(event)
        except OSError:
            return

    def command(self, name: str, params: str = "") -> dict[str, Any]:
        with self._lock:
            self._token += 1
            body = json.dumps({"command": name, "params": params, "token": str(self._token)})
            raw = body.encode()
            self._sock.sendall(str(len(raw)).encode() + b":" + raw + b",")
            while True:
                response = self._responses.get(timeout=10)
                if response.get("token") == str(self._token):
                    return response

    def of(self, kind: str) -> list[Event]:
        return [e for e in list(self.events) if e.type == kind]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class Baresip:
    """One baresip process; ``accounts`` lines may use ``{port}`` (its own SIP port)."""

    def __init__(
        self, folder: Path, accounts: list[str], *, max_calls: int, snd: bool = False
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        base = free_block(3)  # SIP (TLS takes the port above it) and the control port
        self.sip_port, self.ctrl_port = base, base + 2
        self.snd = folder / "snd" if snd else None
        if self.snd is not None:
            self.snd.mkdir(exist_ok=True)
        (folder / "config").write_text(
            config_text(
                sip_port=self.sip_port,
                ctrl_port=self.ctrl_port,
                rtp=free_block(200),
                max_calls=max_calls,
                snd=self.snd,
            )
        )
        lines = "".join(a.format(port=self.sip_port) + "\n" for a in accounts)
        (folder / "accounts").write_text(lines)
        (folder / "contacts").write_text("")
        log = open(folder / "baresip.log", "wb")  # noqa: SIM115
        self._popen = subprocess.Popen(
            ["baresip", "-f", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.ctl = Ctl(self.ctrl_port, on_event=self.on_event)

    def on_event(self, event: Event) -> None:
        """Subclasses react to events (the reader thread: never a command from here)."""

    def stop(self) -> None:
        self.ctl.close()
        if self._popen.poll() is None:
            self._popen.kill()  # baresip 1.0's SIGTERM waits for open calls
        self._popen.wait(5)


class Phone(Baresip):
    """An agent's phone: registered at the proxy, answers by itself, one call at a time."""

    def __init__(self, folder: Path, user: str, proxy_port: int) -> None:
        self.user = user
        self.aor = f"sip:{user}@127.0.0.1:{proxy_port}"
        super().__init__(folder, [f"<{self.aor}>;regint=60;answermode=auto"], max_calls=1)

    def established(self) -> list[Event]:
        return self.ctl.of("CALL_ESTABLISHED")

    def spans(self) -> list[tuple[float, float, str]]:
        """(start, end, caller) of each call established at this phone (end: inf if up)."""
        ends = {e.call_id: e.at for e in self.ctl.of("CALL_CLOSED")}
        return [(e.at, ends.get(e.call_id, float("inf")), e.peer) for e in self.established()]

    def hang_up(self) -> int:
        """End the calls up now (the agent hangs up); how many there were."""
        closed = {e.call_id for e in self.ctl.of("CALL_CLOSED")}
        up = [e.call_id for e in self.established() if e.call_id not in closed]
        for call_id in up:
            if "setting current call" in str(self.ctl.command("callfind", call_id)):
                self.ctl.command("hangup")
        return len(up)


class Customers(Baresip):
    """One account per number (dialled as sip:<number>@this process); each answers after its
    ring time in seconds (None: never), plays silence (so DTMF can go out) and follows a
    REFER. ``snd``: the received audio of each call is written to ``snd``."""

    def __init__(
        self,
        folder: Path,
        ring: dict[str, float | None],
        *,
        snd: bool = False,
        registrar: int | None = None,
        audio: dict[str, Path] | None = None,
    ) -> None:
        """``registrar``: the port of a kamailio the numbers register at (then the dialer's
        trunk is that kamailio, which routes each number to its own process). ``audio``: what
        a number plays when it answers (a recorded greeting), instead of silence."""
        self.ring = ring
        # number -> when it answered: just before the accept command (its 200 OK follows
        # at once; baresip reports its own CALL_ESTABLISHED only tens of ms later)
        self.answered: dict[str, float] = {}
        self.calls: dict[str, str] = {}  # call id -> number, for incoming calls
        self.accounts: dict[str, str] = {}  # call id -> the account's AoR
        self.sent: list[dict[str, object]] = []  # responses to the DTMF sent
        self._due: queue.Queue[tuple[float, str]] = queue.Queue()
        folder.mkdir(parents=True, exist_ok=True)
        quiet = silence(folder / "silence.wav")
        host = f"127.0.0.1:{registrar}" if registrar else "127.0.0.1:{port}"
        regint = 60 if registrar else 0
        accounts = [
            f"<sip:{n}@{host}>;regint={regint};answermode=manual;"
            f"audio_source=aufile,{(audio or {}).get(n, quiet)}"
            for n in ring
        ]
        super().__init__(folder, accounts, max_calls=64, snd=snd)
        threading.Thread(target=self._answer, daemon=True).start()

    @property
    def trunk(self) -> str:
        return f"sip:127.0.0.1:{self.sip_port}"

    def on_event(self, event: Event) -> None:
        if event.type != "CALL_INCOMING":
            return
        number = event.account.split(":", 1)[-1].split("@", 1)[0]
        self.calls[event.call_id] = number
        self.accounts[event.call_id] = event.account
        delay = self.ring.get(number)
        if delay is not None:
            self._due.put((event.at + delay, event.call_id))

    def _answer(self) -> None:
        pending: list[tuple[float, str]] = []
        while True:
            with contextlib.suppress(queue.Empty):
                pending.append(self._due.get(timeout=0.005))
            now = time.monotonic()
            for job in sorted(p for p in pending if p[0] <= now):
                pending.remove(job)
                try:
                    if self._current(job[1]):
                        at = time.monotonic()
                        self.ctl.command("accept")
                        self.answered.setdefault(self.calls[job[1]], at)
                except (OSError, queue.Empty):
                    return

    def _current(self, call_id: str) -> bool:
        """Make the call current (its account first: accept acts on the current account)."""
        self.ctl.command("uafind", self.accounts[call_id])
        found = self.ctl.command("callfind", call_id)
        return "setting current call" in str(found.get("data", ""))

    def incoming(self, number: str) -> list[str]:
        return [c for c, n in list(self.calls.items()) if n == number]

    def send_digit(self, number: str, digit: str) -> None:
        for call_id in self.incoming(number):
            if self._current(call_id):
                self.sent.append(self.ctl.command("sndcode", digit))


class Kamailio:
    """kamailio as registrar and proxy on a free port, its runtime files in ``folder``."""

    CFG = Path(__file__).with_name("kamailio.cfg")

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_block(1)
        cfg = folder / "kamailio.cfg"
        text = self.CFG.read_text().replace("@PORT@", str(self.port))
        cfg.write_text(text.replace("@RUN@", str(folder)))
        log = open(folder / "kamailio.log", "wb")  # noqa: SIM115
        self._popen = subprocess.Popen(
            ["kamailio", "-DD", "-E", "-f", str(cfg), "-Y", str(folder),
             "-P", str(folder / "kamailio.pid"), "-m", "32", "-M", "4"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 10
        while not (folder / "kamailio_ctl").exists():
            if self._popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"kamailio did not start: {(folder / 'kamailio.log').read_text()}"
                )
            time.sleep(0.05)

    def registered(self) -> set[str]:
        """The AoRs (user parts) with a binding, read with kamcmd (the registrar's own view)."""
        out = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.folder / 'kamailio_ctl'}", "ul.dump"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        return {line.split(":", 1)[1].strip() for line in out.splitlines() if "AoR:" in line}

    def wait_registered(self, users: set[str], within: float = 10) -> None:
        deadline = time.monotonic() + within
        while not users <= self.registered():
            if time.monotonic() > deadline:
                raise RuntimeError(f"not registered: {users - self.registered()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._popen.poll() is None:
            self._popen.terminate()  # the -DD main process ends its children
            try:
                self._popen.wait(5)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(5)
