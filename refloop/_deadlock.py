"""When run() may conclude that nothing can ever resume its tasks.

Rule this module keeps (spec: loop.run.deadlock): with nothing runnable, no
socket waiter, no timer, no idle call, no posted call and no thread call in
progress, a waiting task can be resumed only through its continuation, by a
call another thread posts. A continuation that nothing outside the loop's
own records refers to can never be called: if every waiting task's is such,
no task can ever run again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from ._task import Task

__all__ = ["held_outside"]

# References that getrefcount sees and that are not a holder's: its own
# argument and the local variable below.
_OWN = 2


def held_outside(tasks: Iterable[Task[Any]]) -> bool:
    """Whether some waiting task's continuation is referred to by anything
    but the loop's records of it (the task's `_parked`, and a joined task's
    list of joiners with the join's `on_cancel`). Something that holds it may
    post it from another thread; a reference kept by garbage awaiting the
    cyclic GC counts as held (run() waits rather than report a false
    deadlock)."""
    tasks = list(tasks)
    joiners = {id(k) for task in tasks for k in task._joiners}
    for task in tasks:
        k = task._parked
        if k is None:
            continue
        loop_refs = 1 + (2 if id(k) in joiners else 0)
        if sys.getrefcount(k) - _OWN > loop_refs:
            return True
    return False
