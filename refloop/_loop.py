"""The loop: a run queue, a table of waiters, and a selector.

Rules this module keeps:

1. `run_once` is the only place where tasks are stepped (spec: tick.*). It
   runs exactly the tasks that were runnable when the drain began; work queued
   during the drain waits for the next iteration.
2. Given the same readiness, the loop makes the same choices (the waiters'
   table, refloop._waiters, wakes them oldest registration first).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import selectors
import signal
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from threading import get_ident
from typing import Any, Final, TypeVar

from ._errors import Cancelled, LoopError
from ._runtime import _set_running, running_loop_or_none
from ._suspend import Continuation, requeue
from ._task import DONE, FAILED, RUNNABLE, WAITING, Task
from ._threads import ThreadSupport
from ._timers import Clock, TimerHandle, TimerQueue, check_time, monotonic
from ._waiters import READ, WRITE, Tracer, Waiter, WaiterTable, _Slot

__all__ = ["DEFAULT_BUDGET", "READ", "WRITE", "Loop", "Waiter", "run"]

T = TypeVar("T")


# spec: op.budget
DEFAULT_BUDGET: Final = 32

log = logging.getLogger("refloop")

_NO_EVENTS: Final[list[tuple[selectors.SelectorKey, int]]] = []

# The longest one poll waits, in seconds (spec: timer.poll-cap).
MAX_POLL: Final = 86400.0


def _default_report(task: Task[Any]) -> None:
    log.error("%r failed and no task joined it", task, exc_info=task._exception)


class _Idle:
    """A call waiting for the loop to be idle (spec: idle)."""

    __slots__ = ("args", "cancelled", "fn", "queue", "task")

    def __init__(
        self,
        queue: deque[_Idle],
        fn: Callable[..., object],
        args: tuple[Any, ...],
        task: Task[Any] | None,
    ) -> None:
        self.queue = queue
        self.fn = fn
        self.args = args
        self.task = task
        self.cancelled = False

    def cancel(self) -> None:
        """Withdraw the call (harmless if it ran or was withdrawn)."""
        if not self.cancelled:
            self.cancelled = True
            with contextlib.suppress(ValueError):
                self.queue.remove(self)


class Loop(WaiterTable, ThreadSupport):
    """One event loop, driven from the thread that created it."""

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
        self._timers = TimerQueue()
        self._ready: deque[Task[Any]] = deque()
        self._fdmap: dict[int, _Slot] = {}
        self._dirty: set[int] = set()
        self._nwaiters = 0
        self._seq = 0
        self._next_tid = 0
        self._tasks: dict[int, Task[Any]] = {}
        self._current: Task[Any] | None = None
        self._idle: deque[_Idle] = deque()
        self._interrupted = False
        self._running = False
        self._stopping = False
        self._closed = False
        self._init_threads()
        self._selector.register(self._wakeup.fileno(), READ, None)

    # ----------------------------------------------------------- tasks

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        """Put a new task for `coro` at the back of the run queue (spec: spawn)."""
        if not inspect.iscoroutine(coro):
            # spec: spawn.validate
            raise TypeError(
                f"spawn() needs a coroutine object, got {coro!r}; "
                "call the async function: spawn(f()), not spawn(f)"
            )
        if self._closed:
            coro.close()
            raise LoopError(f"{self!r} is closed; it cannot spawn {coro!r}")
        if get_ident() != self._owner:
            coro.close()
            self._check_thread("spawn()")  # raises: another thread
        tid = self._next_tid
        self._next_tid = tid + 1
        task: Task[T] = Task(
            self, tid, coro, name if name is not None else coro.__qualname__
        )
        self._tasks[tid] = task
        # spec: spawn
        self._ready.append(task)
        if self._trace is not None:
            self._trace("spawn", task)
        return task

    def tasks(self) -> list[Task[Any]]:
        """Unfinished tasks, oldest first."""
        return list(self._tasks.values())

    def runnable(self) -> list[Task[Any]]:
        """The run queue, front first."""
        return list(self._ready)

    def _resume(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        if self._owner != get_ident():
            # spec: thread.owner
            self._check_thread(f"resuming {task!r}")
        self._enqueue(task, value, exc)

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        """Put `task` at the back of the run queue with its outcome; callers
        are in the loop's thread."""
        # spec: cont.resume-enqueues
        task._parked = None
        task._send = value
        task._throw = exc
        task._state = RUNNABLE
        self._ready.append(task)

    def _step(self, task: Task[Any]) -> None:
        """Run `task` until it suspends or finishes."""
        if self._trace is not None:
            self._trace("run", task)
        self._current = task
        coro = task._coro
        try:
            exc = task._throw
            if exc is None:
                value = task._send
                task._send = None
                handler = coro.send(value)
            else:
                task._throw = None
                handler = coro.throw(exc)
            while True:
                if not callable(handler):
                    # spec: cont.not-a-trap
                    handler = coro.throw(
                        TypeError(
                            f"{task!r} awaited something that yielded {handler!r}; "
                            "refloop tasks can await only refloop operations "
                            "(asyncio or trio awaitables do not work here)"
                        )
                    )
                    continue
                if task._cancel is not None:
                    # spec: cancel.runnable
                    # spec: cancel.catch
                    cancelled, task._cancel = task._cancel, None
                    handler = coro.throw(cancelled)
                    continue
                task._streak = 0
                if handler is requeue:
                    # The common yield, without a continuation to allocate
                    # nor a thread check (this is the loop's thread): the
                    # same as requeue(k) (spec: op.yield).
                    self._enqueue(task, None, None)
                    break
                task._state = WAITING
                k = task._parked = Continuation(self, task)
                try:
                    handler(k)
                    break
                except BaseException as err:
                    # spec: cont.handler-raises
                    if k._used:
                        # The handler resumed the task, then raised: withdraw
                        # the resumption and fail the suspension instead.
                        self._ready.remove(task)
                        misuse = LoopError(
                            f"a suspend handler of {task!r} resumed it and then raised"
                        )
                        misuse.__cause__ = err
                        err = misuse
                    task._state = RUNNABLE
                    task._parked = None
                    task._send = None
                    task._throw = None
                    handler = coro.throw(err)
        except StopIteration as stop:
            self._finish(task, stop.value, None)
        except (KeyboardInterrupt, SystemExit) as err:
            self._finish(task, None, err)
            raise
        except BaseException as err:
            self._finish(task, None, err)
        finally:
            self._current = None

    def _finish(
        self, task: Task[Any], result: object, exc: BaseException | None
    ) -> None:
        if exc is None:
            # spec: task.finish
            task._state = DONE
            task._result = result
        else:
            task._state = FAILED
            task._exception = exc
        # A request that came too late to be raised goes with the task.
        task._cancel = None
        del self._tasks[task.tid]
        joiners = task._joiners
        if joiners:
            # spec: task.join.wakes
            task._observed = True
            task._joiners = []
            for k in joiners:
                if not k._used:
                    k()
        # spec: cancel.not-reported
        elif exc is not None and not task._observed and not isinstance(exc, Cancelled):
            # spec: task.fail.report
            if self._trace is not None:
                self._trace("report", task)
            self._report(task)

    # ----------------------------------------------------------- timers

    def time(self) -> float:
        """The loop's clock, in seconds (spec: timer.clock)."""
        return self._clock()

    def call_at(
        self, when: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle:
        """Call `fn(*args)` once the clock reaches `when` (spec: timer.fire)."""
        deadline = check_time(when, "call_at() when")
        if not callable(fn):
            raise TypeError(f"call_at() needs a callable, got {fn!r}")
        if self._closed:
            raise LoopError(f"{self!r} is closed; it cannot schedule {fn!r}")
        self._check_thread("call_at()")
        # spec: timer.validate
        return self._timers.push(deadline, fn, args, self._current)

    def call_later(
        self, delay: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle:
        """Call `fn(*args)` after `delay` seconds; a negative delay means now
        (spec: timer.validate)."""
        seconds = check_time(delay, "call_later() delay")
        return self.call_at(self._clock() + max(0.0, seconds), fn, *args)

    def call_when_idle(self, fn: Callable[..., object], *args: Any) -> _Idle:
        """Call `fn(*args)` in an iteration where, after the poll, no task is
        runnable, no socket is ready and no timer is due; idle calls run in
        the order made (spec: idle). Returns a handle with `cancel()`."""
        if not callable(fn):
            raise TypeError(f"call_when_idle() needs a callable, got {fn!r}")
        if self._closed:
            raise LoopError(f"{self!r} is closed; it cannot schedule {fn!r}")
        self._check_thread("call_when_idle()")
        entry = _Idle(self._idle, fn, args, self._current)
        self._idle.append(entry)
        return entry

    def _run_idle(self) -> None:
        idle = self._idle
        trace = self._trace
        # spec: idle
        for _ in range(len(idle)):
            entry = idle.popleft()
            if entry.cancelled:
                continue
            if trace is not None and entry.task is not None:
                trace("idle", entry.task)
            try:
                entry.fn(*entry.args)
            except Exception as err:
                log.error("idle callback %r raised", entry.fn, exc_info=err)

    def timers(self) -> list[TimerHandle]:
        """Pending (uncancelled) timers, in the order they will fire."""
        return self._timers.handles()

    def _fire(self, now: float) -> None:
        """Run the timers due at `now` (spec: timer.fire, timer.order)."""
        trace = self._trace
        # spec: timer.fire
        for handle in self._timers.pop_due(now):
            if handle.cancelled:
                continue  # cancelled by a timer that fired before it
            if trace is not None and handle.task is not None:
                trace("fire", handle.task)
            fn, args = handle._release()
            if type(fn) is Continuation and not fn._used:
                # A sleep's continuation: fn() without its thread check,
                # this is the loop's thread.
                fn._used = True
                self._enqueue(fn._task, None, None)
                continue
            try:
                fn(*args)
            except Exception as err:
                # spec: timer.callback-error
                log.error("timer callback %r raised", handle, exc_info=err)

    # ----------------------------------------------------------- cancellation

    def _cancel(self, task: Task[Any], cancelled: Cancelled) -> None:
        k = task._parked
        if k is None:
            # spec: cancel.runnable
            pending = task._cancel
            if pending is not None and _width(task, pending) <= _width(task, cancelled):
                # spec: cancel.merge
                return
            task._cancel = cancelled
            return
        # spec: cancel.waiting
        slot = k._slot
        if slot is not None:
            self._unpark(slot, k)
        elif k.on_cancel is not None:
            k.on_cancel()
        k.throw(cancelled)

    # ----------------------------------------------------------- iterations

    def run_once(self, timeout: float | None = None) -> None:
        """One iteration: poll, wake ready waiters, run the runnable tasks.

        The poll waits at most `timeout` seconds (None: until something is
        ready), and not at all when a task is runnable.
        """
        self._enter("run_once()")
        try:
            self._iterate(timeout)
        finally:
            self._leave()

    def _enter(self, what: str) -> None:
        if self._closed:
            raise LoopError(f"{self!r} is closed")
        if self._running:
            # spec: loop.no-nesting
            raise LoopError(f"{self!r} is already running; {what} cannot nest")
        self._check_thread(what)
        previous = _set_running(self)
        if previous is not None:
            _set_running(previous)
            raise LoopError(f"another loop, {previous!r}, is running in this thread")
        self._running = True

    def _leave(self) -> None:
        self._running = False
        _set_running(None)

    def _iterate(self, timeout: float | None) -> None:
        """The body of one iteration (run_once without its guards)."""
        if self._dirty:
            self._sync()
        wait = timeout
        if self._ready or self._idle:
            wait = 0
        elif self._timers._heap:
            deadline = self._timers.next_deadline()
            if deadline is not None:
                # spec: timer.poll-timeout
                until = max(0.0, deadline - self._clock())
                wait = until if wait is None or until < wait else wait
        if wait and wait > MAX_POLL:
            # spec: timer.poll-cap
            wait = MAX_POLL
        # spec: tick.poll-timeout
        # spec: io.ready
        if wait == 0 and not self._nwaiters:
            # spec: tick.poll-skip
            events = _NO_EVENTS
        else:
            events = self._selector.select(wait)
        if self._posted:
            self._run_posted()
        if events:
            self._wake(events)
        if self._timers._heap:
            self._fire(self._clock())
        if self._idle and not self._ready:
            self._run_idle()
        self._drain()

    def _drain(self) -> None:
        """Run exactly the tasks that are runnable now (this is the only place
        where tasks are stepped)."""
        ready = self._ready
        step = self._step
        # spec: tick.ready-snapshot
        for _ in range(len(ready)):
            step(ready.popleft())

    def run_forever(self) -> None:
        """Run iterations until `stop()` is called (spec: loop.stop)."""
        self._enter("run_forever()")
        try:
            # spec: loop.stop
            while True:
                self._iterate(0 if self._stopping else None)
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._leave()

    def stop(self) -> None:
        """Ask `run_forever` to return once the current iteration ends."""
        self._stopping = True

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Spawn `coro` as the main task, run until it finishes, and return its
        result or raise its exception (spec: loop.run)."""
        if self._running or running_loop_or_none() is not None:
            if inspect.iscoroutine(coro):
                coro.close()
            # spec: loop.no-nesting
            raise LoopError(f"{self!r}.run() cannot be called inside a running loop")
        # spec: loop.run
        main = self.spawn(coro, name="main")
        main._observed = True
        self._enter("run()")
        restore = self._catch_sigint()
        try:
            while not main.done():
                if not (
                    self._ready
                    or self._nwaiters
                    or self._timers
                    or self._idle
                    or self._posted
                    or self._in_threads
                ):
                    # spec: loop.run.deadlock
                    raise LoopError(
                        f"deadlock: {main!r} has not finished, but no task is "
                        f"runnable and none waits on a socket; waiting tasks: "
                        f"{self.tasks()!r}"
                    )
                self._iterate(None)
                if self._interrupted:
                    self._wind_down()
                    raise KeyboardInterrupt
        finally:
            restore()
            self._leave()
        return main.result()

    def _catch_sigint(self) -> Callable[[], None]:
        """While run() runs in the main thread, Ctrl-C asks the loop to wind
        down instead of raising wherever the interpreter happens to be; a
        second Ctrl-C raises at once (spec: loop.sigint)."""
        self._interrupted = False
        if threading.current_thread() is not threading.main_thread():
            return _nothing
        try:
            previous = signal.getsignal(signal.SIGINT)
        except ValueError:
            return _nothing
        if previous is not signal.default_int_handler:
            return _nothing  # someone else handles Ctrl-C: leave it to them

        def on_sigint(signum: int, frame: object) -> None:
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
            self._wakeup.notify()

        def restore() -> None:
            signal.signal(signal.SIGINT, previous)

        # spec: loop.sigint
        signal.signal(signal.SIGINT, on_sigint)
        return restore

    def _wind_down(self, iterations: int = 100) -> None:
        """Cancel every task, let them clean up for a bounded number of
        iterations, then close the sockets they were waiting on."""
        registered = [slot.sock for slot in self._fdmap.values() if slot.mask]
        for task in self.tasks():
            task.cancel()
        for _ in range(iterations):
            if not self._tasks:
                break
            self._iterate(0)
        for sock in registered:
            self.close_socket(sock)

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the loop: forget every waiter, end every unfinished task
        (closing its coroutine) and close the selector. Sockets stay open."""
        if self._closed:
            return
        if self._running:
            raise LoopError(f"{self!r} is running; it cannot close itself")
        self._closed = True
        # spec: loop.close
        for slot in list(self._fdmap.values()):
            if slot.mask:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._selector.unregister(slot.fd)
        self._fdmap.clear()
        self._dirty.clear()
        self._timers.clear()
        self._idle.clear()
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(self._wakeup.fileno())
        self._close_threads()
        self._nwaiters = 0
        self._ready.clear()
        leftover = list(self._tasks.values())
        self._tasks.clear()
        for task in leftover:
            task._state = FAILED
            task._exception = LoopError(f"{self!r} closed before {task!r} finished")
            task._observed = True
            try:
                task._coro.close()
            except RuntimeError:
                log.exception("%r did not stop when its loop closed", task)
        self._selector.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._running else "idle"
        return (
            f"<refloop.Loop {state} tasks={len(self._tasks)} waiters={self._nwaiters}>"
        )


def _width(task: Task[Any], cancelled: Cancelled) -> int:
    """How far `cancelled` unwinds `task`, as a rank: -1 when no scope the
    task has open absorbs it (a plain cancel), else that scope's depth;
    smaller is wider (spec: cancel.merge)."""
    scope = cancelled.scope
    if scope is None:
        return -1
    for depth, open_scope in enumerate(task._scopes):
        if open_scope is scope:
            return depth
    return -1


def run(coro: Coroutine[Any, Any, T], *, budget: int = DEFAULT_BUDGET) -> T:
    """Run `coro` on a new loop and return its result or raise its exception;
    the loop is closed afterwards."""
    if running_loop_or_none() is not None:
        coro.close()
        # spec: loop.no-nesting
        raise LoopError("refloop.run() cannot be called from inside a running loop")
    loop = Loop(budget=budget)
    try:
        return loop.run(coro)
    finally:
        loop.close()


def _nothing() -> None:
    pass
