"""The one door between a task and the loop.

Rule 1: a task gives control back to the loop only by yielding a handler,
a callable that the loop calls with the task's continuation. `suspend` is
the door every operation goes through. Exactly two other functions yield a
handler themselves, the same value `suspend` would yield, because each is
measured on its own (bench/switch.py) and `await suspend(...)` would add a
generator frame to every call:

- `refloop.yield_now` yields `requeue`, which the loop recognises and runs
  without making a continuation (spec: op.yield);
- `Task.join` yields the joined task's `_park_joiner` (spec: task.join).

Nothing else in refloop yields to the task runner; a task that yields
anything but a callable gets TypeError (spec: cont.not-a-trap).

Rule 2: a continuation is one-shot. Resuming it a second time raises
`ResumeError` and changes nothing.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ._errors import ResumeError

if TYPE_CHECKING:
    from ._runtime import Scheduler
    from ._task import Task
    from ._waiters import _Slot

__all__ = ["Continuation", "Handler", "requeue", "suspend"]


class Continuation:
    """The rest of a suspended task. Call it once, with a value or an error.

    `k(value)` and `k.throw(exc)` do not run the task: they put it at the back
    of the loop's run queue with that outcome (spec: cont.resume-enqueues).
    """

    __slots__ = ("_loop", "_seq", "_slot", "_task", "_used", "on_cancel")

    def __init__(self, loop: Scheduler, task: Task[Any]) -> None:
        self._loop = loop
        self._task = task
        # Invariant: _used flips False -> True exactly once.
        self._used = False
        # Set by whoever parks this continuation: undoes the parking (removes
        # the timer, join or idle call) when the task is cancelled (spec:
        # cancel.waiting).
        self.on_cancel: Callable[[], object] | None = None
        # Owned by the waiters (refloop._waiters), nobody else reads them:
        # while this continuation waits on a socket, its slot there and its
        # registration number (spec: io.wait). Parking there needs no
        # on_cancel closure: the waiters unpark it.
        self._slot: _Slot | None = None
        self._seq = 0

    @property
    def task(self) -> Task[Any]:
        return self._task

    @property
    def resumed(self) -> bool:
        return self._used

    def __call__(self, value: object = None) -> None:
        # spec: cont.one-shot
        if self._used:
            raise ResumeError(f"the continuation of {self._task!r} was already resumed")
        # _resume refuses a foreign thread before it changes anything.
        self._loop._resume(self._task, value, None)
        self._used = True

    def throw(self, exc: BaseException) -> None:
        if not isinstance(exc, BaseException):
            raise TypeError(f"k.throw() needs an exception instance, got {exc!r}")
        # spec: cont.one-shot
        if self._used:
            raise ResumeError(f"the continuation of {self._task!r} was already resumed")
        self._loop._resume(self._task, None, exc)
        self._used = True

    def _take(self) -> Task[Any]:
        """Mark this continuation used and return its task, for the loop to
        enqueue in its own thread; the caller has checked it is unused."""
        self._used = True
        return self._task

    def __repr__(self) -> str:
        state = "resumed" if self._used else "pending"
        return f"<Continuation of {self._task!r} {state}>"


Handler = Callable[[Continuation], object]


@types.coroutine
def suspend(handler: Handler) -> Generator[Handler, Any, Any]:
    """Suspend the calling task; the loop calls `handler(k)` with its
    continuation, and `await suspend(handler)` returns what `k` is resumed
    with (or raises what `k.throw` is given). If `handler` raises before
    resuming `k`, the task resumes at once with that exception
    (spec: cont.handler-raises)."""
    if not callable(handler):
        raise TypeError(f"suspend() needs a callable handler, got {handler!r}")
    return (yield handler)


def requeue(k: Continuation) -> None:
    """The handler that yields: resume at once, so the task goes to the back
    of the run queue. The loop recognises it and skips making `k`."""
    k()
