"""Deliberately broken loops at the doors issue #14 opened: calls from other
threads, run()'s deadlock verdict, shutdown, stop, close and failing
`suspend` handlers. Each is a small subclass of the real loop that changes
one method, as in refloop/testing/broken.py (whose BROKEN_LOOPS lists them).
"""

from __future__ import annotations

import contextlib
import inspect
import signal
import socket
import threading
import types
from collections.abc import Coroutine, Generator
from typing import Any

from .. import _lifecycle
from .._errors import LoopError
from .._loop import Loop
from .._sigint import Interrupt
from .._suspend import Continuation
from .._task import Task
from ..explore._forwarding import ForwardingSelector

__all__ = [
    "AbruptShutdownLoop",
    "CloseThenRefuseLoop",
    "EarlyStopLoop",
    "HalfClosedLoop",
    "HastyDeadlockLoop",
    "KeepsSocketsLoop",
    "LeakyCloseLoop",
    "PostponedInterruptLoop",
    "SpinningLoop",
    "SwallowingHandlerLoop",
]


class CloseThenRefuseLoop(Loop):
    """`close_socket` from another thread closes the descriptor, then is
    refused (breaks thread.refused-unchanged and io.close.anywhere): the
    waiter is left parked on a closed socket."""

    def close_socket(self, sock: socket.socket) -> None:
        if threading.get_ident() != self._threads.owner:
            sock.close()
        super().close_socket(sock)


class HastyDeadlockLoop(Loop):
    """`run()` ignores continuations held by user code (the old
    loop.run.deadlock): a task whose continuation a thread will post back is
    reported as a deadlock."""

    def _held_outside(self) -> bool:
        return False


class AbruptShutdownLoop(Loop):
    """Shutdown gives cleanup no iteration (breaks loop.shutdown): the
    remaining tasks are left to `close()`, which cuts off their cleanup."""

    def shutdown(self, grace: float = 5.0) -> list[Task[Any]]:
        _lifecycle.enter(self, "shutdown()")  # refuses as the real one does
        _lifecycle.leave(self)
        return self.tasks()


class EarlyStopLoop(Loop):
    """`stop()` ends the iteration in progress before its drain (breaks
    loop.stop: the iteration completes): a stop made by a callback, or
    before run_forever, leaves that iteration's tasks unrun."""

    _cut = False

    def stop(self) -> None:
        super().stop()
        self._cut = True

    def _drain(self) -> None:
        if self._cut:
            self._cut = False
            return
        super()._drain()


class KeepsSocketsLoop(Loop):
    """On Ctrl-C, `run()` cancels the tasks but leaves open the sockets they
    were waiting on (breaks loop.sigint): a server's connections outlive
    the interrupted program."""

    def close_socket(self, sock: socket.socket) -> None:
        if self._interrupted:
            return
        super().close_socket(sock)


class PostponedInterruptLoop(Loop):
    """On Ctrl-C, `run()` first finishes the work that is runnable, and winds
    down only after an iteration that leaves nothing to run (breaks
    loop.sigint): a task that keeps itself busy puts off its Ctrl-C for as
    long as it likes. A Ctrl-C in a poll that would wait finds the loop idle
    anyway, so only one that arrives while there is work to do shows it."""

    def _iterate(self, timeout: float | None) -> None:
        super()._iterate(timeout)
        handler = signal.getsignal(signal.SIGINT)
        interrupt = getattr(handler, "__self__", None)
        while isinstance(interrupt, Interrupt) and interrupt.interrupted:
            if not self._ready:
                return
            super()._iterate(0)


class HalfClosedLoop(Loop):
    """`close()` closes the tasks' coroutines first and lets a cleanup's
    exception escape half way (breaks loop.close.raises): the loop is left
    with its selector open and the later tasks never closed."""

    def close(self) -> None:
        if not self._closed and not self._running:
            for task in self._table.view():
                task._abandon(LoopError(f"{self!r} closed"))
        super().close()


class SpinningLoop(Loop):
    """An iteration that would wait spins, re-checking its run queue, and
    never polls (breaks tick.poll-timeout): nothing outside the loop can
    wake it, and it neither polls nor returns. Not in BROKEN_LOOPS: it is
    the harness's time bound that stops it (tests/test_harness_bound.py)."""

    def _iterate(self, timeout: float | None) -> None:
        if timeout is None and not (self._ready or self._threads.posted):
            while not self._ready:
                pass
        super()._iterate(timeout)


class _Unclosable(ForwardingSelector):
    """A selector that passes everything on but its close."""

    def close(self) -> None:
        pass


class LeakyCloseLoop(Loop):
    """`close()` ends the tasks and unregisters their sockets but leaves the
    selector open (breaks loop.close): its descriptor, and anything still
    registered with it, outlives the loop."""

    def close(self) -> None:
        selector = self._selector
        self._selector = _Unclosable(selector)
        try:
            super().close()
        finally:
            self._selector = selector


@types.coroutine
def _swallowing(coro: Coroutine[Any, Any, Any]) -> Generator[Any, Any, Any]:
    """Drive `coro`, calling each handler it yields and swallowing the
    Exception it raises."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            handler = coro.send(value) if error is None else coro.throw(error)
        except StopIteration as stop:
            return stop.value

        def quiet(k: Continuation, handler: Any = handler) -> None:
            # The task stays parked, and nothing will resume it.
            with contextlib.suppress(Exception):
                handler(k)

        try:
            value, error = (yield quiet), None
        except BaseException as raised:
            value, error = None, raised


async def _swallowed(coro: Coroutine[Any, Any, Any]) -> Any:
    return await _swallowing(coro)


class SwallowingHandlerLoop(Loop):
    """A `suspend` handler's Exception is swallowed instead of raised in the
    task (breaks cont.handler-raises and inv.one-place): the task stays
    parked for ever with no registration."""

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> Task[Any]:
        if not inspect.iscoroutine(coro):
            return super().spawn(coro, name=name)
        label = name if name is not None else coro.__qualname__
        return super().spawn(_swallowed(coro), name=label)
