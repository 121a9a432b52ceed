"""`RefloopEventLoop`: an asyncio event loop whose scheduling core is refloop's.

It subclasses asyncio's `SelectorEventLoop` for what asyncio defines in
terms of the loop's primitives (transports, the SSL protocol, streams, the
`sock_*` coroutines, servers, subprocesses, signals), and replaces the
primitives themselves: the ready queue is the refloop `Core`'s run queue,
timers are the core's timer heap, readers and writers are watchers in the
core's waiter table, `call_soon_threadsafe` is the core's thread bridge, and
an iteration is the core's `_iterate`.

Rules this module keeps (spec: aio.*):

1. Every asyncio entry point that schedules refuses, with asyncio's
   exception type, a closed loop (RuntimeError), a non-callable (TypeError)
   and, while the loop runs, another thread (RuntimeError); a refused call
   changes nothing.
2. `stop()` makes `run_forever` return after the current iteration, whose
   poll does not wait (aio.stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import selectors
import sys
import threading
from asyncio import Handle, events
from collections.abc import Callable
from contextvars import Context
from threading import get_ident
from typing import Any, TypeVarTuple, Unpack

from .._clock import Clock
from .._loop import DEFAULT_BUDGET
from .._waiters import READ, WRITE
from ._bridges import Bridges
from ._core import Core, Timer
from ._watchers import fileno_of

__all__ = ["RefloopEventLoop"]

_Ts = TypeVarTuple("_Ts")
_INF = math.inf

# asyncio's selector loop, untyped: its private methods are not in typeshed
# (each one is pinned by tests/test_aio_pins.py).
_Base: Any = asyncio.SelectorEventLoop


class RefloopEventLoop(Bridges, asyncio.SelectorEventLoop):
    """An asyncio event loop on refloop's scheduling core."""

    # asyncio's private state and methods this class uses (typeshed omits
    # them; tests/test_aio_pins.py pins each).
    _closed: bool
    _stopping: bool
    _thread_id: int | None
    _debug: bool
    _internal_fds: int
    _current_handle: Handle | None
    _set_coroutine_origin_tracking: Callable[[bool], None]
    _asyncgen_firstiter_hook: Callable[[Any], None]
    _asyncgen_finalizer_hook: Callable[[Any], None]

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        budget: int = DEFAULT_BUDGET,
        selector: selectors.BaseSelector | None = None,
    ) -> None:
        self._core = Core(self, clock=clock, budget=budget, selector=selector)
        self._clock = self._core._clock
        super().__init__(selector=self._core._selector)
        # spec: aio.run-queue
        self._ready = self._core._ready
        # The core's one heap and run queue, bound once: a timer is a refloop
        # timer whose call puts the asyncio handle in the run queue.
        self._timer_push = self._core.push_timer
        self._ready_append = self._ready.append

    # ------------------------------------------------------------ checks

    def _refuse(self, callback: object, method: str) -> None:
        if self._closed:
            # spec: aio.closed
            raise RuntimeError(
                f"Event loop is closed: {self!r} cannot {method}({callback!r}); "
                "make a new loop (refloop.aio.new_event_loop())"
            )
        if not callable(callback) or (
            self._debug and inspect.iscoroutinefunction(callback)
        ):
            what = "a coroutine" if inspect.iscoroutine(callback) else repr(callback)
            # spec: aio.not-callable
            raise TypeError(
                f"a callable object was expected by {method}(), got {what}; "
                "pass a function, or schedule a coroutine with create_task()"
            )

    def _check_closed(self) -> None:
        """asyncio's check, used by every inherited entry point too
        (create_task, run_until_complete, the sock_* and create_* methods)."""
        if self._closed:
            # spec: aio.closed
            raise RuntimeError(
                f"Event loop is closed: {self!r} cannot be used any more; "
                "make a new loop (refloop.aio.new_event_loop())"
            )

    def _check_thread(self) -> None:
        owner = self._thread_id
        if owner is not None and owner != get_ident():
            # spec: aio.wrong-thread
            raise RuntimeError(
                "Non-thread-safe operation invoked on an event loop other than "
                f"the current one: {self!r} runs in thread {owner}; from thread "
                f"{threading.current_thread().name!r} use call_soon_threadsafe()"
            )

    # ------------------------------------------------------------ callbacks

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> Handle:
        if self._closed or self._debug or not callable(callback):
            self._refuse(callback, "call_soon")
        owner = self._thread_id
        if owner is not None and owner != get_ident():
            self._check_thread()
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        # spec: aio.call-soon
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> Handle:
        self._refuse(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        # spec: aio.threadsafe
        self._ready.append(handle)
        self._write_to_self()
        return handle

    def _write_to_self(self) -> None:
        """Wake the poll (asyncio calls this after queuing a handle from a
        signal handler or another thread)."""
        # spec: aio.threadsafe
        with contextlib.suppress(OSError):
            self._core.notify()  # OSError: closed by close() meanwhile

    # ------------------------------------------------------------ timers

    def time(self) -> float:
        # spec: timer.clock
        return self._clock()

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if delay is None:
            raise TypeError("delay must not be None; pass a number of seconds")
        return self._schedule(
            self._clock() + delay, callback, args, context, "call_later"
        )

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
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
    ) -> asyncio.TimerHandle:
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
        timer = Timer(when, callback, args, self, context)
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        # spec: aio.timer.validate
        # spec: aio.timer.order
        timer._entry = (
            None
            if when == _INF
            else self._timer_push(when, self._ready_append, (timer,), None)
        )
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        entry = getattr(handle, "_entry", None)
        if entry is not None:
            # spec: aio.cancelled-skip
            entry.cancel()

    # ------------------------------------------------------------ readers

    def _add_reader(
        self, fd: Any, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        if self._closed or not callable(callback):
            self._refuse(callback, "add_reader")
        handle = Handle(callback, args, self, None)
        # spec: aio.watch.replace
        self._core.watch(fileno_of(fd), READ, handle)
        return handle

    def _remove_reader(self, fd: Any) -> bool:
        if self.is_closed():
            return False
        # spec: aio.watch.remove
        return self._core.unwatch(fileno_of(fd), READ)

    def _add_writer(
        self, fd: Any, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> Handle:
        if self._closed or not callable(callback):
            self._refuse(callback, "add_writer")
        handle = Handle(callback, args, self, None)
        self._core.watch(fileno_of(fd), WRITE, handle)
        return handle

    def _remove_writer(self, fd: Any) -> bool:
        if self.is_closed():
            return False
        return self._core.unwatch(fileno_of(fd), WRITE)

    # ------------------------------------------------------------ iterations

    def run_forever(self) -> None:
        """Run iterations until stop() is called (spec: aio.stop)."""
        self._check_closed()
        if self.is_running():
            raise RuntimeError(f"This event loop is already running: {self!r}")
        if events._get_running_loop() is not None:
            raise RuntimeError(
                "Cannot run the event loop while another loop is running "
                f"in this thread: {events._get_running_loop()!r}"
            )
        core = self._core
        # asyncio's loop belongs to the thread that runs it.
        core.claim_thread()
        core._enter("run_forever()")
        self._set_coroutine_origin_tracking(self._debug)
        old_hooks = sys.get_asyncgen_hooks()
        self._thread_id = get_ident()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,
            finalizer=self._asyncgen_finalizer_hook,
        )
        events._set_running_loop(self)
        try:
            iterate = core._iterate
            # spec: aio.stop
            while True:
                iterate(0 if self._stopping else None)
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_hooks)
            core._leave()

    def _run_once(self) -> None:
        """One iteration of the core (for code that drives the loop by hand)."""
        self._core._iterate(0 if self._stopping or self._ready else None)

    def set_debug(self, enabled: bool) -> None:
        super().set_debug(enabled)
        self._core._debug = bool(enabled)

    # ------------------------------------------------------------ close

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError(f"Cannot close a running event loop: {self!r}")
        if self._closed:
            return
        super().close()
        # spec: aio.close
        self._core.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self.is_running() else "idle"
        return f"<refloop.aio.RefloopEventLoop {state} debug={self.get_debug()}>"
