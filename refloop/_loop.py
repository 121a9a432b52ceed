"""The loop: the tasks, the run queue and the iteration, composed with three
parts that own the rest of its state.

- `Waiters` (refloop._waiters): the sockets tasks wait on, and the selector's
  interest set;
- `Timers` (refloop._timers): timers and idle calls;
- `ThreadBridge` (refloop._threads): the owner thread, the wakeup socket,
  calls posted from other threads, the worker pool.

Its table of unfinished tasks is a `TaskTable` (refloop._tasktable). How the
loop runs to an end and closes (`run`, `run_forever`, `stop`, `shutdown`,
`close`) is written in refloop._lifecycle, and what it refuses in
refloop._refuse; the methods here call them.

Rules this module keeps:

1. `_iterate` is the only place where tasks are stepped (spec: tick.*). It
   runs exactly the tasks that were runnable when the drain began; work
   queued during the drain waits for the next iteration.
2. `_enqueue` is the only place where a task joins the run queue with its
   outcome, in the loop's thread; `_resume` (a continuation, any thread)
   checks the thread and calls it.
3. Given the same readiness, the loop makes the same choices (the waiters
   come out oldest registration first).

`Loop` offers `refloop._runtime.Scheduler` and `RunningLoop`, what tasks,
continuations and operations need of it, and `refloop.testing.LoopUnderTest`,
what the test harness needs.
"""

from __future__ import annotations

import logging
import selectors
import socket
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from threading import get_ident
from typing import Any, Final, TypeVar

from . import _lifecycle, _refuse
from ._clock import Clock, check_time, monotonic
from ._runtime import _loop_opened
from ._shutdown import DEFAULT_GRACE
from ._snapshot import Snapshot
from ._suspend import Continuation
from ._task import RUNNABLE, Task
from ._tasktable import TaskTable
from ._threads import ThreadBridge
from ._timers import TimerHandle, Timers
from ._waiters import READ, WRITE, Waiter, Waiters

__all__ = ["DEFAULT_BUDGET", "READ", "WRITE", "Loop", "Tracer", "Waiter"]

T = TypeVar("T")

Tracer = Callable[[str, Task[Any]], None]

# spec: op.budget
DEFAULT_BUDGET: Final = 32

log = logging.getLogger("refloop")

_NO_EVENTS: Final[list[tuple[selectors.SelectorKey, int]]] = []


def _default_report(task: Task[Any]) -> None:
    log.error("%r failed and no task joined it", task, exc_info=task._view()[0])


class Loop:
    """One event loop, driven from the thread that created it."""

    # The parts' classes (refloop.testing.broken installs broken ones).
    _Waiters: type[Waiters] = Waiters
    _Timers: type[Timers] = Timers

    # The longest poll, in seconds: every selector accepts it (epoll and poll
    # take at most 2**31 - 1 milliseconds, about 24.8 days).
    # spec: tick.poll-clamp
    _max_poll: float = 86400.0

    def __init__(
        self,
        *,
        selector: selectors.BaseSelector | None = None,
        budget: int = DEFAULT_BUDGET,
        trace: Tracer | None = None,
        report: Callable[[Task[Any]], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise ValueError(f"budget must be a positive int, got {budget!r}")
        self._selector = (
            selector if selector is not None else selectors.DefaultSelector()
        )
        self._budget = budget
        self._trace = trace
        self._report = report if report is not None else _default_report
        # spec: timer.clock
        self._clock: Clock = clock if clock is not None else monotonic
        self._waiters = self._Waiters(self._selector)
        self._timers = self._Timers()
        self._threads = ThreadBridge(self._selector)
        # The operations park through this, a bound method of the waiters
        # (one frame less than a method of the loop; echo pays it per request).
        self._park = self._waiters.park
        # Invariant: the runnable tasks, each once, front first.
        self._ready: deque[Task[Any]] = deque()
        self._table = TaskTable()
        # Invariant: the task being stepped; None between steps.
        self._current: Task[Any] | None = None
        # The lifecycle's flags, written by refloop._lifecycle.
        # True once run() was interrupted by Ctrl-C and wound down.
        self._interrupted = False
        # While refloop.run shuts down after a BaseException ended its run():
        # that exception, which tasks passing it on neither report nor raise
        # out of an iteration again (spec: loop.shutdown.passed-on).
        self._passing: BaseException | None = None
        # Invariant: True between _lifecycle.enter and _lifecycle.leave.
        self._running = False
        # Invariant: True from stop() until run_forever() returns.
        self._stopping = False
        # Invariant: True once close() began; it never turns False.
        self._closed = False
        # spec: io.close.anywhere
        _loop_opened(self)

    # ----------------------------------------------------------- tasks

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        """Put a new task for `coro` at the back of the run queue (spec: spawn)."""
        _refuse.spawn(self, coro)
        task = self._table.add(
            self,
            coro,
            name if name is not None else getattr(coro, "__qualname__", "task"),
        )
        # spec: spawn
        self._ready.append(task)
        if self._trace is not None:
            self._trace("spawn", task)
        return task

    def tasks(self) -> list[Task[Any]]:
        """Unfinished tasks, oldest first."""
        self._check_thread("tasks()")
        return self._table.view()

    def runnable(self) -> list[Task[Any]]:
        """The run queue, front first."""
        self._check_thread("runnable()")
        return list(self._ready)

    def _resume(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        if self._threads.owner != get_ident() or self._closed:
            _refuse.resume(self, task)
        self._enqueue(task, value, exc)

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        """Put `task` at the back of the run queue with its outcome; callers
        are in the loop's thread. The only place a task is resumed."""
        # Task._resumed(value, exc), inlined: this runs once per task switch
        # and the call costs about 5% of one (bench/switch.py).
        # spec: cont.resume-enqueues
        task._parked = None
        task._send = value
        task._throw = exc
        task._state = RUNNABLE
        self._ready.append(task)

    def _withdraw(self, task: Task[Any]) -> None:
        self._ready.remove(task)

    def _forget(self, task: Task[Any]) -> None:
        self._table.forget(task)

    def _report_failure(self, task: Task[Any]) -> None:
        if self._passing is not None and task._exception is self._passing:
            return  # spec: loop.shutdown.passed-on
        if self._trace is not None:
            self._trace("report", task)
        self._report(task)

    def _unpark(self, k: Continuation) -> None:
        if not self._waiters.unpark(k) and k.on_cancel is not None:
            k.on_cancel()

    def _check_thread(self, what: str) -> None:
        self._threads.check(what, self)

    # ----------------------------------------------------------- sockets

    def waiters(self) -> list[Waiter]:
        """Every parked (socket, direction, task), oldest registration first."""
        self._check_thread("waiters()")
        return self._waiters.view()

    def close_socket(self, sock: socket.socket) -> None:
        """Close `sock`: remove its waiters, wake them with ClosedError, then
        close the descriptor (spec: io.close.*). Closing twice is harmless."""
        # spec: thread.refused-unchanged
        self._check_thread("close_socket()")
        self._waiters.close_socket(sock)

    def _knows(self, sock: socket.socket) -> bool:
        return self._waiters.knows(sock)

    # ----------------------------------------------------------- timers

    def time(self) -> float:
        """The loop's clock, in seconds (spec: timer.clock)."""
        return self._clock()

    def call_at(
        self, when: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle:
        """Call `fn(*args)` once the clock reaches `when` (spec: timer.fire)."""
        deadline = check_time(when, "call_at() when")
        _refuse.schedule(self, "call_at()", fn)
        # spec: timer.validate
        return self._timers.push(deadline, fn, args, self._current)

    def call_later(
        self, delay: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle:
        """Call `fn(*args)` after `delay` seconds; a negative delay means now
        (spec: timer.validate)."""
        seconds = check_time(delay, "call_later() delay")
        _refuse.schedule(self, "call_later()", fn)
        when = self._clock() + max(0.0, seconds)
        return self._timers.push(when, fn, args, self._current)

    def _call_at(
        self, when: float, fn: Callable[..., object], task: Task[Any]
    ) -> TimerHandle:
        return self._timers.push(when, fn, (), task)

    def call_when_idle(self, fn: Callable[..., object], *args: Any) -> TimerHandle:
        """Call `fn(*args)` in an iteration where, after the poll, no task is
        runnable, no socket is ready and no timer is due; idle calls run in
        the order made (spec: idle). Returns a handle with `cancel()`."""
        _refuse.schedule(self, "call_when_idle()", fn)
        return self._timers.push_idle(fn, args, self._current)

    def timers(self) -> list[TimerHandle]:
        """Pending (uncancelled) timers, in the order they will fire."""
        self._check_thread("timers()")
        return self._timers.handles()

    # ----------------------------------------------------------- threads

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: Any) -> None:
        """From any thread: run `fn(*args)` in the loop's thread, at the start
        of its next iteration, in the order posted (spec: thread.post)."""
        if not callable(fn):
            raise TypeError(f"call_soon_threadsafe() needs a callable, got {fn!r}")
        self._threads.post(fn, args, self)

    def _submit(
        self, fn: Callable[..., object], args: tuple[Any, ...], k: Continuation
    ) -> None:
        self._threads.submit(self, fn, args, k)

    # ----------------------------------------------------------- iterations

    def run_once(self, timeout: float | None = None) -> None:
        """One iteration: poll, wake ready waiters, run the runnable tasks.

        The poll waits at most `timeout` seconds (None: until something is
        ready), and not at all when a task is runnable.
        """
        _lifecycle.enter(self, "run_once()")
        try:
            self._iterate(timeout)
        finally:
            _lifecycle.leave(self)

    def _iterate(self, timeout: float | None) -> None:
        """The body of one iteration (run_once without its guards)."""
        waiters = self._waiters
        timers = self._timers
        if waiters.changed:
            waiters.sync()
        wait = timeout
        if self._ready or timers.idle:
            wait = 0
        elif timers.heap:
            deadline = timers.next_deadline()
            if deadline is not None:
                # spec: timer.poll-timeout
                until = max(0.0, deadline - self._clock())
                wait = until if wait is None or until < wait else wait
        # spec: tick.poll-timeout
        # spec: io.ready
        if wait == 0 and not waiters.count:
            # spec: tick.poll-skip
            events = _NO_EVENTS
        else:
            if wait is not None and wait > self._max_poll:
                # spec: tick.poll-clamp
                wait = self._max_poll
            events = self._selector.select(wait)
        if self._threads.posted:
            self._threads.run_posted()
        elif events and any(key.data is None for key, _ in events):
            # A byte with no call: a signal's, through Python's wakeup fd
            # (spec: loop.sigint), or refloop.aio's call_soon_threadsafe's
            # (spec: aio.threadsafe). Left there, every poll would return
            # at once.
            self._threads.drain()
        if events:
            self._wake(events)
        if timers.heap:
            timers.fire(self._clock(), self._enqueue, self._trace)
        if timers.idle and not self._ready:
            timers.run_idle(self._trace)
        self._drain()

    def _wake(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Move the waiters that the poll found ready to the run queue."""
        trace = self._trace
        enqueue = self._enqueue
        # spec: tick.wake-order
        for k in self._waiters.ready(events):
            if trace is not None:
                trace("wake", k.task)
            # k() without its thread check: this is the loop's thread.
            enqueue(k._take(), None, None)

    def _drain(self) -> None:
        """Run exactly the tasks that are runnable now (this is the only place
        where tasks are stepped)."""
        ready = self._ready
        trace = self._trace
        try:
            # spec: tick.ready-snapshot
            for _ in range(len(ready)):
                task = ready.popleft()
                if trace is not None:
                    trace("run", task)
                self._current = task
                task._step()
        finally:
            self._current = None

    # ----------------------------------------------------------- lifecycle
    # The bodies are in refloop._lifecycle.

    def run_forever(self) -> None:
        """Run iterations until `stop()` is called (spec: loop.stop)."""
        _lifecycle.run_forever(self)

    def stop(self) -> None:
        """Ask `run_forever` to return once the current iteration ends."""
        _lifecycle.stop(self)

    def run(self, coro: Coroutine[Any, Any, T], *, grace: float = DEFAULT_GRACE) -> T:
        """Spawn `coro` as the main task, run until it finishes, and return its
        result or raise its exception (spec: loop.run). Other tasks are left
        to the caller; on Ctrl-C they are given `grace` seconds to clean up
        (spec: loop.sigint)."""
        return _lifecycle.run(self, coro, grace)

    def _held_outside(self) -> bool:
        """Whether user code holds a waiting task's continuation (and may
        post it back from another thread) (spec: loop.run.deadlock)."""
        return self._table.held_outside()

    def shutdown(self, grace: float = DEFAULT_GRACE) -> list[Task[Any]]:
        """Cancel every unfinished task and run iterations until they have
        all finished or `grace` seconds have passed by the loop's clock, so
        their cleanup may await; returns (and reports) the tasks left
        unfinished (spec: loop.shutdown)."""
        return _lifecycle.shutdown(self, grace)

    # ----------------------------------------------------------- observing

    def _queued_tasks(self) -> Iterable[Task[Any]]:
        """The tasks in the run queue, front first (a loop whose queue holds
        other entries too, as refloop.aio's does, lists only its tasks)."""
        return self._ready

    def snapshot(self) -> Snapshot:
        """The loop's state now, as immutable values (see refloop._snapshot)."""
        self._check_thread("snapshot()")
        return Snapshot.of(
            self._table.by_tid.values(),
            self._queued_tasks(),
            self._waiters,
            self._timers,
            self._threads.posted,
            in_threads=self._threads.in_threads,
            closed=self._closed,
        )

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the loop: forget every waiter, end every unfinished task
        (closing its coroutine) and close the selector. Sockets stay open."""
        _lifecycle.close(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._running else "idle"
        return (
            f"<refloop.Loop {state} tasks={len(self._table)} "
            f"waiters={self._waiters.count}>"
        )
