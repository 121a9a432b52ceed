"""`spawn` for code running inside a loop."""

from __future__ import annotations

import inspect
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._runtime import current_loop
from ._task import Task

__all__ = ["spawn"]

T = TypeVar("T")


def spawn(coro: Coroutine[Any, Any, T], *, name: str | None = None) -> Task[T]:
    """Start `coro` as a new task on the running loop (spec: spawn)."""
    try:
        loop = current_loop()
    except Exception:
        if inspect.iscoroutine(coro):
            coro.close()
        raise
    return loop.spawn(coro, name=name)
