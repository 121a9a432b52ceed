"""The loop's wakeup socketpair, the only way another thread reaches it.

Rule: a poster appends its call first and writes a byte second; the loop
drains the bytes first and takes the calls second. Then a call is never
stranded without a byte to wake the loop (spec: thread.no-lost-wakeup).

When the socket's buffer is full a byte is already waiting, so the write is
skipped: the poster never blocks and the loop never spins on it. A Linux
socketpair holds well over a hundred thousand single-byte writes before it is
full (measured here: SO_SNDBUF is 212992 bytes by default).
"""

from __future__ import annotations

import contextlib
import socket

__all__ = ["Wakeup"]


class Wakeup:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        return self._reader.fileno()

    def writer_fileno(self) -> int:
        """The end a poster writes to (Python's signal wakeup fd while
        `run` runs: spec loop.sigint)."""
        return self._writer.fileno()

    def notify(self) -> None:
        """Wake the loop's poll; never blocks."""
        # spec: thread.wakeup-full
        with contextlib.suppress(BlockingIOError):
            self._writer.send(b"\0")

    def drain(self) -> None:
        try:
            while self._reader.recv(4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
