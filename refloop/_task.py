"""Tasks: a coroutine that the loop steps, and what became of it.

A task is in exactly one place at a time (spec: inv.one-place): in the run
queue (`runnable`), parked on one continuation (`waiting`), or finished
(`done` or `failed`). Only the loop moves a task between places: it steps a
task with `_step` and resumes it with `Scheduler._enqueue`; the task tells
the loop when it finishes.

The task owns its fields but two: how a cancellation is requested, merged,
held by a shield and dropped with its scope is written in
refloop._cancelscope (`request_cancel`, `enter_scope`, `leave_scope`,
`hold_cancel`, `width`), which writes `_cancel` and `_scopes` too; `_step`
delivers the request. Other core modules use only these methods: `_step`
(the loop), `_spent`/`_count_op` (the operations' budget), `_expect` (a
task whose outcome someone will observe), `_view` (snapshots),
`_waiting_on`/`_joined_by` (the deadlock verdict) and `_abandon` (a closing
loop).
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ._cancelscope import request_cancel
from ._errors import Cancelled, LoopError
from ._runtime import _running
from ._suspend import Continuation, Handler, requeue

if TYPE_CHECKING:
    from ._runtime import RunningLoop

__all__ = ["DONE", "FAILED", "RUNNABLE", "WAITING", "Task"]

T = TypeVar("T")

RUNNABLE: Final = "runnable"
WAITING: Final = "waiting"
DONE: Final = "done"
FAILED: Final = "failed"


class Task(Generic[T]):
    """A coroutine run by a `Loop`. Create tasks with `Loop.spawn`."""

    __slots__ = (
        "_cancel",
        "_coro",
        "_exception",
        "_joiners",
        "_loop",
        "_observed",
        "_parked",
        "_result",
        "_scopes",
        "_send",
        "_state",
        "_streak",
        "_throw",
        "name",
        "tid",
    )

    def __init__(
        self, loop: RunningLoop, tid: int, coro: Coroutine[Any, Any, T], name: str
    ) -> None:
        self._loop = loop
        self._coro = coro
        self.tid = tid
        self.name = name
        self._state: str = RUNNABLE
        # Invariant: _send/_throw hold the outcome to resume with, and only
        # while the task is runnable; at most one of them is meaningful.
        self._send: object = None
        self._throw: BaseException | None = None
        self._result: T | None = None
        self._exception: BaseException | None = None
        self._joiners: list[Continuation] = []
        # True once someone has seen the outcome (a joiner, or run()).
        self._observed = False
        # Socket operations completed in a row since the task last suspended
        # (spec: op.budget).
        self._streak = 0
        # Invariant: _parked is the unresumed continuation while waiting.
        self._parked: Continuation | None = None
        # A cancellation to deliver at the next suspension (spec: cancel.runnable).
        self._cancel: Cancelled | None = None
        # The timeout scopes and task groups open in this task, innermost
        # last (spec: cancel.merge).
        self._scopes: tuple[object, ...] = ()

    @property
    def state(self) -> str:
        """One of "runnable", "waiting", "done", "failed"."""
        return self._state

    @property
    def loop(self) -> RunningLoop:
        """The loop that runs this task. (The task itself needs only the
        `Scheduler` part of it.)"""
        return self._loop

    def done(self) -> bool:
        return self._state == DONE or self._state == FAILED

    def cancelled(self) -> bool:
        """Whether the task ended with Cancelled."""
        return self._state == FAILED and isinstance(self._exception, Cancelled)

    def result(self) -> T:
        """The task's return value; raises its exception if it failed."""
        if self._state == DONE:
            return self._result  # type: ignore[return-value]
        if self._state == FAILED:
            self._observed = True
            assert self._exception is not None
            raise self._exception
        raise LoopError(f"{self!r} has not finished; await task.join() first")

    def exception(self) -> BaseException | None:
        if not self.done():
            raise LoopError(f"{self!r} has not finished; await task.join() first")
        self._observed = True
        return self._exception

    def cancel(self, *, scope: object = None) -> bool:
        """Cancel the task: if it is waiting, its registration is removed and
        it resumes with Cancelled at once; if it is runnable, Cancelled is
        raised at its next suspension; if it has finished, nothing happens.
        Returns whether a cancellation was requested (spec: cancel.*)."""
        return request_cancel(self, scope)

    @types.coroutine
    def join(self) -> Generator[Handler, Any, T]:
        """Wait until the task finishes; return its result or raise its
        exception (spec: task.join). A plain generator that yields its handler
        itself (see refloop._suspend): a waiting joiner then costs one frame,
        not two."""
        if not self.done():
            if self._loop._current is self:
                # spec: task.join.self
                raise LoopError(f"{self!r} cannot join itself: it would never finish")
            if _running.loop is not self._loop:
                # spec: thread.owner
                raise LoopError(
                    f"{self!r} belongs to another loop than the one running "
                    "here; join it from a task of its own loop (post with "
                    "call_soon_threadsafe to reach it)"
                )
            yield self._park_joiner
        return self.result()

    def _park_joiner(self, k: Continuation) -> None:
        self._joiners.append(k)
        # spec: cancel.waiting
        k.on_cancel = partial(self._joiners.remove, k)

    # ------------------------------------------------- for the operations

    def _spent(self) -> bool:
        """Whether the task must yield before its next operation (spec: op.budget)."""
        return self._streak >= self._loop._budget

    def _count_op(self) -> None:
        """One more operation completed without suspending (spec: op.budget)."""
        self._streak += 1

    def _expect(self) -> None:
        """Someone will observe the outcome: a failure is not reported."""
        self._observed = True

    # ------------------------------------------------- for the loop

    def _step(self) -> None:
        """Run until the coroutine suspends or finishes; the loop calls this,
        with this task as its current one, for a task it took from its run
        queue."""
        loop = self._loop
        coro = self._coro
        try:
            exc = self._throw
            if exc is None:
                value = self._send
                self._send = None
                handler = coro.send(value)
            else:
                self._throw = None
                handler = coro.throw(exc)
            while True:
                if not callable(handler):
                    # spec: cont.not-a-trap
                    handler = coro.throw(
                        TypeError(
                            f"{self!r} awaited something that yielded {handler!r}; "
                            "refloop tasks can await only refloop operations "
                            "(asyncio or trio awaitables do not work here)"
                        )
                    )
                    continue
                if self._cancel is not None:
                    # spec: cancel.runnable
                    # spec: cancel.catch
                    cancelled, self._cancel = self._cancel, None
                    handler = coro.throw(cancelled)
                    continue
                self._streak = 0
                if handler is requeue:
                    # The common yield, without a continuation to allocate
                    # nor a thread check (this is the loop's thread): the
                    # same as requeue(k) (spec: op.yield).
                    loop._enqueue(self, None, None)
                    break
                self._state = WAITING
                k = self._parked = Continuation(loop, self)
                try:
                    handler(k)
                    break
                except BaseException as err:
                    # spec: cont.handler-raises
                    # spec: cont.handler-base-exception
                    if k._used:
                        # The handler resumed the task, then raised: withdraw
                        # the resumption and fail the suspension instead.
                        loop._withdraw(self)
                        misuse = LoopError(
                            f"a suspend handler of {self!r} resumed it and then raised"
                        )
                        misuse.__cause__ = err
                        err = misuse
                    self._state = RUNNABLE
                    self._parked = None
                    self._send = None
                    self._throw = None
                    handler = coro.throw(err)
        except StopIteration as stop:
            self._finish(stop.value, None)
        except (KeyboardInterrupt, SystemExit) as err:
            self._finish(None, err)
            raise
        except BaseException as err:
            self._finish(None, err)

    def _resumed(self, value: object, exc: BaseException | None) -> None:
        """The loop put this task in its run queue with this outcome."""
        # spec: cont.resume-enqueues
        self._parked = None
        self._send = value
        self._throw = exc
        self._state = RUNNABLE

    def _finish(self, result: object, exc: BaseException | None) -> None:
        if exc is None:
            # spec: task.finish
            self._state = DONE
            self._result = result  # type: ignore[assignment]
        else:
            self._state = FAILED
            self._exception = exc
        # A request that came too late to be raised goes with the task.
        self._cancel = None
        self._loop._forget(self)
        joiners = self._joiners
        if joiners:
            # spec: task.join.wakes
            self._observed = True
            self._joiners = []
            for k in joiners:
                if not k._used:
                    k()
        # spec: cancel.not-reported
        elif exc is not None and not self._observed and not isinstance(exc, Cancelled):
            # spec: task.fail.report
            self._loop._report_failure(self)

    def _abandon(self, why: BaseException) -> None:
        """The loop closed before this task finished: fail it, unreported,
        and close its coroutine so its `finally` blocks run (spec: loop.close)."""
        self._state = FAILED
        self._exception = why
        self._observed = True
        self._coro.close()

    def _waiting_on(self) -> Continuation | None:
        """The continuation this task is parked on, if it waits (for the
        deadlock verdict, spec: loop.run.deadlock)."""
        return self._parked

    def _joined_by(self) -> list[Continuation]:
        """The continuations of the tasks joining this one, in join order."""
        return list(self._joiners)

    def _view(self) -> tuple[BaseException | None, tuple[Task[Any], ...]]:
        """The exception (if failed) and the tasks joining this one, in join
        order, without observing anything."""
        joining = tuple(k._task for k in self._joiners if not k._used)
        return self._exception, joining

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.name!r} {self._state}>"
