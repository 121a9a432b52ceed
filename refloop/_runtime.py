"""Which loop and task are running in this thread, and what the core needs
of that loop.

The loop sets `_running` around each iteration; operations read it. Nothing
here yields or blocks.

`Scheduler` is what a task (`refloop._task`) and a continuation
(`refloop._suspend`) ask of the loop that runs them; `RunningLoop` adds what
the operations (`refloop._ops`, `_threads`, `_scopes`, `_spawn`) ask of the
loop running in their thread. `refloop.Loop` offers both; so can any other
loop that wants to run refloop's tasks and operations
(tests/independent_loop.py is one). Such a loop:

- makes its tasks with `Task(loop, tid, coro, name)`, steps one with
  `task._step()` while `_current` is that task, and is told by the task when
  it finishes (`_forget`, then `_report_failure` if nobody observed it);
- makes the continuation a task suspends with, `Continuation(loop, task)`, and
  puts the task back in its run queue when told (`_resume`, `_enqueue`,
  `_withdraw`);
- sets `_running.loop` (`_set_running`) while it runs an iteration.
"""

from __future__ import annotations

import socket
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._errors import LoopError

if TYPE_CHECKING:
    from ._clock import Clock
    from ._suspend import Continuation
    from ._task import Task
    from ._timers import TimerHandle

__all__ = [
    "RunningLoop",
    "Scheduler",
    "current_loop",
    "current_task",
    "loop_of",
    "running_loop_or_none",
]

T = TypeVar("T")


class Scheduler(Protocol):
    """What a task and a continuation need of their loop."""

    # The task being stepped, None between steps.
    @property
    def _current(self) -> Task[Any] | None: ...

    # How many operations a task completes in a row before it yields
    # (spec: op.budget).
    @property
    def _budget(self) -> int: ...

    def _resume(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        """From a continuation: refuse another thread, then `_enqueue`."""

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        """In the loop's thread: `task` to the back of the run queue with its
        outcome (spec: cont.resume-enqueues)."""

    def _withdraw(self, task: Task[Any]) -> None:
        """Take back a resumption just made: `task` leaves the run queue
        (spec: cont.handler-raises)."""

    def _unpark(self, k: Continuation) -> None:
        """Undo the parking of `k`, wherever it waits (spec: cancel.waiting)."""

    def _forget(self, task: Task[Any]) -> None:
        """`task` has finished: it is no longer the loop's."""

    def _report_failure(self, task: Task[Any]) -> None:
        """`task` failed and nobody observed it (spec: task.fail.report)."""

    def _check_thread(self, what: str) -> None:
        """Refuse, with LoopError naming `what`, a caller that is not in the
        loop's thread (spec: thread.owner)."""


class RunningLoop(Scheduler, Protocol):
    """What the operations need of the loop running in their thread (and
    what `current_loop()` and `Task.loop` give)."""

    # The loop's clock (spec: timer.clock); an attribute, not a method, so
    # that `sleep` reads it without a frame.
    @property
    def _clock(self) -> Clock: ...

    def _park(self, sock: socket.socket, direction: int, k: Continuation) -> None:
        """Park `k` until `sock` is ready in `direction` (spec: io.wait)."""

    def _call_at(
        self, when: float, fn: Callable[..., object], task: Task[Any]
    ) -> TimerHandle:
        """`fn()` at `when`, already checked, made by `task` (spec: timer.sleep)."""

    def _submit(
        self, fn: Callable[..., object], args: tuple[Any, ...], k: Continuation
    ) -> None:
        """Run `fn(*args)` in a worker thread and resume `k` with its outcome."""

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]: ...

    def time(self) -> float: ...

    def call_later(
        self, delay: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle: ...

    def call_when_idle(self, fn: Callable[..., object], *args: Any) -> TimerHandle: ...

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: Any) -> None: ...

    def close_socket(self, sock: socket.socket) -> None: ...

    def is_closed(self) -> bool: ...

    def _knows(self, sock: socket.socket) -> bool:
        """Whether `sock` has a waiter's record in this loop (read-only:
        safe from any thread) (spec: io.close.anywhere)."""


# Every open loop, so that refloop.close(sock) finds the loop a socket is
# registered with wherever it is called (spec: io.close.anywhere). A loop
# adds itself when made and leaves when closed; the lock lets any thread
# take a copy while another opens or closes a loop.
_OPEN_LOOPS: weakref.WeakSet[RunningLoop] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def _loop_opened(loop: RunningLoop) -> None:
    """`loop` is open: refloop.close may find it (spec: io.close.anywhere)."""
    with _OPEN_LOCK:
        _OPEN_LOOPS.add(loop)


def _loop_closed(loop: RunningLoop) -> None:
    """`loop` is closed: nothing is registered with it any more."""
    with _OPEN_LOCK:
        _OPEN_LOOPS.discard(loop)


def loop_of(sock: socket.socket) -> RunningLoop | None:
    """The open loop that has `sock` registered (a waiter on it), if any."""
    with _OPEN_LOCK:
        loops = list(_OPEN_LOOPS)
    for loop in loops:
        if loop._knows(sock):
            return loop
    return None


class _Running(threading.local):
    loop: RunningLoop | None = None


_running = _Running()


def running_loop_or_none() -> RunningLoop | None:
    return _running.loop


def _set_running(loop: RunningLoop | None) -> RunningLoop | None:
    previous = _running.loop
    _running.loop = loop
    return previous


def current_loop() -> RunningLoop:
    """The loop running in this thread; LoopError outside a running loop."""
    loop = _running.loop
    if loop is None:
        raise LoopError(
            "no refloop loop is running in this thread: call this from a task, "
            "or start one with refloop.run(main())"
        )
    return loop


def current_task() -> Task[Any]:
    """The task the running loop is stepping; LoopError outside a task."""
    task = current_loop()._current
    if task is None:
        raise LoopError("not inside a refloop task")
    return task
