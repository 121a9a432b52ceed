"""When run() may conclude that nothing can ever resume its tasks.

Rule this module keeps (spec: loop.run.deadlock): with nothing runnable, no
socket waiter, no timer, no idle call, no posted call and no thread call in
progress, the loop's own kinds of waiting are all empty, and a waiting task
can be resumed only through a continuation that a `suspend` handler handed
to user code, by a call another thread posts. A continuation that nothing
outside the loop's own records refers to can never be called: if every
waiting task's is such, no task can ever run again.

The count is CPython's reference count. It errs only one way: anything else
holding the continuation (a thread, a list, a debugger, a traceback, garbage
not yet collected) makes it count as held, and run() waits in its poll as
asyncio and trio always do; it never reports a deadlock for a continuation
that is still reachable. Where the interpreter has no reference counts
(PyPy), every continuation counts as held.
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
# The loop's records of a joiner's continuation besides the joiner's own
# `_parked`: the joined task's list of joiners and the join's `on_cancel`.
_JOIN_RECORDS = 2


def held_outside(tasks: Iterable[Task[Any]]) -> bool:
    """Whether some waiting task's continuation is referred to by anything
    but the loop's records of it (the task that waits, and a joined task's
    list of joiners with the join's `on_cancel`)."""
    refcount = getattr(sys, "getrefcount", None)
    tasks = list(tasks)
    if refcount is None:
        return any(task._waiting_on() is not None for task in tasks)
    joiners = {id(k) for task in tasks for k in task._joined_by()}
    for task in tasks:
        k = task._waiting_on()
        if k is None:
            continue
        loop_refs = 1 + (_JOIN_RECORDS if id(k) in joiners else 0)
        if refcount(k) - _OWN > loop_refs:
            return True
    return False
