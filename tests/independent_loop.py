"""A loop that is not a refloop.Loop: the seed's design, transliterated.

The seed ("Yet Another Event Loop for Guile", 2016) polls, runs the ready
callbacks, then drains its queue of tasks until the queue is empty. This is
that loop, built from refloop's tasks, continuations and two of its parts
(`Waiters`, `Timers`) but with its own class, run queue and iteration. It
offers `refloop._runtime.RunningLoop`, so refloop's operations run on it, and
`refloop.testing.LoopUnderTest`, so `machine_for` checks it against the
model. It polls as the spec says rather than with the seed's zero timeout (a
busy poll, which the harness would also catch), so that its one departure
from the spec is the seed's: work queued during the drain runs in the same
iteration, and a task that keeps yielding starves I/O (tick.ready-snapshot).
`SnapshotSeedLoop` mends exactly that, and then agrees with the model.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar

from refloop import LoopError, Snapshot, Task, TimerHandle
from refloop._clock import Clock
from refloop._runtime import _loop_closed, _loop_opened, _set_running
from refloop._suspend import Continuation
from refloop._timers import Timers
from refloop._waiters import READ, Waiters
from refloop._wakeup import Wakeup

_log = logging.getLogger("refloop")

T = TypeVar("T")


class SeedLoop:
    """Poll, wake, fire, then drain until the run queue is empty."""

    greedy: ClassVar[bool] = True

    def __init__(
        self,
        *,
        selector: selectors.BaseSelector,
        clock: Clock,
        budget: int,
        trace: Callable[[str, Task[Any]], None],
        report: Callable[[Task[Any]], None],
    ) -> None:
        self._selector = selector
        self._clock = clock
        self._budget = budget
        self._trace = trace
        self._report = report
        self._waiters = Waiters(selector)
        self._timers = Timers()
        self._ready: deque[Task[Any]] = deque()
        self._tasks: dict[int, Task[Any]] = {}
        self._current: Task[Any] | None = None
        self._next_tid = 0
        self._owner = threading.get_ident()
        # refloop.close finds the loop a socket is registered with
        # (io.close.anywhere), and from another thread is refused by it.
        _loop_opened(self)
        self._lock = threading.Lock()
        self._posted: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        self._in_threads = 0
        self._wakeup = Wakeup()
        selector.register(self._wakeup.fileno(), READ, None)
        self._closed = False

    def _refuse_closed(self, what: str) -> None:
        # spec: loop.close.refuses (as the stateful machine found it missing)
        if self._closed:
            raise LoopError(f"{self!r} is closed; it refuses {what}")

    # ------------------------------------------------ RunningLoop

    def _resume(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        self._refuse_closed(f"resuming {task!r}")
        # spec: thread.owner (as the stateful machine found it missing)
        self._check_thread(f"resuming {task!r}")
        self._enqueue(task, value, exc)

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        task._resumed(value, exc)
        self._ready.append(task)

    def _withdraw(self, task: Task[Any]) -> None:
        self._ready.remove(task)

    def _unpark(self, k: Continuation) -> None:
        if not self._waiters.unpark(k) and k.on_cancel is not None:
            k.on_cancel()

    def _forget(self, task: Task[Any]) -> None:
        del self._tasks[task.tid]

    def _report_failure(self, task: Task[Any]) -> None:
        self._trace("report", task)
        self._report(task)

    def _check_thread(self, what: str) -> None:
        if threading.get_ident() != self._owner:
            raise LoopError(f"{what} was called from another thread than {self!r}'s")

    def _knows(self, sock: socket.socket) -> bool:
        return self._waiters.knows(sock)

    def _park(self, sock: socket.socket, direction: int, k: Continuation) -> None:
        self._waiters.park(sock, direction, k)

    def _call_at(
        self, when: float, fn: Callable[..., object], task: Task[Any]
    ) -> TimerHandle:
        return self._timers.push(when, fn, (), task)

    def _submit(
        self, fn: Callable[..., object], args: tuple[Any, ...], k: Continuation
    ) -> None:
        """A thread per call, whose outcome is posted back: dropped if the
        task was cancelled meanwhile (thread.run-cancel)."""
        self._in_threads += 1

        def work() -> None:
            value: object = None
            error: BaseException | None = None
            try:
                value = fn(*args)
            except BaseException as err:
                error = err
            with contextlib.suppress(LoopError):
                self.call_soon_threadsafe(self._delivered, k, value, error)

        threading.Thread(target=work, daemon=True).start()

    def _delivered(
        self, k: Continuation, value: object, error: BaseException | None
    ) -> None:
        self._in_threads -= 1
        if k.resumed:
            return
        if error is None:
            k(value)
        else:
            k.throw(error)

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        if threading.get_ident() != self._owner or self._closed:
            coro.close()
            self._check_thread("spawn()")
            self._refuse_closed("spawn()")
        task: Task[T] = Task(self, self._next_tid, coro, name or "task")
        self._next_tid += 1
        self._tasks[task.tid] = task
        self._ready.append(task)
        self._trace("spawn", task)
        return task

    def time(self) -> float:
        return self._clock()

    def call_later(
        self, delay: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle:
        self._check_thread("call_later()")
        self._refuse_closed("call_later()")
        return self._timers.push(
            self._clock() + max(0.0, delay), fn, args, self._current
        )

    def call_when_idle(self, fn: Callable[..., object], *args: Any) -> TimerHandle:
        self._check_thread("call_when_idle()")
        self._refuse_closed("call_when_idle()")
        return self._timers.push_idle(fn, args, self._current)

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: Any) -> None:
        with self._lock:
            self._refuse_closed("call_soon_threadsafe()")
            self._posted.append((fn, args))
            self._wakeup.notify()

    def close_socket(self, sock: socket.socket) -> None:
        self._check_thread("close_socket()")
        self._waiters.close_socket(sock)

    # ------------------------------------------------ LoopUnderTest

    def run_once(self, timeout: float | None = None) -> None:
        self._refuse_closed("run_once()")
        previous = _set_running(self)
        try:
            self._iterate(timeout)
        finally:
            _set_running(previous)

    def _iterate(self, timeout: float | None) -> None:
        waiters, timers = self._waiters, self._timers
        if waiters.changed:
            waiters.sync()
        wait = timeout
        if self._ready or timers.idle:
            wait = 0
        else:
            deadline = timers.next_deadline()
            if deadline is not None:
                until = max(0.0, deadline - self._clock())
                wait = until if wait is None else min(wait, until)
        if wait is not None:
            # spec: tick.poll-clamp (a poll waits at most one day)
            wait = min(wait, 86400.0)
        events = [] if wait == 0 and not waiters.count else self._selector.select(wait)
        if self._posted:
            self._wakeup.drain()
            with self._lock:
                posted = list(self._posted)
                self._posted.clear()
            for i, (fn, args) in enumerate(posted):
                try:
                    fn(*args)
                except Exception:
                    # spec: thread.post.callback-error (logged, the rest run)
                    logging.getLogger("refloop").exception("%r raised", fn)
                except BaseException:
                    # spec: thread.post.callback-error (the rest stay queued)
                    with self._lock:
                        self._posted.extendleft(reversed(posted[i + 1 :]))
                    raise
        for k in waiters.ready(events):
            self._trace("wake", k.task)
            self._enqueue(k._take(), None, None)
        timers.fire(self._clock(), self._enqueue, self._trace)
        if timers.idle and not self._ready:
            timers.run_idle(self._trace)
        count = len(self._ready)
        while self._ready and (self.greedy or count > 0):
            count -= 1
            task = self._ready.popleft()
            self._trace("run", task)
            self._current = task
            try:
                task._step()
            finally:
                self._current = None

    def snapshot(self) -> Snapshot:
        self._check_thread("snapshot()")
        return Snapshot.of(
            self._tasks.values(),
            self._ready,
            self._waiters,
            self._timers,
            self._posted,
            in_threads=self._in_threads,
            closed=self._closed,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _loop_closed(self)
        # spec: loop.close (a primitive's queue lets go of its task, the
        # posted calls go, the selector closes: the machine's close rule)
        for task in list(self._tasks.values()):
            k = task._waiting_on()
            if k is not None:
                self._unpark(k)
        with self._lock:
            self._posted.clear()
        self._waiters.close()
        self._timers.close()
        self._selector.unregister(self._wakeup.fileno())
        self._wakeup.close()
        # spec: loop.close.raises (a cleanup's failure is logged, its first
        # KeyboardInterrupt raised once closed)
        interrupt: BaseException | None = None
        for task in list(self._tasks.values()):
            try:
                task._abandon(LoopError("the seed loop closed"))
            except (KeyboardInterrupt, SystemExit) as err:
                if interrupt is None:
                    interrupt = err
                else:
                    _log.exception("%r did not stop when the seed loop closed", task)
            except BaseException:
                _log.exception("%r did not stop when the seed loop closed", task)
        self._tasks.clear()
        self._ready.clear()
        self._selector.close()
        if interrupt is not None:
            raise interrupt


class SnapshotSeedLoop(SeedLoop):
    """The seed loop with the spec's drain: only the tasks queued when it began."""

    greedy = False
