"""Tasks: a coroutine that the loop steps, and what became of it.

A task is in exactly one place at a time (spec: inv.one-place): in the run
queue (`runnable`), parked on one continuation (`waiting`), or finished
(`done` or `failed`). Only the loop moves a task between places.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from ._cancelscope import deflect
from ._errors import Cancelled, LoopError
from ._suspend import Continuation, Handler

if TYPE_CHECKING:
    from ._loop import Loop

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
        self, loop: Loop, tid: int, coro: Coroutine[Any, Any, T], name: str
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
    def loop(self) -> Loop:
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
        if self.done():
            # spec: cancel.finished
            return False
        cancelled = Cancelled(f"{self!r} was cancelled", scope)
        # spec: cancel.shield
        if self._scopes and deflect(self, cancelled):
            return True
        self._loop._cancel(self, cancelled)
        return True

    @types.coroutine
    def join(self) -> Generator[Handler, Any, T]:
        """Wait until the task finishes; return its result or raise its
        exception (spec: task.join). A plain generator rather than an async
        function: a waiting joiner then costs one frame, not two."""
        if not self.done():
            if self._loop._current is self:
                # spec: task.join.self
                raise LoopError(f"{self!r} cannot join itself: it would never finish")
            yield self._park_joiner
        return self.result()

    def _park_joiner(self, k: Continuation) -> None:
        self._joiners.append(k)
        # spec: cancel.waiting
        k.on_cancel = partial(self._joiners.remove, k)

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.name!r} {self._state}>"
