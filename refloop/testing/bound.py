"""A bound in seconds on the harness's calls into the loop under test: a
loop that iterates on without polling, or never returns from an iteration,
is stopped by SIGALRM and reported as "unsettled", instead of hanging the
test (the polls' own bound, interpret.RUN_POLLS, catches a loop that polls
on and on)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RUN_SECONDS", "Unsettled", "bounded"]

# Far more than any generated program takes (milliseconds).
RUN_SECONDS = 30.0


class Unsettled(Exception):
    """The loop under test did not settle: raised from its poll past
    RUN_POLLS polls, or by the alarm past RUN_SECONDS."""


@contextmanager
def bounded() -> Iterator[None]:
    """Raise Unsettled in the body once it has run for RUN_SECONDS (in the
    main thread only, where signals arrive; elsewhere it is unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise Unsettled(f"the loop under test ran for {RUN_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, RUN_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
