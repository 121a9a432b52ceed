"""Scoped cancellation: timeouts and task groups, built on `Task.cancel`.

Rule: a scope cancels only the work inside it. The Cancelled it raises
carries the scope, and the scope's exit absorbs exactly its own Cancelled,
so nested scopes and outer cancellations pass through untouched
(spec: cancel.scope.*).
"""

from __future__ import annotations

import inspect
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from ._acm import AsyncWithEnter
from ._cancelscope import enter_scope, leave_scope
from ._clock import check_time
from ._errors import Cancelled, LoopError
from ._runtime import current_task
from ._task import Task
from ._timers import TimerHandle

__all__ = ["TaskGroup", "move_on_after", "timeout"]

T = TypeVar("T")


class timeout(AsyncWithEnter):
    """`with timeout(seconds):` cancels the block after `seconds` by the
    loop's clock and raises TimeoutError; `fired` tells whether it did."""

    _quiet = False

    def __init__(self, seconds: float) -> None:
        self._seconds = check_time(seconds, "timeout seconds")
        self.fired = False
        self._task: Task[Any] | None = None
        self._handle: TimerHandle | None = None

    def __enter__(self) -> Self:
        if self._task is not None:
            raise LoopError(f"{self!r} cannot be entered twice")
        self._task = task = current_task()
        self._handle = task.loop.call_later(self._seconds, self._expire)
        enter_scope(task, self)
        return self

    def _expire(self) -> None:
        assert self._task is not None
        self.fired = True
        # spec: cancel.scope.timeout
        self._task.cancel(scope=self)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        assert self._task is not None and self._handle is not None
        self._handle.cancel()
        # If the timer fired while the task was runnable and the block ended
        # before the task suspended, nothing is left to cancel.
        leave_scope(self._task, self)
        # spec: cancel.scope.timeout
        if isinstance(exc, Cancelled) and exc.scope is self:
            # spec: cancel.scope.nested
            if self._quiet:
                return True
            raise TimeoutError(
                f"the block timed out after {self._seconds:g} s"
            ) from exc
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._seconds:g} s fired={self.fired}>"


class move_on_after(timeout):
    """Like `timeout`, but gives up quietly: the block just ends."""

    _quiet = True


class TaskGroup:
    """`async with TaskGroup() as g: g.spawn(coro)` waits for every child.
    When a child fails, the other children and the block are cancelled, and
    the failures are raised together as an ExceptionGroup
    (spec: cancel.scope.group); a KeyboardInterrupt or SystemExit, the first
    of them, is raised as it is (spec: cancel.scope.group-interrupt)."""

    def __init__(self) -> None:
        self._children: list[Task[Any]] = []
        self._errors: list[BaseException] = []
        self._parent: Task[Any] | None = None
        self._exiting = False
        self._cancel_called = False
        self._exited = False
        # The first KeyboardInterrupt or SystemExit, raised as it is
        # (spec: cancel.scope.group-interrupt).
        self._interrupt: BaseException | None = None

    async def __aenter__(self) -> TaskGroup:
        if self._parent is not None:
            raise LoopError(f"{self!r} cannot be entered twice")
        self._parent = current_task()
        enter_scope(self._parent, self)
        return self

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        """Run `coro` as a child the group waits for; refused (TypeError or
        LoopError, the coroutine closed, nothing changed) for something not a
        coroutine, before the group is entered, after it exited, or from
        another thread (spec: cancel.scope.group-spawn)."""
        if not inspect.iscoroutine(coro):
            # spec: cancel.scope.group-spawn
            raise TypeError(
                f"TaskGroup.spawn() needs a coroutine object, got {coro!r}; "
                "call the async function: g.spawn(f()), not g.spawn(f)"
            )
        parent = self._parent
        if parent is None or self._exited:
            coro.close()
            # spec: cancel.scope.group-spawn
            raise LoopError(
                "TaskGroup.spawn() needs `async with TaskGroup() as g:` first"
                if parent is None
                else f"{self!r} has exited; TaskGroup.spawn() cannot add a child"
            )
        # spec: cancel.scope.group-spawn
        try:
            parent.loop._check_thread(f"{self!r}: TaskGroup.spawn()")
        except LoopError:
            coro.close()
            raise
        if name is None:
            name = getattr(coro, "__qualname__", "task")
        task = parent.loop.spawn(self._guard(coro), name=name)
        task._expect()
        self._children.append(task)
        if self._cancel_called:
            # spec: cancel.scope.group-cancel
            task.cancel(scope=self)
        return task

    def cancel(self) -> None:
        """Cancel every child and the block; the group's exit absorbs it, so
        `async with` ends quietly (spec: cancel.scope.group-cancel)."""
        parent = self._parent
        if parent is None:
            raise LoopError(
                "TaskGroup.cancel() needs `async with TaskGroup() as g:` first"
            )
        parent.loop._check_thread(f"{self!r}.cancel()")
        if self._exited or self._cancel_called:
            return
        self._cancel_called = True
        # spec: cancel.scope.group-cancel
        for child in self._children:
            child.cancel(scope=self)
        if not self._exiting:
            parent.cancel(scope=self)

    async def _guard(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return await coro
        except (Cancelled, GeneratorExit):
            # Not a failure: a cancellation, or the loop closing the
            # coroutine (spec: cancel.scope.group).
            raise
        except BaseException as err:
            self._fail(err)
            raise

    # spec: cancel.scope.group
    def _fail(self, err: BaseException) -> None:
        self._errors.append(err)
        self._interrupted_by(err)
        for child in self._children:
            child.cancel(scope=self)
        if not self._exiting:
            # A child runs only once the group is entered.
            assert self._parent is not None
            self._parent.cancel(scope=self)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._exiting = True
        assert self._parent is not None
        if isinstance(exc, GeneratorExit) and self._parent.loop.is_closed():
            # The loop's close() closes the block's coroutine: the children
            # are the loop's to end, and nothing can wait any more
            # (spec: cancel.scope.group).
            leave_scope(self._parent, self)
            self._exited = True
            return False
        if exc is not None:
            self._interrupted_by(exc)
        if exc is not None and not (isinstance(exc, Cancelled) and exc.scope is self):
            for child in self._children:
                child.cancel(scope=self)
        for child in self._children:
            while not child.done():
                try:
                    await child.join()
                except GeneratorExit:
                    # spec: cancel.scope.group
                    raise  # the loop closes the coroutine: stop waiting
                except BaseException as err:
                    if child.done() and err is child._exception:
                        continue  # its outcome: _guard has recorded it
                    if not isinstance(err, Cancelled):
                        # Neither the child's outcome nor a cancel (a closed
                        # loop's LoopError, say): caught, it made close()
                        # spin for ever.
                        # spec: cancel.scope.group
                        raise
                    if err.scope is self:
                        continue  # the group's own: it is waiting already
                    # We were cancelled from outside while waiting: pass it
                    # on to the children, then keep waiting for them.
                    for other in self._children:
                        other.cancel(scope=self)
                    self._errors.append(err)
        leave_scope(self._parent, self)
        self._exited = True
        outer = [e for e in self._errors if isinstance(e, Cancelled)]
        failures = [e for e in self._errors if not isinstance(e, Cancelled)]
        if self._interrupt is not None:
            # spec: cancel.scope.group-interrupt
            raise self._interrupt
        if failures and exc is not None and not isinstance(exc, Cancelled):
            # The block's own failure is not lost: it comes after the
            # children's (spec: cancel.scope.group).
            failures.append(exc)
        if failures:
            raise BaseExceptionGroup("a task group's children failed", failures)
        if outer:
            raise outer[0]
        return isinstance(exc, Cancelled) and exc.scope is self

    def _interrupted_by(self, err: BaseException) -> None:
        if self._interrupt is None and isinstance(err, KeyboardInterrupt | SystemExit):
            self._interrupt = err

    def __repr__(self) -> str:
        running = sum(not child.done() for child in self._children)
        state = (
            " exited"
            if self._exited
            else " exiting"
            if self._exiting
            else ""
            if self._parent is not None
            else " not entered"
        )
        flags = " cancelled" if self._cancel_called else ""
        return (
            f"<refloop.TaskGroup children={len(self._children)} "
            f"running={running}{state}{flags}>"
        )
