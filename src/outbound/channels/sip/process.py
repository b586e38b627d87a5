"""One baresip process: its config written from the dialer's options, started, stopped.

Null audio comes from unpaired ``aubridge`` devices (no sound card, no CPU for silence);
``net_interface`` must name the address (``127.0.0.1``), not the interface. An Automated
campaign's message plays from a per-file account whose ``audio_source`` is ``aufile``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from outbound.channels.sip.config import RTP_PORTS_PER_PROCESS, SipDialerConfig

MODULES = ("g711.so", "aubridge.so", "aufile.so")


def config_text(config: SipDialerConfig, index: int, snd: Path | None = None) -> str:
    """``snd``: where ``sndfile`` writes each call's audio (the answering-machine tap)."""
    address = config.listen_address
    rtp = config.rtp_port + index * RTP_PORTS_PER_PROCESS
    lines = [
        ("poll_method", "epoll"),
        ("sip_listen", f"{address}:{config.sip_port + 2 * index}"),
        ("net_interface", address),
        ("call_local_timeout", "120"),
        ("call_max_calls", str(config.calls_per_process + 5)),
        ("audio_player", "aubridge,nullplay"),
        ("audio_source", "aubridge,nullsrc"),
        ("audio_alert", "aubridge,nullalert"),
        ("audio_buffer", "20-160"),
        ("rtp_ports", f"{rtp}-{rtp + RTP_PORTS_PER_PROCESS - 1}"),
        ("module_path", "/usr/lib/baresip/modules"),
        *(("module", m) for m in MODULES),
        ("module_tmp", "account.so"),
        ("module_app", "menu.so"),
        ("module_app", "ctrl_tcp.so"),
        ("ctrl_tcp_listen", f"{address}:{config.ctrl_port + index}"),
    ]
    if snd is not None:
        lines += [("module", "sndfile.so"), ("snd_path", str(snd))]
    return "".join(f"{key:<20}{value}\n" for key, value in lines)


def account_line(config: SipDialerConfig, user: str, audio_file: str | None = None) -> str:
    """An account that never registers and sends its INVITEs through the dialer's relay;
    with ``audio_file`` its calls play that file."""
    relay = f"sip:{config.listen_address}:{config.relay_port};lr"
    line = f'<sip:{user}@{config.listen_address}>;regint=0;answermode=manual;outbound="{relay}"'

    if audio_file is not None:
        line += f";audio_source=aufile,{audio_file}"
    return line


class BaresipProcess:
    def __init__(self, config: SipDialerConfig, index: int, root: Path) -> None:
        self.config = config
        self.index = index
        self.folder = root / f"baresip-{index}"
        self.ctrl_port = config.ctrl_port + index
        self.snd = self.folder / "snd"  # each call's received audio (tap.py)
        self._popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "config").write_text(config_text(self.config, self.index, self.snd))
        (self.folder / "accounts").write_text(
            account_line(self.config, self.config.from_user) + "\n"
        )
        (self.folder / "contacts").write_text("")

    def _stale_pid(self) -> int | None:
        """A baresip left running on this folder by a service that died without stopping it."""
        try:
            pid = int((self.folder / "baresip.pid").read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        mine = (
            cmdline[:1] == [self.config.baresip.encode()] and str(self.folder).encode() in cmdline
        )
        return pid if mine else None

    def start(self) -> None:
        stale = self._stale_pid()
        if stale is not None:  # it would hold our ports: end it
            with contextlib.suppress(OSError):
                os.kill(stale, signal.SIGKILL)
        self.write_config()
        log_path = self.folder / "baresip.log"
        out = open(log_path, "ab") if self.config.keep_logs else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._popen = subprocess.Popen(  # noqa: S603 (the binary is a checked setting)
                [self.config.baresip, "-f", str(self.folder)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C to the service is not a Ctrl-C to baresip
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        (self.folder / "baresip.pid").write_text(str(self._popen.pid))
        self.starts += 1

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def stop(self) -> None:
        popen, self._popen = self._popen, None
        if popen is None:
            return
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(3)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(3)
