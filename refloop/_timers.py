"""Timers and idle calls: a heap of deadlines with lazy deletion, and a FIFO
of calls waiting for the loop to be idle (the clocks are in refloop._clock).

Rules this part keeps (spec: timer.*, idle):

1. Timers fire in deadline order; equal deadlines fire in the order they
   were scheduled (the heap key is (deadline, sequence number)).
2. A cancelled timer stays in the heap until it reaches the top or until
   cancelled entries outnumber live ones, when the heap is rebuilt without
   them; memory stays proportional to the live timers. A cancelled idle call
   leaves its queue at once (the queue being non-empty decides the poll's
   timeout).
3. Bad times are refused when the timer is made (refloop._clock's
   `check_time`), never found in the heap later.
4. Timers and idle calls have one handle shape, `TimerHandle`; a handle lets
   go of its callback once it has run or was cancelled.

The part owns its fields; the loop reads `heap` and `idle` (never writes
them) to decide the poll's timeout and whether to fire or run idle calls.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import LoopError
from ._suspend import Continuation

if TYPE_CHECKING:
    from ._task import Task

    Enqueue = Callable[[Task[Any], object, BaseException | None], None]
    Tracer = Callable[[str, Task[Any]], None]

log = logging.getLogger("refloop")

__all__ = ["TimerHandle", "Timers"]

# Rebuild the heap when cancelled entries exceed this many and outnumber the
# live ones (spec: timer.cancel.memory).
_COMPACT_MIN = 64


def _released() -> None:
    """What a fired or cancelled handle holds instead of its callback."""


class TimerHandle:
    """A scheduled call, at a deadline or when idle; `cancel()` it to prevent
    it (harmless if it ran)."""

    __slots__ = (
        "_args",
        "_fn",
        "_queue",
        "cancelled",
        "fired",
        "idle",
        "seq",
        "task",
        "when",
    )

    def __init__(
        self,
        queue: Timers,
        when: float,
        seq: int,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        task: Task[Any] | None,
        idle: bool = False,
    ) -> None:
        self._queue = queue
        self.when = when
        self.seq = seq
        self._fn = fn
        self._args = args
        # The task that scheduled it (for traces), if any.
        self.task = task
        # True for an idle call (its `when` means nothing).
        self.idle = idle
        self.cancelled = False
        # Invariant: a timer is in its queue's heap until it fires or, once
        # cancelled, until the heap drops it; an idle call is in the idle
        # queue until it runs or is cancelled.
        self.fired = False

    @property
    def callback(self) -> tuple[Callable[..., object], tuple[Any, ...]]:
        """What it will call, with which arguments (nothing once it has run
        or was cancelled)."""
        return self._fn, self._args

    def cancel(self) -> None:
        if not self.cancelled:
            if threading.get_ident() != self._queue.owner:
                # spec: thread.refused-unchanged
                raise LoopError(
                    f"{self!r} was cancelled from thread "
                    f"{threading.current_thread().name!r}, but its loop belongs "
                    "to another; use call_soon_threadsafe(handle.cancel)"
                )
            self.cancelled = True
            if not self.fired:
                self._release()
                self._queue._withdraw(self)

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
        at = "idle" if self.idle else f"at {self.when:g}"
        return f"<TimerHandle {at} #{self.seq} {self._fn!r}{state}>"


class Timers:
    """The loop's pending timers and idle calls."""

    def __init__(self) -> None:
        # Invariant: the thread whose loop this is (it makes its parts); it
        # alone may cancel a handle (spec: thread.refused-unchanged).
        self.owner = threading.get_ident()
        # Invariant: a heap of (when, seq, handle); `_cancelled` counts the
        # entries whose handle is cancelled but still in the heap.
        self.heap: list[tuple[float, int, TimerHandle]] = []
        self._cancelled = 0
        # Invariant: the idle calls not yet run nor cancelled, in the order made.
        self.idle: deque[TimerHandle] = deque()
        # The next timer's and idle call's numbers; each increases by one per
        # handle made.
        self._seq = 0
        self._idle_seq = 0

    def __len__(self) -> int:
        """How many timers and idle calls are pending."""
        return len(self.heap) - self._cancelled + len(self.idle)

    def push(
        self,
        when: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        task: Task[Any] | None,
    ) -> TimerHandle:
        """Schedule `fn(*args)` at `when` (checked by the caller)."""
        handle = TimerHandle(self, when, self._seq, fn, args, task)
        heapq.heappush(self.heap, (when, self._seq, handle))
        self._seq += 1
        return handle

    def push_idle(
        self, fn: Callable[..., object], args: tuple[Any, ...], task: Task[Any] | None
    ) -> TimerHandle:
        """Schedule `fn(*args)` for when the loop is idle (spec: idle)."""
        handle = TimerHandle(self, 0.0, self._idle_seq, fn, args, task, idle=True)
        self.idle.append(handle)
        self._idle_seq += 1
        return handle

    def _withdraw(self, handle: TimerHandle) -> None:
        if handle.idle:
            with contextlib.suppress(ValueError):
                self.idle.remove(handle)
            return
        self._cancelled += 1
        heap = self.heap
        # spec: timer.cancel.memory
        if self._cancelled > _COMPACT_MIN and self._cancelled * 2 > len(heap):
            self.heap = [entry for entry in heap if not entry[2].cancelled]
            heapq.heapify(self.heap)
            self._cancelled = 0

    def next_deadline(self) -> float | None:
        heap = self.heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> list[TimerHandle]:
        """Remove and return the live timers due at `now`, in firing order."""
        heap = self.heap
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

    def pop_idle(self) -> list[TimerHandle]:
        """Remove and return the idle calls made so far, in the order made;
        the caller skips any that a call before it cancels."""
        idle = self.idle
        taken = list(idle)
        idle.clear()
        for handle in taken:
            handle.fired = True
        return taken

    def fire(self, now: float, enqueue: Enqueue, trace: Tracer | None) -> None:
        """Run the timers due at `now` (spec: timer.fire, timer.order); a
        sleep's continuation goes straight to `enqueue`, the loop's resume in
        its own thread."""
        # spec: timer.fire
        due = self.pop_due(now)
        for handle in due:
            if handle.cancelled:
                continue  # cancelled by a timer that fired before it
            if trace is not None and handle.task is not None:
                trace("fire", handle.task)
            fn, args = handle._release()
            if type(fn) is Continuation and not fn._used:
                # A sleep's continuation: fn() without its thread check.
                enqueue(fn._take(), None, None)
                continue
            try:
                fn(*args)
            except Exception as err:
                # spec: timer.callback-error
                log.error("timer callback %r raised", fn, exc_info=err)
            except BaseException:
                # spec: timer.callback-base-exception
                self.restore(due[due.index(handle) + 1 :])
                raise

    def restore(self, handles: list[TimerHandle]) -> None:
        """Put back due timers that were popped but not run (a callback
        before them raised a BaseException): they stay due."""
        for handle in handles:
            if not handle.cancelled:
                handle.fired = False
                heapq.heappush(self.heap, (handle.when, handle.seq, handle))

    def run_idle(self, trace: Tracer | None) -> None:
        """Run the idle calls made so far, in the order made (spec: idle)."""
        # spec: idle.snapshot
        batch = self.pop_idle()
        # spec: idle
        for handle in batch:
            if handle.cancelled:
                continue  # cancelled by an idle call that ran before it
            if trace is not None and handle.task is not None:
                trace("idle", handle.task)
            fn, args = handle._release()
            try:
                fn(*args)
            except Exception as err:
                # spec: idle.callback-error
                log.error("idle callback %r raised", fn, exc_info=err)
            except BaseException:
                # spec: idle.callback-error
                self.restore_idle(batch[batch.index(handle) + 1 :])
                raise

    def restore_idle(self, handles: list[TimerHandle]) -> None:
        """Put back, first in line, idle calls that were taken but not run (a
        call before them raised a BaseException)."""
        for handle in reversed(handles):
            if not handle.cancelled:
                handle.fired = False
                self.idle.appendleft(handle)

    def handles(self) -> list[TimerHandle]:
        """Live timers in firing order."""
        return [entry[2] for entry in sorted(self.heap) if not entry[2].cancelled]

    def idle_handles(self) -> list[TimerHandle]:
        """Pending idle calls in the order they will run."""
        return list(self.idle)

    def close(self) -> None:
        """Forget every timer and idle call."""
        self.heap.clear()
        self._cancelled = 0
        self.idle.clear()
