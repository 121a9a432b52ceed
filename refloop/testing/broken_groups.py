"""Deliberately broken task groups: each breaks one rule of spec/09-cancel.md,
and the group machine (refloop.testing.group_machine) must catch every one
(tests/test_broken_groups.py).

Each is a small subclass of the real TaskGroup that changes one method.
"""

from __future__ import annotations

import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

from .._cancelscope import leave_scope
from .._errors import Cancelled
from .._scopes import TaskGroup
from .._task import Task

__all__ = [
    "BROKEN_GROUPS",
    "DeafGroup",
    "ImpatientGroup",
    "LateSpawnGroup",
    "LostBlockGroup",
    "MisnamingGroup",
    "SwallowingGroup",
    "ThreadBlindGroup",
    "UncancelledLateChildGroup",
    "WrappingGroup",
]

T = TypeVar("T")


@contextmanager
def _pretending(group: TaskGroup, flag: str, value: bool) -> Iterator[None]:
    """The group's `flag` set to `value` for the block, then as it was."""
    kept = getattr(group, flag)
    setattr(group, flag, value)
    try:
        yield
    finally:
        setattr(group, flag, kept)


class LostBlockGroup(TaskGroup):
    """When the block and children failed, only the children's failures are
    raised (refloop before this rule; breaks cancel.scope.group)."""

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            return await super().__aexit__(kind, exc, tb)
        except BaseExceptionGroup as group:
            kept = [e for e in group.exceptions if e is not exc]
            if len(kept) == len(group.exceptions):
                raise
            raise BaseExceptionGroup(group.message, kept) from None


class SwallowingGroup(TaskGroup):
    """Absorbs a Cancelled from outside as well as its own (breaks
    cancel.scope.group: the owner's Cancelled is raised at the end)."""

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            return await super().__aexit__(kind, exc, tb)
        except Cancelled:
            return True


class ImpatientGroup(TaskGroup):
    """A block cancelled from outside cancels the children and leaves without
    waiting for them (breaks cancel.scope.group)."""

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if isinstance(exc, Cancelled) and exc.scope is None and self._parent:
            for child in self._children:
                child.cancel(scope=self)
            leave_scope(self._parent, self)
            self._exiting = self._exited = True
            return False
        return await super().__aexit__(kind, exc, tb)


class DeafGroup(TaskGroup):
    """A child's failure cancels the other children but not the block (breaks
    cancel.scope.group)."""

    def _fail(self, err: BaseException) -> None:
        with _pretending(self, "_exiting", True):
            super()._fail(err)


class UncancelledLateChildGroup(TaskGroup):
    """A child spawned after `cancel()` is not cancelled (breaks
    cancel.scope.group-cancel)."""

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        with _pretending(self, "_cancel_called", False):
            return super().spawn(coro, name=name)


class LateSpawnGroup(TaskGroup):
    """Takes a child after the group exited, one nobody waits for (breaks
    cancel.scope.group-spawn)."""

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        with _pretending(self, "_exited", False):
            return super().spawn(coro, name=name)


class MisnamingGroup(TaskGroup):
    """Names every child after its own wrapper, as refloop did (breaks
    cancel.scope.group-spawn)."""

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]:
        return super().spawn(coro, name=name or "TaskGroup._guard")


class ThreadBlindGroup(TaskGroup):
    """`cancel()` from another thread marks the group cancelled before it is
    refused (breaks thread.refused-unchanged)."""

    _home: int | None = None

    async def __aenter__(self) -> TaskGroup:
        self._home = threading.get_ident()
        return await super().__aenter__()

    def cancel(self) -> None:
        if self._home is not None and threading.get_ident() != self._home:
            self._cancel_called = True
        super().cancel()


class WrappingGroup(TaskGroup):
    """A KeyboardInterrupt is raised inside the exception group with the
    other failures, which `except KeyboardInterrupt:` does not catch (refloop
    before this rule; breaks cancel.scope.group-interrupt)."""

    def _interrupted_by(self, err: BaseException) -> None:
        pass


BROKEN_GROUPS: dict[str, type[TaskGroup]] = {
    cls.__name__: cls
    for cls in [
        LostBlockGroup,
        SwallowingGroup,
        ImpatientGroup,
        DeafGroup,
        UncancelledLateChildGroup,
        LateSpawnGroup,
        MisnamingGroup,
        ThreadBlindGroup,
        WrappingGroup,
    ]
}
