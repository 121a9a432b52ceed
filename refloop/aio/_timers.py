"""asyncio's timers as entries of the core's one heap.

An asyncio timer is a `Timer`, asyncio's `TimerHandle` with the three fields
the core's `Timers` part reads of its own handles (`cancelled`, `fired`,
`seq`), so it goes into the heap itself: no refloop handle beside it, no
second call to make when it is due. `AioTimers` is the timers part of the
aio core (installed as `Core._Timers`); `TimerCalls` is the asyncio loop's
side (`call_later`, `call_at`, cancelling), mixed into `RefloopEventLoop`.

Rules this module keeps (spec: aio.timer.*, aio.cancelled-skip):

1. One heap: asyncio timers, native timers and sleeps are ordered together
   by (deadline, sequence number); a due asyncio timer goes to the back of
   the run queue (aio.timer.order).
2. A cancelled timer leaves the heap's count of live timers at once and is
   skipped by the drain if it was already queued (aio.cancelled-skip).
3. A `+inf` deadline is kept off the heap (aio.timer.validate).
4. A timer made outside debug mode is built without asyncio's constructor
   (two Python frames and a `get_debug()` call less); every field asyncio's
   constructor sets is set, which tests/test_aio_pins.py checks field by
   field on every Python.
"""

from __future__ import annotations

import heapq
import math
from asyncio import TimerHandle as AsyncioTimerHandle
from asyncio import futures
from collections.abc import Callable
from contextvars import Context, copy_context
from threading import get_ident
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from .._timers import TimerHandle, Timers

if TYPE_CHECKING:
    from collections import deque

    from ._core import Core

__all__ = ["AioTimers", "Timer", "TimerCalls"]

_Ts = TypeVarTuple("_Ts")
_INF = math.inf


class _Flag(int):
    """A bool the heap reads (`if handle.cancelled:`, at C speed) that is
    also asyncio's `Handle.cancelled()` method: calling it gives the bool."""

    __slots__ = ()

    def __call__(self) -> bool:
        return self != 0


_NO, _YES = _Flag(0), _Flag(1)


class Timer(AsyncioTimerHandle):
    """asyncio's TimerHandle as an entry of the core's heap."""

    __slots__ = ("cancelled", "fired", "seq")
    # Invariant: `cancelled` is _YES exactly when `_cancelled` is True (set
    # together by `cancel`); `fired` is True once the heap let go of it (it
    # became due, or its deadline is +inf and it never entered); `seq` is
    # its heap number (-1 off the heap).
    fired: bool
    seq: int
    # What the Timers part reads of its own handles: an asyncio timer is no
    # idle call and no native task's.
    idle = False
    task = None

    def _release(self) -> tuple[Callable[..., object], tuple[Any, ...]]:
        """The call `Timers.fire` makes when the timer is due: this handle
        joins the back of the run queue (spec: aio.timer.order)."""
        me: Any = self
        ready: deque[Any] = me._loop._ready
        return ready.append, (self,)

    def cancel(self) -> None:
        """asyncio's TimerHandle.cancel in one frame: withdraw from the
        heap, then what Handle.cancel does (the fields are pinned by
        tests/test_aio_pins.py)."""
        me: Any = self
        if not me._cancelled:
            loop = me._loop
            owner = loop._thread_id
            if owner is not None and owner != get_ident():
                # spec: aio.wrong-thread
                loop._check_thread()  # raises: another thread
            # spec: aio.cancelled-skip
            me._cancelled = True
            me.cancelled = _YES
            if not me.fired:
                loop._core._timers._withdraw(me)
            if loop._debug:
                me._repr = repr(me)
            me._callback = None
            me._args = None


class AioTimers(Timers):
    """The timers part of the aio core: native handles and asyncio timers
    in one heap."""

    # The core's run queue, where due asyncio timers go (set by the core).
    ready: deque[Any]

    def push_timer(self, timer: Timer, when: float) -> None:
        """Put `timer` in the heap at `when` (finite, checked by the caller)."""
        seq = self._seq
        timer.seq = seq
        entry: Any = (when, seq, timer)
        # spec: aio.timer.order
        heapq.heappush(self.heap, entry)
        self._seq = seq + 1

    def fire(self, now: float, enqueue: Any, trace: Any) -> None:
        """`Timers.fire`; the due asyncio timers at the front of the heap
        join the run queue here, without a call each (the first native
        handle due, and everything due after it, is `Timers.fire`'s)."""
        heap = self.heap
        ready = self.ready
        while heap:
            when, _, timer = heap[0]
            t: Any = timer
            kind = type(t)
            if when > now or kind is not Timer:
                break
            heapq.heappop(heap)
            if t.cancelled:
                self._cancelled -= 1
                continue
            t.fired = True
            # spec: aio.timer.order
            ready.append(t)
        if heap and heap[0][0] <= now:
            super().fire(now, enqueue, trace)

    def restore(self, handles: list[TimerHandle]) -> None:
        """`Timers.restore`, for a heap that holds asyncio timers too."""
        for handle in handles:
            h: Any = handle
            if not h.cancelled:
                h.fired = False
                when = h.when() if isinstance(h, Timer) else h.when
                heapq.heappush(self.heap, (when, h.seq, h))

    def handles(self) -> list[TimerHandle]:
        """Live timers in firing order; an asyncio timer appears as a native
        handle whose call queues it (its `cancel()` cancels the timer)."""
        views: list[TimerHandle] = []
        for when, seq, handle in sorted(self.heap):
            h: Any = handle
            if h.cancelled:
                continue
            if isinstance(h, Timer):
                fn, args = h._release()
                h = _TimerView(self, when, seq, fn, args, None)
            views.append(h)
        return views


class _TimerView(TimerHandle):
    """How `timers()` shows an asyncio timer (a view made on demand)."""

    __slots__ = ()

    def cancel(self) -> None:
        self._args[0].cancel()


class TimerCalls:
    """The asyncio loop's timer entry points, mixed into RefloopEventLoop
    before asyncio's SelectorEventLoop."""

    _core: Core
    _closed: bool
    _debug: bool
    _thread_id: int | None
    _clock: Callable[[], float]
    # The context asyncio.sleep's timers run in (aio.timer.sleep-context).
    _sleep_context: Context

    if TYPE_CHECKING:
        # Provided by RefloopEventLoop (declared for mypy only).
        def _refuse(self, callback: object, method: str) -> None: ...

        def _check_thread(self) -> None: ...

    def time(self) -> float:
        # spec: timer.clock
        return self._clock()

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> AsyncioTimerHandle:
        if delay is None:
            raise TypeError("delay must not be None; pass a number of seconds")
        when = self._clock() + delay
        owner = self._thread_id
        if (
            type(when) is not float
            or when != when
            or when == _INF
            or self._closed
            or self._debug
            or (owner is not None and owner != get_ident())
            or not callable(callback)
        ):
            return self._schedule(when, callback, args, context, "call_later")
        # The common case, in this one frame: what _schedule does for a
        # finite deadline outside debug mode (asyncio.sleep comes here).
        t: Any = _new(Timer)
        if context is not None:
            t._context = context
        elif (
            callback is _set_result_unless_cancelled
            and len(args) == 2
            and type(args[0]) is _Future  # type: ignore[misc]
        ):
            # asyncio.sleep's timer: its callback reads no context variable,
            # so it runs in the loop's own context, not a copy of the caller's.
            # spec: aio.timer.sleep-context
            t._context = self._sleep_context
        else:
            t._context = copy_context()
        t._loop = self
        t._callback = callback
        t._args = args
        t._cancelled = False
        t._repr = None
        t._source_traceback = None
        t._when = when
        t._scheduled = True
        t.cancelled = _NO
        t.fired = False
        # AioTimers.push_timer, inlined.
        timers = self._core._timers
        seq = timers._seq
        t.seq = seq
        # spec: aio.timer.order
        heapq.heappush(timers.heap, (when, seq, t))
        timers._seq = seq + 1
        return t  # type: ignore[no-any-return]

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> AsyncioTimerHandle:
        if when is None:
            raise TypeError("when cannot be None; pass a time of loop.time()")
        return self._schedule(when, callback, args, context, "call_at")

    def _schedule(
        self,
        when: float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
        method: str,
    ) -> AsyncioTimerHandle:
        if type(when) is not float and (
            isinstance(when, bool) or not isinstance(when, int | float)
        ):
            # spec: aio.timer.validate
            raise TypeError(f"{method}() when must be a number, got {when!r}")
        if when != when:
            raise ValueError(f"{method}() when must not be NaN")
        if self._closed or self._debug or not callable(callback):
            self._refuse(callback, method)
        owner = self._thread_id
        if owner is not None and owner != get_ident():
            self._check_thread()
        if self._debug:
            timer = Timer(when, callback, args, self, context)  # type: ignore[arg-type]
            if timer._source_traceback:  # type: ignore[attr-defined]
                del timer._source_traceback[-1]  # type: ignore[attr-defined]
        else:
            # What TimerHandle(when, callback, args, self, context) sets.
            t: Any = _new(Timer)
            t._context = context if context is not None else copy_context()
            t._loop = self
            t._callback = callback
            t._args = args
            t._cancelled = False
            t._repr = None
            t._source_traceback = None
            t._when = when
            timer = t
        timer._scheduled = True  # type: ignore[attr-defined]
        me: Any = timer
        me.cancelled = _NO
        if when == _INF:
            # spec: aio.timer.validate
            me.fired, me.seq = True, -1
        else:
            me.fired = False
            # spec: aio.timer.order
            self._core.push_timer(me, when)
        return timer

    def _timer_handle_cancelled(self, handle: AsyncioTimerHandle) -> None:
        """asyncio's hook, for a TimerHandle made outside `call_at` (our own
        timers withdraw themselves in `Timer.cancel`)."""


_new = object.__new__

# asyncio.sleep's timer callback and the future it resolves (private: pinned
# by tests/test_aio_pins.py); the C Future's set_result reads no context.
_set_result_unless_cancelled: Any = futures._set_result_unless_cancelled  # type: ignore[attr-defined]
_Future: Any = futures.Future
