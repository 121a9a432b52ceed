"""Cancellation: how a request reaches a task (`request_cancel`, the body of
`Task.cancel`, and the task's open scopes), and the cancellation a user
controls, CancelScope (with `cancel()` and `shield`) and `sleep_forever()`.

Rule 1: a CancelScope is a scope like a timeout (spec: cancel.scope.nested):
the Cancelled its `cancel()` raises carries it, and its exit absorbs exactly
that Cancelled.

Rule 2: a shielded scope keeps cancellations from outside it away from the
work inside it. `Task.cancel` asks `deflect` first; a request for a scope
outside the innermost shield is kept on the shield (merged by width, as
cancel.merge merges), and made again, as a new request, when the shield
exits or is lowered (spec: cancel.shield.*).

Rule 3: a request for a runnable task is kept until its next suspension
(`Task._step` raises it there); a second request is merged with it by width,
the wider kept (spec: cancel.merge); a scope that closes drops the request
it made that was not delivered yet.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import Cancelled, LoopError
from ._runtime import current_task
from ._suspend import Continuation, suspend

if TYPE_CHECKING:
    from ._task import Task

__all__ = [
    "CancelScope",
    "deflect",
    "enter_scope",
    "hold_cancel",
    "leave_scope",
    "request_cancel",
    "sleep_forever",
    "width",
]


class CancelScope:
    """`with CancelScope() as scope:` a block that `scope.cancel()` cancels,
    and that `shield=True` protects from cancellations from outside it."""

    def __init__(self, *, shield: bool = False) -> None:
        if type(shield) is not bool:
            raise TypeError(f"CancelScope(shield=) needs a bool, got {shield!r}")
        self._shield = shield
        self._task: Task[Any] | None = None
        self._exited = False
        self._cancel_called = False
        # Invariant: set only while shielded and open; the widest request
        # from outside this scope made since it was shielded.
        self._deferred: Cancelled | None = None
        self.cancelled_caught = False

    @property
    def cancel_called(self) -> bool:
        return self._cancel_called

    @property
    def shield(self) -> bool:
        return self._shield

    @shield.setter
    def shield(self, value: bool) -> None:
        if type(value) is not bool:
            raise TypeError(f"{self!r}.shield needs a bool, got {value!r}")
        task = self._check_thread("setting shield")
        self._shield = value
        if task is None:
            return
        if value:
            self._take_pending(task)
        else:
            self._release(task)

    def _check_thread(self, what: str) -> Task[Any] | None:
        """The task the scope is open in, after refusing a foreign thread."""
        task = self._task
        if task is None or self._exited:
            return None
        task.loop._check_thread(f"{self!r}: {what}")
        return task

    def cancel(self) -> None:
        """Cancel the block: Cancelled is raised in it at once if it waits, at
        its next suspension if it runs; before the block is entered, as soon as
        it is; after it exited, nothing (spec: cancel.scope.cancel)."""
        task = self._check_thread("cancel()")
        if self._exited or self._cancel_called:
            return
        self._cancel_called = True
        if task is not None:
            # spec: cancel.scope.cancel
            task.cancel(scope=self)

    def __enter__(self) -> CancelScope:
        if self._task is not None:
            raise LoopError(f"{self!r} cannot be entered twice")
        self._task = task = current_task()
        enter_scope(task, self)
        if self._shield:
            self._take_pending(task)
        if self._cancel_called:
            task.cancel(scope=self)
        return self

    def _take_pending(self, task: Task[Any]) -> None:
        """A request pending for a scope outside this one waits for the shield
        to come down (spec: cancel.shield)."""
        pending = hold_cancel(task, self)
        if pending is not None:
            self._defer(pending)

    def _defer(self, cancelled: Cancelled) -> None:
        task = self._task
        assert task is not None
        kept = self._deferred
        # spec: cancel.shield.merge
        if kept is None or width(task, cancelled) < width(task, kept):
            self._deferred = cancelled

    def _release(self, task: Task[Any]) -> None:
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            # spec: cancel.shield.exit
            task.cancel(scope=deferred.scope)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        task = self._task
        assert task is not None
        self._exited = True
        leave_scope(task, self)
        self._release(task)
        # spec: cancel.scope.nested
        if isinstance(exc, Cancelled) and exc.scope is self:
            self.cancelled_caught = True
            return True
        return False

    async def __aenter__(self) -> CancelScope:
        return self.__enter__()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return self.__exit__(kind, exc, tb)

    def __repr__(self) -> str:
        flags = " shield" if self._shield else ""
        flags += " cancelled" if self._cancel_called else ""
        return f"<refloop.CancelScope{flags}>"


def deflect(scopes: tuple[object, ...], cancelled: Cancelled) -> bool:
    """Whether a shield among a task's open `scopes` (innermost last) takes
    `cancelled` to deliver later: the innermost shielded CancelScope between
    the innermost scope and the scope `cancelled` carries (spec: cancel.shield)."""
    for open_ in reversed(scopes):
        if open_ is cancelled.scope:
            return False
        if type(open_) is CancelScope and open_._shield:
            # spec: cancel.shield
            open_._defer(cancelled)
            return True
    return False


# ------------------------------------------------- a task's cancellation
# `Task` creates `_cancel` (the request to raise at its next suspension) and
# `_scopes` (the timeouts, task groups and cancel scopes open in it,
# innermost last); these functions and the task itself are the only writers.


def request_cancel(task: Task[Any], scope: object) -> bool:
    """`Task.cancel(scope=scope)`: unpark a waiting task with Cancelled, keep
    the request for a runnable one, or do nothing for a finished one."""
    if task.done():
        # spec: cancel.finished
        return False
    # spec: thread.refused-unchanged
    task._loop._check_thread(f"cancelling {task!r}")
    cancelled = Cancelled(f"{task!r} was cancelled", scope)
    # spec: cancel.shield
    if task._scopes and deflect(task._scopes, cancelled):
        return True
    k = task._parked
    if k is None:
        # spec: cancel.runnable
        pending = task._cancel
        if pending is not None and width(task, pending) <= width(task, cancelled):
            # spec: cancel.merge
            return True
        task._cancel = cancelled
        return True
    # spec: cancel.waiting
    task._loop._unpark(k)
    k.throw(cancelled)
    return True


def width(task: Task[Any], cancelled: Cancelled) -> int:
    """How far `cancelled` unwinds `task`, as a rank: -1 when no scope open
    there absorbs it (a plain cancel), else that scope's depth; smaller is
    wider (spec: cancel.merge)."""
    scope = cancelled.scope
    if scope is None:
        return -1
    for depth, open_scope in enumerate(task._scopes):
        if open_scope is scope:
            return depth
    return -1


def enter_scope(task: Task[Any], scope: object) -> None:
    """`scope` (a timeout, task group or cancel scope) opens inside `task`."""
    task._scopes = (*task._scopes, scope)


def leave_scope(task: Task[Any], scope: object) -> None:
    """`scope` closes: it is no longer open in `task`, and a cancellation it
    requested that was not delivered yet is dropped (spec: cancel.merge)."""
    task._scopes = tuple(open_ for open_ in task._scopes if open_ is not scope)
    pending = task._cancel
    if pending is not None and pending.scope is scope:
        task._cancel = None


def hold_cancel(task: Task[Any], shield: object) -> Cancelled | None:
    """`task`'s pending request, taken back if it unwinds past `shield` (a
    scope open there), for the shield to make again when it comes down
    (spec: cancel.shield)."""
    pending = task._cancel
    if pending is not None and width(task, pending) < task._scopes.index(shield):
        task._cancel = None
        return pending
    return None


def _park_forever(k: Continuation) -> None:
    pass  # the task keeps k (task._parked); only cancel() resumes it


async def sleep_forever() -> NoReturn:
    """Suspend until cancelled (spec: cancel.sleep-forever)."""
    current_task()
    # spec: cancel.sleep-forever
    await suspend(_park_forever)
    raise LoopError("sleep_forever() was resumed without being cancelled")
