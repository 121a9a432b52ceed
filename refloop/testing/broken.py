"""Deliberately broken loops: each breaks one rule, and the stateful test
(and the model checker, for its model twins) must catch every one.

Each is a small subclass of the real loop that changes one method, of the
loop or of one of its parts (installed in place of the real part), so what
is tested is the checker's power to notice that one change.
"""

from __future__ import annotations

import math
import selectors
from typing import Any

from .._loop import Loop
from .._suspend import Continuation
from .._task import Task
from .._timers import _COMPACT_MIN, TimerHandle, Timers
from .._waiters import Waiters, _Slot
from .broken_doors import (
    AbruptShutdownLoop,
    CloseThenRefuseLoop,
    EarlyStopLoop,
    HalfClosedLoop,
    HastyDeadlockLoop,
    KeepsSocketsLoop,
    LeakyCloseLoop,
    PostponedInterruptLoop,
    SwallowingHandlerLoop,
)
from .broken_faults import SwallowResetLoop, WaitOnEintrLoop
from .broken_pool import OrphanKeepsRunLoop, ResumingOrphanLoop, UncountedDropLoop

__all__ = [
    "BROKEN_LOOPS",
    "FOCUSED_BROKEN_LOOPS",
    "POOL_BROKEN_LOOPS",
    "TRACE_BROKEN_LOOPS",
]


class LifoLoop(Loop):
    """Resumed tasks jump the queue (breaks cont.resume-enqueues: FIFO)."""

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        super()._enqueue(task, value, exc)
        self._ready.appendleft(self._ready.pop())


class _LoseLastReader(Waiters):
    def ready(
        self, events: list[tuple[selectors.SelectorKey, int]]
    ) -> list[Continuation]:
        if len(events) > 1:
            key, _ = events[-1]
            slot: _Slot = key.data
            if slot.reader is not None:
                slot.reader = None
                self.count -= 1
                self.changed.add(slot.fd)
        return super().ready(events)


class LostWakeupLoop(Loop):
    """When several waiters are ready at once, the last one's wakeup is
    dropped: its registration is removed but its task never resumes (breaks
    tick.wake-order and inv.one-place)."""

    _Waiters = _LoseLastReader


class _DeafDrop(Waiters):
    def drop(self, slot: _Slot, why: str) -> None:
        parked = [w for w in (slot.reader, slot.writer) if w is not None]
        slot.reader = slot.writer = None
        self.count -= len(parked)
        super().drop(slot, why)


class DeafCloseLoop(Loop):
    """Closing a socket removes its waiters without waking them (breaks
    io.close.wakes)."""

    _Waiters = _DeafDrop


class GreedyLoop(Loop):
    """The seed's drain: run until the queue is empty, so work queued during
    the drain runs in the same iteration (breaks tick.ready-snapshot)."""

    def _drain(self) -> None:
        ready = self._ready
        try:
            while ready:
                task = ready.popleft()
                if self._trace is not None:
                    self._trace("run", task)
                self._current = task
                task._step()
        finally:
            self._current = None


class NewestFirstLoop(Loop):
    """Ready waiters wake newest registration first (breaks tick.wake-order)."""

    def _wake(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        ready = self._ready
        mark = len(ready)
        super()._wake(events)
        woken = [ready.pop() for _ in range(len(ready) - mark)]
        ready.extend(woken)


class DoubleWakeLoop(Loop):
    """A woken reader is queued twice (breaks cont.one-shot / inv.one-resume)."""

    def _wake(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        ready = self._ready
        mark = len(ready)
        super()._wake(events)
        if len(ready) > mark:
            ready.append(ready[-1])


class _NewestTiesFirst(Timers):
    def pop_due(self, now: float) -> list[TimerHandle]:
        return sorted(super().pop_due(now), key=lambda h: (h.when, -h.seq))


class LifoTimersLoop(Loop):
    """Timers with equal deadlines fire newest first (breaks timer.order)."""

    _Timers = _NewestTiesFirst


class _EarlyTimers(Timers):
    def pop_due(self, now: float) -> list[TimerHandle]:
        return super().pop_due(now + 1.0)


class EarlyTimerLoop(Loop):
    """Timers fire up to one second before their deadline (breaks
    timer.fire: never before the deadline by the loop's clock)."""

    _Timers = _EarlyTimers


class _LeakyUnpark(Waiters):
    def unpark(self, k: Continuation) -> bool:
        return k._slot is not None


class LeakyCancelLoop(Loop):
    """Cancelling a waiting task leaves its socket waiter registered (breaks
    cancel.waiting and inv.waiter-live)."""

    _Waiters = _LeakyUnpark


class _StaleUnpark(Waiters):
    def unpark(self, k: Continuation) -> bool:
        slot = k._slot
        already = slot is not None and slot.fd in self.changed
        found = super().unpark(k)
        if slot is not None and not already:
            self.changed.discard(slot.fd)
        return found


class StaleInterestLoop(Loop):
    """Cancelling a waiting task forgets its waiter but leaves the selector
    watching its socket (breaks io.interest): once the socket is ready,
    every poll returns at once and the loop busy-polls."""

    _Waiters = _StaleUnpark


class LostPostLoop(Loop):
    """A call posted from another thread does not wake the poll (breaks
    thread.no-lost-wakeup): the loop blocks while work is pending."""

    def call_soon_threadsafe(self, fn: Any, *args: Any) -> None:
        self._threads.posted.append((fn, args))


class EagerIdleLoop(Loop):
    """Idle calls run even when tasks are runnable (breaks idle)."""

    def _drain(self) -> None:
        if self._timers.idle:
            self._timers.run_idle(self._trace)
        super()._drain()


class _ForgetfulTimers(Timers):
    def restore(self, handles: list[TimerHandle]) -> None:
        pass


class DroppingTimersLoop(Loop):
    """A BaseException from a timer callback drops the other timers due in
    that iteration (breaks timer.callback-base-exception): a sleeper whose
    timer came after it waits forever with no timer."""

    _Timers = _ForgetfulTimers


class _GreedyIdle(Timers):
    def run_idle(self, trace: Any) -> None:
        while self.idle:
            super().run_idle(trace)


class GreedyIdleLoop(Loop):
    """An idle iteration also runs the idle calls made during it (breaks
    idle.snapshot): an idle call that makes another runs both at once."""

    _Timers = _GreedyIdle


class UnclampedPollLoop(Loop):
    """The poll is given the full wait, however far the deadline (breaks
    tick.poll-clamp): a deadline a month away raises OverflowError."""

    _max_poll = math.inf


class _StaleCount(Timers):
    def _withdraw(self, handle: TimerHandle) -> None:
        cancelled = self._cancelled
        super()._withdraw(handle)
        if not handle.idle and cancelled >= _COMPACT_MIN and self._cancelled == 0:
            self._cancelled = cancelled + 1


class StaleCountTimersLoop(Loop):
    """Rebuilding the timer heap does not reset its count of cancelled
    entries (breaks timer.cancel.memory's bookkeeping): the loop then counts
    fewer pending timers than it has, and run() reports a deadlock while a
    task sleeps."""

    _Timers = _StaleCount


BROKEN_LOOPS: dict[str, type[Loop]] = {
    cls.__name__: cls
    for cls in (
        LifoLoop,
        LostWakeupLoop,
        DeafCloseLoop,
        GreedyLoop,
        NewestFirstLoop,
        DoubleWakeLoop,
        LifoTimersLoop,
        EarlyTimerLoop,
        LeakyCancelLoop,
        StaleInterestLoop,
        LostPostLoop,
        EagerIdleLoop,
        DroppingTimersLoop,
        UnclampedPollLoop,
        GreedyIdleLoop,
        CloseThenRefuseLoop,
        HastyDeadlockLoop,
        AbruptShutdownLoop,
        EarlyStopLoop,
        LeakyCloseLoop,
        SwallowingHandlerLoop,
        SwallowResetLoop,
        WaitOnEintrLoop,
        StaleCountTimersLoop,
        KeepsSocketsLoop,
        PostponedInterruptLoop,
        HalfClosedLoop,
        UncountedDropLoop,
        ResumingOrphanLoop,
    )
}

# Broken loops that each have a focused test (tests/test_broken_focused.py),
# kept beside the stateful machine's catch of each (its call_later rule,
# its far and infinite delays, its foreign_call, run and shutdown rules).
FOCUSED_BROKEN_LOOPS: dict[str, type[Loop]] = {
    cls.__name__: cls
    for cls in (
        DroppingTimersLoop,
        UnclampedPollLoop,
        CloseThenRefuseLoop,
        HastyDeadlockLoop,
        AbruptShutdownLoop,
    )
}


class ZombieLoop(Loop):
    """A task that ends by cancellation is queued again, as if its
    cancelled wait were resumed after its end (breaks inv.one-place: a
    finished task stands nowhere). Kept apart from BROKEN_LOOPS: the native
    trace check catches it (explore.validate.native.resume), in the
    wind-up too (explore.validate.native.shutdown), before the loop ever
    steps the finished task."""

    def _forget(self, task: Task[Any]) -> None:
        super()._forget(task)
        if task.cancelled():
            self._ready.append(task)


# Broken loops of run_in_thread under cancellation, each with a focused test
# driving model and loop side by side (tests/test_pool_cancel.py). The
# stateful machine builds OrphanKeepsRunLoop's case too rarely for a hunt
# (a cancelled job behind a deadlocked run()); ResumingOrphanLoop's (a job
# outliving the timeout scope that absorbed its task's Cancelled) it builds
# since the finish_orphan rule, and it is in BROKEN_LOOPS too.
POOL_BROKEN_LOOPS: dict[str, type[Loop]] = {
    cls.__name__: cls for cls in (ResumingOrphanLoop, OrphanKeepsRunLoop)
}

# Broken loops that only the native trace check is asked to catch, from a
# run's trace alone (tests/test_explore_native_validate.py).
TRACE_BROKEN_LOOPS: dict[str, type[Loop]] = {cls.__name__: cls for cls in (ZombieLoop,)}
