"""Broken loops for trace validation (refloop/explore/_validate.py): each a
refloop.aio loop whose core takes one decision the model does not allow,
while the test it runs may pass. Trace validation must catch each from the
run's trace alone (tests/test_explore_validate.py).

Unlike refloop/testing/aio_broken.py, whose loops change a public asyncio
method, these change the scheduling core (its drain, its timers, its
waiters): decisions no asyncio-level observer sees directly.
"""

from __future__ import annotations

import selectors
from typing import Any

from .._task import Task
from .._timers import TimerHandle
from ..aio import RefloopEventLoop
from ..aio._core import Core
from ..aio._timers import AioTimers
from ..aio._watchers import AioWaiters
from .aio_broken import CancelledStillRuns, EarlyTimer

__all__ = [
    "TRACE_BROKEN_LOOPS",
    "GreedyDrain",
    "LateTimers",
    "ReversedDueTimers",
    "ReversedWake",
    "RunsCancelled",
]


class _ReversedTimers(AioTimers):
    def pop_due(self, now: float) -> list[TimerHandle]:
        return super().pop_due(now)[::-1]


class _ReversedTimersCore(Core):
    _Timers = _ReversedTimers


class ReversedDueTimers(RefloopEventLoop):
    """Timers due in one iteration fire latest deadline first (breaks
    aio.timer.order)."""

    _Core = _ReversedTimersCore


class _LateTimers(AioTimers):
    def pop_due(self, now: float) -> list[TimerHandle]:
        # A timer is due only once the clock has passed its deadline.
        return super().pop_due(now - 1e-9)


class _LateTimersCore(Core):
    _Timers = _LateTimers


class LateTimers(RefloopEventLoop):
    """A timer whose deadline the clock has just reached is not fired
    (breaks aio.timer.order: due when the clock reaches the deadline)."""

    _Core = _LateTimersCore


class _RunsCancelledCore(Core):
    def _drain(self) -> None:
        ready = self._ready
        for _ in range(len(ready)):
            entry = ready.popleft()
            if type(entry) is Task:
                entry._step()
            else:
                entry._run()  # the cancelled check is missing


class RunsCancelled(RefloopEventLoop):
    """The drain runs cancelled handles (breaks aio.cancelled-skip)."""

    _Core = _RunsCancelledCore


class _GreedyCore(Core):
    def _drain(self) -> None:
        ready = self._ready
        while ready:  # until empty, not the snapshot taken when it began
            entry = ready.popleft()
            if type(entry) is Task:
                entry._step()
            elif not entry._cancelled:
                entry._run()


class GreedyDrain(RefloopEventLoop):
    """The drain also runs what it queued itself (breaks
    tick.ready-snapshot)."""

    _Core = _GreedyCore


class _ReversedWaiters(AioWaiters):
    def take_ready(self, events: list[tuple[selectors.SelectorKey, int]]) -> list[Any]:
        return super().take_ready(events)[::-1]


class _ReversedWakeCore(Core):
    _Waiters = _ReversedWaiters


class ReversedWake(RefloopEventLoop):
    """What one poll finds ready joins the run queue newest registration
    first (breaks aio.watch.order)."""

    _Core = _ReversedWakeCore


# Each broken loop and the rule its trace must be caught breaking.
TRACE_BROKEN_LOOPS: dict[str, tuple[type[RefloopEventLoop], str]] = {
    "ReversedDueTimers": (ReversedDueTimers, "aio.timer.order"),
    "LateTimers": (LateTimers, "aio.timer.order"),
    "EarlyTimer": (EarlyTimer, "aio.timer.order"),
    "RunsCancelled": (RunsCancelled, "aio.cancelled-skip"),
    "CancelledStillRuns": (CancelledStillRuns, "aio.run-queue"),
    "GreedyDrain": (GreedyDrain, "tick.ready-snapshot"),
    "ReversedWake": (ReversedWake, "aio.watch.order"),
}
