"""The aio core: a refloop `Loop` whose run queue also holds asyncio handles.

It is the loop with two parts of its own: `AioWaiters` (refloop/aio/
_watchers.py), installed as `Core._Waiters`, keeps asyncio's watchers in
the waiters' table, and `AioTimers` (refloop/aio/_timers.py), installed as
`Core._Timers`, keeps asyncio's timers in the timers' heap. The thread
bridge is the loop's own.

Rules this module keeps (spec: aio.*):

1. One run queue. asyncio `Handle`s (callbacks, a task's steps, due timers,
   ready watchers) and native refloop tasks are entries of the same deque,
   and `_drain` runs exactly the entries queued when it began, front first
   (tick.ready-snapshot, aio.run-queue).
2. A cancelled handle is skipped when its turn comes; it never runs
   (aio.cancelled-skip).
3. One timer heap: an asyncio timer is an entry of the core's heap, and
   when it is due it goes to the back of the run queue (aio.timer.order;
   `AioTimers`, refloop/aio/_timers.py, installed as `Core._Timers`).
4. A native task that fails unobserved is reported through the asyncio
   loop's exception handler, like an asyncio task (aio.exception-handler).

What the asyncio loop asks of its core, besides `Loop`'s own methods:
`watch`, `unwatch`, `watchers` (the waiters part's), `push_timer` (the
timers part's), `notify` and `claim_thread` (the thread bridge's).
"""

from __future__ import annotations

import inspect
import logging
import selectors
import time
import weakref
from asyncio import Handle, format_helpers
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._clock import Clock
from .._loop import DEFAULT_BUDGET, Loop
from .._suspend import Continuation
from .._task import Task
from .._waiters import READ, WRITE
from ._selector import default_selector
from ._slots import AioSlot
from ._timers import AioTimers, Timer
from ._watchers import AioWaiters

if TYPE_CHECKING:
    from ._loop import RefloopEventLoop

__all__ = ["Core"]

logger = logging.getLogger("asyncio")

# How Handle._run names a callback that raised (private, pinned by
# tests/test_aio_pins.py); 3.13 added the `debug` keyword.
_format_callback: Any = format_helpers._format_callback_source
_FORMAT_TAKES_DEBUG = "debug" in inspect.signature(_format_callback).parameters


class Core(Loop):
    """The scheduling core of a `RefloopEventLoop`."""

    _Waiters = AioWaiters
    _waiters: AioWaiters
    _Timers = AioTimers
    _timers: AioTimers
    _ready: deque[Any]

    def __init__(
        self,
        aio: RefloopEventLoop,
        *,
        clock: Clock | None = None,
        budget: int = DEFAULT_BUDGET,
        selector: selectors.BaseSelector | None = None,
    ) -> None:
        # A weak reference: the asyncio loop owns its core, not the reverse.
        self._aio: Callable[[], RefloopEventLoop | None] = weakref.ref(aio)
        super().__init__(
            selector=selector if selector is not None else default_selector(),
            clock=clock,
            budget=budget,
            report=self._report_to_aio,
        )
        # Debug mode (asyncio's set_debug): time each handle.
        self._debug = False
        waiters = self._waiters
        # The parts' doors the asyncio loop uses, bound once.
        self.watch = waiters.watch
        self.unwatch = waiters.unwatch
        self.watchers = waiters.watchers
        self.push_timer = self._timers.push_timer
        self._timers.ready = self._ready
        self.notify = self._threads.notify
        self.claim_thread = self._threads.claim

    def _wake(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Move what the poll found ready to the run queue: native waiters'
        tasks (resumed) and watchers' handles, oldest registration first."""
        if len(events) == 1:
            key, mask = events[0]
            slot = key.data
            if type(slot) is AioSlot and slot.reader is None and slot.writer is None:
                # The common asyncio case, without the general path's lists:
                # one descriptor ready, watchers only, in registration order.
                on_read = slot.on_read if mask & READ else None
                on_write = slot.on_write if mask & WRITE else None
                append = self._ready.append
                # spec: aio.watch.level
                # spec: aio.watch.order
                if on_read is not None:
                    if on_write is not None and slot.write_seq < slot.read_seq:
                        append(on_write)
                        on_write = None
                    append(on_read)
                if on_write is not None:
                    append(on_write)
                return
        # asyncio's call_soon_threadsafe queues its handle itself and only
        # wakes the poll: the core's iteration drains that byte as it drains
        # any that no posted call came with (spec: aio.threadsafe).
        entries = self._waiters.take_ready(events)
        ready = self._ready
        trace = self._trace
        for entry in entries:
            if type(entry) is Continuation:
                if trace is not None:
                    trace("wake", entry.task)
                self._enqueue(entry._take(), None, None)
            else:
                ready.append(entry)

    def _drain(self) -> None:
        """Run exactly the entries that are in the run queue now: native
        tasks are stepped, asyncio handles are run unless cancelled."""
        if self._debug:
            self._drain_debug()
            return
        ready = self._ready
        popleft = ready.popleft
        native = Task
        trace = self._trace
        try:
            # spec: tick.ready-snapshot
            # spec: aio.run-queue
            for _ in range(len(ready)):
                entry = popleft()
                kind = type(entry)
                if kind is Handle or kind is Timer:
                    # spec: aio.cancelled-skip
                    if entry._cancelled:
                        continue
                    # Handle._run inlined (one Python frame less per callback;
                    # a task's step has no arguments to unpack).
                    args = entry._args
                    try:
                        if args:
                            entry._context.run(entry._callback, *args)
                        else:
                            entry._context.run(entry._callback)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        _report_failed(entry, exc)
                elif kind is native:
                    if trace is not None:
                        trace("run", entry)
                    self._current = entry
                    entry._step()
                    self._current = None
                # spec: aio.cancelled-skip
                elif entry._cancelled:
                    continue
                else:
                    entry._run()
        finally:
            self._current = None

    def _drain_debug(self) -> None:
        """The drain of debug mode: as `_drain`, and a handle that runs
        longer than `slow_callback_duration` is logged (as asyncio does)."""
        ready = self._ready
        aio = self._aio()
        limit = aio.slow_callback_duration if aio is not None else 0.1
        for _ in range(len(ready)):
            entry = ready.popleft()
            if type(entry) is Task:
                self._current = entry
                try:
                    entry._step()
                finally:
                    self._current = None
                continue
            if entry._cancelled:
                continue
            if aio is not None:
                aio._current_handle = entry
            started = time.monotonic()
            try:
                entry._run()
            finally:
                if aio is not None:
                    aio._current_handle = None
            took = time.monotonic() - started
            if took >= limit:
                logger.warning("Executing %s took %.3f seconds", _format(entry), took)

    def _queued_tasks(self) -> list[Task[Any]]:
        """Only the native tasks: asyncio handles in the run queue are not
        tasks, and are not in `snapshot()`."""
        return [entry for entry in self._ready if type(entry) is Task]

    def _report_to_aio(self, task: Task[Any]) -> None:
        aio = self._aio()
        exception = task._view()[0]
        context: dict[str, Any] = {
            "message": f"{task!r} failed and no task joined it",
            "exception": exception,
            "refloop_task": task,
        }
        if aio is not None and not aio.is_closed():
            # spec: aio.exception-handler
            aio.call_exception_handler(context)
        else:
            logger.error(context["message"], exc_info=exception)


def _report_failed(handle: Handle, exc: BaseException) -> None:
    """What Handle._run does when its callback raises (spec: aio.exception-handler)."""
    h: Any = handle
    loop = h._loop
    if _FORMAT_TAKES_DEBUG:
        source = _format_callback(h._callback, h._args, debug=loop.get_debug())
    else:
        source = _format_callback(h._callback, h._args)
    context: dict[str, Any] = {
        "message": f"Exception in callback {source}",
        "exception": exc,
        "handle": handle,
    }
    if h._source_traceback:
        context["source_traceback"] = h._source_traceback
    # spec: aio.exception-handler
    loop.call_exception_handler(context)


def _format(handle: Handle) -> str:
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    if owner is not None and type(owner).__name__ == "Task":
        return repr(owner)
    return str(handle)
