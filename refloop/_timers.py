"""Timers: a heap of deadlines with lazy deletion, and the clocks.

Rules this module keeps (spec: timer.*):

1. Timers fire in deadline order; equal deadlines fire in the order they
   were scheduled (the heap key is (deadline, sequence number)).
2. A cancelled timer stays in the heap until it reaches the top or until
   cancelled entries outnumber live ones, when the heap is rebuilt without
   them; memory stays proportional to the live timers.
3. Bad times are refused when the timer is made, never found in the heap
   later.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import LoopError

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["Clock", "TimerHandle", "TimerQueue", "VirtualClock", "check_time"]

Clock = Callable[[], float]

# Rebuild the heap when cancelled entries exceed this many and outnumber the
# live ones (spec: timer.cancel.memory).
_COMPACT_MIN = 64


def _released() -> None:
    """What a fired or cancelled handle holds instead of its callback."""


def check_time(value: object, what: str) -> float:
    """`value` as a float, or TypeError/ValueError naming it (spec:
    timer.validate). Infinities pass (spec: timer.infinite); NaN does not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        # spec: timer.validate
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")
    result = float(value)
    # spec: timer.infinite
    if math.isnan(result):
        raise ValueError(
            f"{what} must be a finite number of seconds (or inf: never), got {value!r}"
        )
    return result


def _check_finite(value: object, what: str) -> float:
    result = check_time(value, what)
    if math.isinf(result):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


class TimerHandle:
    """A scheduled call; `cancel()` it to prevent it (harmless if it ran)."""

    __slots__ = ("_args", "_fn", "_queue", "cancelled", "fired", "seq", "task", "when")

    def __init__(
        self,
        queue: TimerQueue,
        when: float,
        seq: int,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        task: Task[Any] | None,
    ) -> None:
        self._queue = queue
        self.when = when
        self.seq = seq
        self._fn = fn
        self._args = args
        # The task that scheduled it (for traces), if any.
        self.task = task
        self.cancelled = False
        # Invariant: a handle is in its queue's heap until it fires or, once
        # cancelled, until the heap drops it.
        self.fired = False

    def cancel(self) -> None:
        if not self.cancelled:
            if threading.get_ident() != self._queue._owner:
                # spec: thread.refused-unchanged
                raise LoopError(
                    f"{self!r} was cancelled from thread "
                    f"{threading.current_thread().name!r}, but its loop belongs "
                    "to another; use call_soon_threadsafe(handle.cancel)"
                )
            self.cancelled = True
            if not self.fired:
                self._release()
                self._queue._cancelled_one()

    def _release(self) -> tuple[Callable[..., object], tuple[Any, ...]]:
        """Take the call out of the handle, to make it or drop it. A handle
        that has fired or was cancelled holds no callback: a sleep's
        continuation refers to its handle (to cancel it), and the handle must
        not refer back, or every sleep would leave a cycle for the GC."""
        call = self._fn, self._args
        self._fn, self._args = _released, ()
        return call

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<TimerHandle at {self.when:g} #{self.seq} {self._fn!r}{state}>"


class TimerQueue:
    """The loop's pending timers."""

    def __init__(self) -> None:
        # Invariant: a heap of (when, seq, handle); `_cancelled` counts the
        # entries whose handle is cancelled but still in the heap.
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = 0
        self._cancelled = 0
        # The thread whose loop this is (it creates the queue).
        self._owner = threading.get_ident()

    def __len__(self) -> int:
        return len(self._heap) - self._cancelled

    def push(
        self,
        when: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        task: Task[Any] | None,
    ) -> TimerHandle:
        handle = TimerHandle(self, when, self._seq, fn, args, task)
        heapq.heappush(self._heap, (when, self._seq, handle))
        self._seq += 1
        return handle

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        heap = self._heap
        # spec: timer.cancel.memory
        if self._cancelled > _COMPACT_MIN and self._cancelled * 2 > len(heap):
            self._heap = [entry for entry in heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> list[TimerHandle]:
        """Remove and return the live timers due at `now`, in firing order."""
        heap = self._heap
        due = []
        # spec: timer.order
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            if handle.cancelled:
                self._cancelled -= 1
            else:
                handle.fired = True
                due.append(handle)
        return due

    def restore(self, handles: list[TimerHandle]) -> None:
        """Put back due timers that were popped but not run (a callback
        before them raised a BaseException): they stay due."""
        for handle in handles:
            if not handle.cancelled:
                handle.fired = False
                heapq.heappush(self._heap, (handle.when, handle.seq, handle))

    def handles(self) -> list[TimerHandle]:
        """Live timers in firing order."""
        return [entry[2] for entry in sorted(self._heap) if not entry[2].cancelled]

    def clear(self) -> None:
        self._heap.clear()
        self._cancelled = 0


class VirtualClock:
    """A clock that moves only when told: `Loop(clock=VirtualClock())`, then
    `clock.advance(seconds)`. For tests and models (spec: timer.clock)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = _check_finite(start, "start")

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        step = _check_finite(seconds, "seconds")
        if step < 0:
            raise ValueError(f"a clock cannot go backwards: advance({seconds!r})")
        self._now += step


# The loop's default clock: the builtin itself, so reading it costs no
# Python frame (it is read once per sleep and once per iteration with timers).
monotonic: Clock = time.monotonic
