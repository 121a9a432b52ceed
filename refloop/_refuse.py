"""What the loop refuses, checked before anything changes (spec:
thread.refused-unchanged).

Each function here raises, naming the call and what was wrong, or returns
having changed nothing; the loop's methods call one first and act after.

Rules this module keeps:

1. The checks come in one order everywhere: the argument (TypeError), then
   the loop's state (closed: LoopError), then the caller's thread
   (thread.owner).
2. A refused spawn closes the coroutine it was given, so that Python does
   not also warn that it was never awaited.
"""

from __future__ import annotations

import inspect
from threading import get_ident
from typing import TYPE_CHECKING, Any, NoReturn

from ._errors import LoopError

if TYPE_CHECKING:
    from ._loop import Loop
    from ._task import Task

__all__ = ["resume", "schedule", "spawn"]


def spawn(loop: Loop, coro: object, what: str = "spawn") -> None:
    """Refuse `loop.spawn(coro)` (or `what`: `run`) unless `coro` is a
    coroutine object and the loop is open and called from its thread."""
    if not inspect.iscoroutine(coro):
        # spec: spawn.validate
        raise TypeError(
            f"{what}() needs a coroutine object, got {coro!r}; "
            f"call the async function: {what}(f()), not {what}(f)"
        )
    # spec: loop.close.refuses
    if loop._closed:
        coro.close()
        raise LoopError(f"{loop!r} is closed; it cannot spawn {coro!r}")
    if get_ident() != loop._threads.owner:
        coro.close()
        loop._check_thread(f"{what}()")  # raises: another thread


def schedule(loop: Loop, what: str, fn: object) -> None:
    """Refuse a call (`what`) that schedules `fn` unless `fn` is callable and
    the loop is open and called from its thread."""
    if not callable(fn):
        raise TypeError(f"{what} needs a callable, got {fn!r}")
    # spec: loop.close.refuses
    if loop._closed:
        raise LoopError(f"{loop!r} is closed; it cannot schedule {fn!r}")
    loop._check_thread(what)


def resume(loop: Loop, task: Task[Any]) -> NoReturn:
    """The refusal of a continuation's resume of `task` from another thread
    or on a closed loop (the loop checks the condition, on its hot path)."""
    # spec: thread.owner
    loop._check_thread(f"resuming {task!r}")
    # spec: loop.close.refuses
    raise LoopError(f"{loop!r} is closed; {task!r} cannot be resumed")
