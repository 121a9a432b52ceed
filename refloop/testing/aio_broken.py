"""The asyncio-level broken-loop catalogue: refloop.aio loops that each break
one aio rule, which the asyncio-level stateful test (aio_machine.py) and the
focused checks (tests/test_aio_broken_loops.py) must catch.

Each is a subclass of `RefloopEventLoop` that changes one public asyncio
method (or asyncio's `_write_to_self` hook), so what is tested is the
checker's power to notice that one change, and none depends on the core's
internals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVarTuple, Unpack

from ..aio import RefloopEventLoop

__all__ = [
    "AIO_BROKEN_LOOPS",
    "CancelledStillRuns",
    "DeferredRemoveReader",
    "EarlyTimer",
    "LostThreadsafeWakeup",
]

_Ts = TypeVarTuple("_Ts")

# How early EarlyTimer fires: more than one tick of the machine's clock
# (aio_machine.UNIT, 1/128 s), as a coarse reading of clock_resolution would.
EARLY = 0.01


class CancelledStillRuns(RefloopEventLoop):
    """call_soon queues the callback but returns a decoy handle, so cancelling
    what the caller holds does not stop the callback (breaks
    aio.cancelled-skip)."""

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        super().call_soon(callback, *args, context=context)
        return asyncio.Handle(callback, args, self, context)


class EarlyTimer(RefloopEventLoop):
    """Timers are due EARLY seconds before their deadline (breaks
    aio.timer.order: never before the deadline by the loop's clock)."""

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        return super().call_at(when - EARLY, callback, *args, context=context)

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        return super().call_later(delay - EARLY, callback, *args, context=context)


class DeferredRemoveReader(RefloopEventLoop):
    """remove_reader defers the removal to a later callback, so a reader
    callback already queued in this iteration still runs (breaks
    aio.watch.remove)."""

    def remove_reader(self, fd: Any) -> bool:
        self.call_soon(super().remove_reader, fd)
        return True


class LostThreadsafeWakeup(RefloopEventLoop):
    """call_soon_threadsafe queues the handle but never wakes the poll
    (breaks aio.threadsafe)."""

    def _write_to_self(self) -> None:
        pass


AIO_BROKEN_LOOPS: dict[str, type[RefloopEventLoop]] = {
    "cancelled-skip": CancelledStillRuns,
    "timer-early": EarlyTimer,
    "reader-after-remove": DeferredRemoveReader,
    "lost-wakeup": LostThreadsafeWakeup,
}
