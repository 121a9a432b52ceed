"""Shutdown that lets cleanup finish (spec: loop.shutdown).

When `refloop.run`'s main task has finished while other tasks run, or on
Ctrl-C, the remaining tasks are cancelled and the loop goes on iterating, so
that their cleanup may await (close a connection politely, sleep, join),
until they have all finished or the grace period has passed by the loop's
clock. What is left then is reported and returned.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, Final

from ._clock import check_time
from ._task import Task

if TYPE_CHECKING:
    from ._loop import Loop

__all__ = ["DEFAULT_GRACE", "check_grace", "wind_down"]

# spec: loop.shutdown
DEFAULT_GRACE: Final = 5.0

log = logging.getLogger("refloop")


def _nothing() -> None:
    pass


def wind_down(loop: Loop, grace: float) -> list[Task[Any]]:
    """Cancel every unfinished task of `loop` (which is entered: running in
    this thread) and run iterations until none is left or `grace` seconds
    have passed; at least one iteration runs, so cleanup that does not await
    completes. Returns the tasks still unfinished, each reported."""
    # spec: loop.shutdown
    tasks = loop.tasks()
    if not tasks:
        return []
    for task in tasks:
        task.cancel()
    deadline = loop.time() + grace
    # A timer at the deadline bounds every poll of the grace period.
    alarm = loop.call_at(deadline, _nothing)
    try:
        while True:
            try:
                loop._iterate(None)
            except BaseException as err:
                if err is not loop._passing:
                    raise
                # spec: loop.shutdown.passed-on (a task passed it on: a join,
                # a task group; the rest of the iteration runs in the next)
            if not loop.tasks() or loop.time() >= deadline:
                break
    finally:
        alarm.cancel()
    left = loop.tasks()
    for task in left:
        # spec: loop.shutdown.report
        log.warning(
            "%r did not finish within the shutdown grace period of %gs "
            "after it was cancelled",
            task,
            grace,
        )
    return left


def check_grace(grace: object, coro: object = None) -> float:
    """`grace` as seconds; refused, the coroutine it came with is closed
    (it will never run) (spec: loop.shutdown)."""
    try:
        seconds = check_time(grace, "grace")
        if seconds < 0:
            raise ValueError(f"grace must be zero or more seconds, got {grace!r}")
    except (TypeError, ValueError):
        if inspect.iscoroutine(coro):
            coro.close()
        raise
    return seconds
