"""Ctrl-C while `Loop.run` runs: ask the loop to wind down instead of raising
wherever the interpreter happens to be; a second Ctrl-C raises at once
(spec: loop.sigint).

Python runs signal handlers in the main thread, at its next bytecode: a
SIGINT that another thread receives (`signal.raise_signal` there, or
`_thread.interrupt_main()`) would wait for the main thread's poll to end on
its own. While the handler is installed, the loop's wakeup socket is
Python's signal wakeup fd too, so the poll wakes at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

__all__ = ["Interrupt"]


class Interrupt:
    """Catches SIGINT from `install()` until `restore()`, when it is safe to:
    in the main thread, with Python's default handler in place."""

    def __init__(self, wake: Callable[[], None], wakeup_fd: int = -1) -> None:
        self._wake = wake
        self._wakeup_fd = wakeup_fd
        # Invariant: True once a Ctrl-C arrived since install().
        self.interrupted = False
        self._previous: object = None
        # The wakeup fd found at install(), while ours replaces it.
        self._previous_fd: int | None = None

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
        if self._wakeup_fd != -1:
            # spec: loop.sigint (a SIGINT in any thread wakes the poll)
            found = signal.set_wakeup_fd(self._wakeup_fd, warn_on_full_buffer=False)
            if found == -1:
                self._previous_fd = -1  # none: restore() sets none again
            else:
                signal.set_wakeup_fd(found)  # someone else's: leave it theirs

    def _on_sigint(self, signum: int, frame: object) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self._wake()

    def restore(self) -> None:
        if self._previous_fd is not None:
            signal.set_wakeup_fd(self._previous_fd)
            self._previous_fd = None
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
            self._previous = None
