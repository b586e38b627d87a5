"""SIPp as the far end of the sip dialer's calls, on free loopback ports (tests and bench)."""

from __future__ import annotations

import csv
import random
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

SCENARIO = Path(__file__).with_name("uas.xml")
LOW, HIGH = 10_000, 32_000  # below the kernel's ephemeral ports (32768-60999)


def free_block(size: int) -> int:
    """The first of ``size`` consecutive ports free for TCP and UDP right now, from a random
    start in ``LOW``..``HIGH`` (scanning on past any port in use)."""
    base = random.randrange(LOW, HIGH - size)
    for _ in range(HIGH - LOW):
        taken = _first_taken(base, size)
        if taken is None:
            return base
        base = taken + 1 if taken + 1 + size < HIGH else LOW
    raise RuntimeError(f"no {size} free consecutive ports")


def _first_taken(base: int, size: int) -> int | None:
    for port in range(base, base + size):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_INET, kind) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    return port
    return None


def dialer_ports(processes: int) -> dict[str, int]:
    """The sip dialer's port options: SIP (two a process, then the relay's) and control ports
    free now; the RTP range follows (baresip draws its ports there and passes over any in use)."""
    base = free_block(3 * processes + 1)
    ctrl = base + 2 * processes + 1
    return {"sip_port": base, "ctrl_port": ctrl, "rtp_port": ctrl + processes}


class FarEnd:
    """One SIPp UAS running ``uas.xml``; ``hold_ms`` is how long a 204 call's transfer takes."""

    def __init__(self, folder: Path, *, hold_ms: int = 1000) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_block(1)
        self.media_port = free_block(2)
        self.log = folder / "sipp-logs.log"
        self.stats = folder / "sipp-stats.csv"
        self._popen = subprocess.Popen(
            [
                "sipp",
                "-sf", str(SCENARIO),
                "-i", "127.0.0.1",
                "-p", str(self.port),
                "-mp", str(self.media_port),
                "-d", str(hold_ms),
                "-max_socket", "4096",
                "-buff_size", "4194304",  # a burst of 500 INVITEs fits
                "-trace_logs", "-log_file", str(self.log),
                "-trace_stat", "-stf", str(self.stats), "-fd", "1",
                "-trace_err", "-error_file", str(folder / "sipp-errors.log"),
                "-nostdin",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
        )  # fmt: skip
        self._wait_listening()

    @property
    def trunk(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise RuntimeError(f"sipp exited with {self._popen.returncode}")
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                return  # bound by SIPp
            finally:
                probe.close()
            time.sleep(0.05)
        raise RuntimeError("sipp did not start listening")

    def invites(self) -> Counter[str]:
        """How many INVITEs reached the far end, per dialled user part (the number)."""
        return self.logged("INVITE")

    def logged(self, what: str) -> Counter[str]:
        """How often the scenario logged ``what`` (INVITE, CANCEL, BYE, LEFT UP), per number."""
        if not self.log.exists():
            return Counter()
        found: Counter[str] = Counter()
        for line in self.log.read_text().splitlines():
            if line.startswith(what + " "):
                found[line[len(what) + 1 :].strip()] += 1
        return found

    def peak_calls(self) -> int:
        """The most calls SIPp held at once, from its statistics file (sampled each second)."""
        if not self.stats.exists():
            return 0
        with self.stats.open() as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        return max((int(r["CurrentCall"]) for r in rows if r.get("CurrentCall")), default=0)

    def stop(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait(5)
