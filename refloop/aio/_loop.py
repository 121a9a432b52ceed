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
import selectors
import sys
import threading
from asyncio import Handle, events
from collections.abc import Callable
from contextvars import Context, copy_context
from threading import get_ident
from typing import Any, TypeVarTuple, Unpack

from .. import _lifecycle
from .._clock import Clock
from .._loop import DEFAULT_BUDGET
from .._waiters import READ, WRITE
from ._bridges import Bridges
from ._core import Core
from ._slots import fileno_of
from ._timers import TimerCalls
from ._transport import SocketTransport

__all__ = ["RefloopEventLoop"]

_Ts = TypeVarTuple("_Ts")

# asyncio's selector loop, untyped: its private methods are not in typeshed
# (each one is pinned by tests/test_aio_pins.py).
_Base: Any = asyncio.SelectorEventLoop


class RefloopEventLoop(Bridges, TimerCalls, asyncio.SelectorEventLoop):
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
    _ensure_fd_no_transport: Callable[[Any], None]

    # The core's class (refloop.explore's trace recorder and the broken
    # loops of refloop.testing.trace_broken install their own).
    _Core: type[Core] = Core

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        budget: int = DEFAULT_BUDGET,
        selector: selectors.BaseSelector | None = None,
    ) -> None:
        self._core = self._Core(self, clock=clock, budget=budget, selector=selector)
        self._clock = self._core._clock
        super().__init__(selector=self._core._selector)
        # spec: aio.timer.sleep-context
        self._sleep_context = Context()
        # spec: aio.run-queue
        self._ready = self._core._ready

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
        if self._debug:
            handle = _debug_handle(callback, args, self, context)
        else:
            # What Handle(callback, args, self, context) sets, without its two
            # Python frames (pinned field by field by tests/test_aio_pins.py).
            h: Any = _new(Handle)
            h._context = context if context is not None else copy_context()
            h._loop = self
            h._callback = callback
            h._args = args
            h._cancelled = False
            h._repr = None
            h._source_traceback = None
            handle = h
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
        handle = _debug_handle(callback, args, self, context)
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

    # ------------------------------------------------------------ transports

    def _make_socket_transport(
        self,
        sock: Any,
        protocol: Any,
        waiter: Any = None,
        *,
        extra: Any = None,
        server: Any = None,
    ) -> Any:
        """What create_connection, create_server's accepted connections and
        connect_accepted_socket run on: refloop.aio's plain socket transport
        (refloop/aio/_transport.py), made as asyncio makes its own."""
        if _CHECKS_FD_TRANSPORT:
            self._ensure_fd_no_transport(sock)
        # spec: aio.transport
        return SocketTransport(self, sock, protocol, waiter, extra, server)

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
        _lifecycle.enter(core, "run_forever()")
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
            _lifecycle.leave(core)

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
        # asyncio's loop may be closed by any thread while it is not running
        # (the core belongs to the thread that ran it last).
        self._core.claim_thread()
        # spec: aio.close
        self._core.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self.is_running() else "idle"
        return f"<refloop.aio.RefloopEventLoop {state} debug={self.get_debug()}>"


def _debug_handle(
    callback: Callable[..., object],
    args: tuple[Any, ...],
    loop: RefloopEventLoop,
    context: Context | None,
) -> Handle:
    """A Handle made by asyncio's constructor (in debug mode it records where
    it was made, less this frame)."""
    handle = Handle(callback, args, loop, context)
    if handle._source_traceback:  # type: ignore[attr-defined]
        del handle._source_traceback[-2:]  # type: ignore[attr-defined]
    return handle


_new = object.__new__

# From 3.12 asyncio's _make_socket_transport refuses a socket that already
# has a transport (RuntimeError); 3.11's does not check.
_CHECKS_FD_TRANSPORT = sys.version_info >= (3, 12)
