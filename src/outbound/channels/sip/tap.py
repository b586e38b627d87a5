"""The far end's audio of each answered call, from baresip 1.0's ``sndfile`` module.

``sndfile`` writes every call's received audio to ``<snd_path>/dump-<start second>-dec.wav``
(and what we send to ``…-enc.wav``) while the call runs; the name says nothing of the call.
The file is opened when the call's audio starts, just before baresip reports the call up, so
at ``CALL_ESTABLISHED`` the lane *claims* the file at once: renames it ``call-<attempt>.wav``
(the writer keeps its descriptor: Linux renames an open file) and deletes the ``enc`` one.

Two calls of one process whose audio starts in the same second get the same name. When the
second opens it after the first was claimed it gets a fresh file: no harm. When both opened
it before the claim (a few ms), they write into one file: the second call finds no file of
its own, and both are **collided** (their audio is mixed): detection does not run on them
(NOTSURE, cause ``NOTAP``) rather than judging one call on the other's audio.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path

_DUMP = re.compile(r"^dump-(?P<stamp>\d{4}(?:-\d{2}){5})-dec\.wav$")


class TapDir:
    """One baresip process's ``snd_path``: claims each call's file; thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp_of: dict[int, str] = {}  # attempt -> the second its file was named by
        self.collided: set[int] = set()

    def reset(self) -> None:
        """A (re)started process: empty the folder of its predecessor's files."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.iterdir():
            with contextlib.suppress(OSError):
                old.unlink()
        with self._lock:
            self._stamp_of.clear()
            self.collided.clear()

    def claim(self, attempt_id: int) -> Path | None:
        """The file of the call just reported up, renamed for it; None when it has none of
        its own (then it and the call that took its file are marked collided)."""
        with self._lock:
            found = sorted(
                (m.group("stamp"), p.name)
                for p in self.folder.iterdir()
                if (m := _DUMP.match(p.name)) is not None
            )
            if not found:
                # Our file was opened under the name another call had just claimed.
                stamps = set(self._stamp_of.values())
                latest = max(stamps) if stamps else None
                self.collided.add(attempt_id)
                self.collided.update(a for a, s in self._stamp_of.items() if s == latest)
                return None
            # The oldest unclaimed file: calls are reported up in the order their audio began.
            stamp, name = found[0]
            mine = self.folder / f"call-{attempt_id}.wav"
            (self.folder / name).rename(mine)
            with contextlib.suppress(OSError):
                (self.folder / name.replace("-dec.wav", "-enc.wav")).unlink()
            self._stamp_of[attempt_id] = stamp
            return mine

    def is_collided(self, attempt_id: int) -> bool:
        with self._lock:
            return attempt_id in self.collided

    def release(self, attempt_id: int) -> None:
        """The call is over: its file goes."""
        with self._lock:
            self._stamp_of.pop(attempt_id, None)
            self.collided.discard(attempt_id)
        with contextlib.suppress(OSError):
            (self.folder / f"call-{attempt_id}.wav").unlink()
