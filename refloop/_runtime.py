"""Which loop and task are running in this thread.

The loop sets these around each iteration; operations read them. Nothing
here yields or blocks.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ._errors import LoopError

if TYPE_CHECKING:
    from ._loop import Loop
    from ._task import Task

__all__ = ["current_loop", "current_task", "running_loop_or_none"]


class _Running(threading.local):
    loop: Loop | None = None


_running = _Running()


def running_loop_or_none() -> Loop | None:
    return _running.loop


def _set_running(loop: Loop | None) -> Loop | None:
    previous = _running.loop
    _running.loop = loop
    return previous


def current_loop() -> Loop:
    """The loop running in this thread; LoopError outside a running loop."""
    loop = _running.loop
    if loop is None:
        raise LoopError(
            "no refloop loop is running in this thread: call this from a task, "
            "or start one with refloop.run(main())"
        )
    return loop


def current_task() -> Task[Any]:
    """The task the running loop is stepping; LoopError outside a task."""
    task = current_loop()._current
    if task is None:
        raise LoopError("not inside a refloop task")
    return task
