"""The loop's table of unfinished tasks, by number, oldest first.

The loop owns its tasks and the iteration (refloop/_loop.py); this part keeps
the table that the loop, its lifecycle (refloop/_lifecycle.py) and its
snapshot read, so that they agree on one list.

Rules this module keeps:

1. A task is in the table from `add` until it finishes (`forget`, called by
   the task itself) or its loop closes (`close`); a number is never given
   out twice.
2. The table says which tasks exist, not where they are: the run queue is
   the loop's, the waiters', timers' and joiners' places are their parts'.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from ._deadlock import held_outside
from ._task import Task

if TYPE_CHECKING:
    from ._runtime import RunningLoop

__all__ = ["TaskTable"]

T = TypeVar("T")


class TaskTable:
    """Every unfinished task of one loop."""

    def __init__(self) -> None:
        # Invariant: the unfinished tasks, by number, oldest first.
        self.by_tid: dict[int, Task[Any]] = {}
        # Invariant: greater than every number given out so far.
        self._next = 0

    def add(
        self, loop: RunningLoop, coro: Coroutine[Any, Any, T], name: str
    ) -> Task[T]:
        """A new task of `loop` for `coro` (already checked), in the table."""
        tid = self._next
        self._next = tid + 1
        task: Task[T] = Task(loop, tid, coro, name)
        self.by_tid[tid] = task
        return task

    def forget(self, task: Task[Any]) -> None:
        """`task` has finished: it leaves the table."""
        del self.by_tid[task.tid]

    def view(self) -> list[Task[Any]]:
        """The unfinished tasks, oldest first."""
        return list(self.by_tid.values())

    def __len__(self) -> int:
        return len(self.by_tid)

    def held_outside(self) -> bool:
        """Whether user code holds a waiting task's continuation (spec:
        loop.run.deadlock; see refloop._deadlock)."""
        return held_outside(self.by_tid.values())

    def close(self) -> list[Task[Any]]:
        """Empty the table (the loop closes); returns the tasks it held."""
        leftover = list(self.by_tid.values())
        self.by_tid.clear()
        return leftover
