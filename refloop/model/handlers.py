"""Suspend handlers that raise (cont.handler-raises,
cont.handler-base-exception): the `Suspend` operation, and what ends an
iteration early besides a callback's BaseException.

A handler that raises before parking the task leaves it runnable in the
same step, with the handler's exception raised at its `await suspend(...)`;
a model program handles no exception, so the task fails with it. One that
resumed the task and then raised has its resumption withdrawn, and the task
fails with LoopError. A KeyboardInterrupt (or SystemExit) that a task lets
escape ends the iteration with it: the tasks of the snapshot that had not
run stay first in the run queue.
"""

from __future__ import annotations

from typing import Final

from .programs import Suspend
from .state import BASE, FAILED, State, Task

__all__ = [
    "HANDLER_ERRORS",
    "INTERRUPT",
    "RAISES",
    "escaped",
    "interrupted",
    "interrupts",
    "suspend",
]

# The error each kind of raising handler fails its task with, by the loop's
# exception class name (the harness raises classes of these names).
HANDLER_ERRORS: Final = {
    "error": "HandlerError",
    "base": "HandlerBase",
    "interrupt": "HandlerInterrupt",
    "resumed": "LoopError",
}
RAISES: Final = tuple(HANDLER_ERRORS)
# A KeyboardInterrupt: a task failing with it ends the iteration.
INTERRUPT: Final = HANDLER_ERRORS["interrupt"]


def suspend(t: Task, op: Suspend) -> str:
    """The error the task fails with at `op` (its cancellation, if one was
    requested, is raised first: cancel.runnable, by the caller).

    pre: op.raises in RAISES
    post: __return__ in HANDLER_ERRORS.values()
    """
    # spec: cont.handler-raises
    # spec: cont.handler-base-exception
    return HANDLER_ERRORS[op.raises]


def interrupted(s: State, tid: int) -> bool:
    """Whether task `tid`, which just ran, let a KeyboardInterrupt escape
    (which ends the iteration: cont.handler-base-exception, task.finish)."""
    t = s.tasks[tid]
    return t.state == FAILED and t.error == INTERRUPT


def escaped(before: State, after: State) -> bool:
    """Whether the iteration from `before` to `after` ended with a
    BaseException escaping it: a callback's (timer.callback-base-exception)
    or a task's KeyboardInterrupt (cont.handler-base-exception)."""
    ran = after.called[len(before.called) :]
    if any(after.calls[n].effect == BASE for n in ran):
        return True
    return any(
        interrupted(after, t.tid)
        and (t.tid >= len(before.tasks) or before.tasks[t.tid].state != FAILED)
        for t in after.tasks
    )


def interrupts(before: State, after: State) -> str | None:
    """What escaped the iteration from `before` to `after`, if anything: a
    callback's BaseException ("escaped") or a task's KeyboardInterrupt."""
    if not escaped(before, after):
        return None
    ran = after.called[len(before.called) :]
    if any(after.calls[n].effect == BASE for n in ran):
        return "escaped"
    return INTERRUPT
