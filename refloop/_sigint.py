"""Ctrl-C while `Loop.run` runs: ask the loop to wind down instead of raising
wherever the interpreter happens to be; a second Ctrl-C raises at once
(spec: loop.sigint)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

__all__ = ["Interrupt"]


class Interrupt:
    """Catches SIGINT from `install()` until `restore()`, when it is safe to:
    in the main thread, with Python's default handler in place."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        # Invariant: True once a Ctrl-C arrived since install().
        self.interrupted = False
        self._previous: object = None

    def install(self) -> None:
        self.interrupted = False
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            previous = signal.getsignal(signal.SIGINT)
        except ValueError:
            return
        if previous is not signal.default_int_handler:
            return  # someone else handles Ctrl-C: leave it to them
        self._previous = previous
        # spec: loop.sigint
        signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: object) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self._wake()

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._previous = None
