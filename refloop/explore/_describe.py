"""What a run that cannot progress reports: every unfinished task, what it
waits on, and where (its stack), for asyncio and for native runs (spec:
explore.deadlock)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from types import FrameType
from typing import Any

from .._loop import Loop

__all__ = ["describe_native", "describe_tasks"]


def _write_stack(out: io.StringIO, frames: Iterable[FrameType]) -> None:
    for frame in frames:
        code = frame.f_code
        out.write(
            f"      at {code.co_qualname} "
            f"({code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno})\n"
        )


def _native_frames(coro: Any) -> Iterable[FrameType]:
    """The frames of a native task's chain of awaits, outermost first
    (coroutines, and the generators of refloop's operations below them)."""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


def describe_native(loop: Loop) -> str:
    """Every unfinished native task, what it waits on, and where."""
    out = io.StringIO()
    for task in loop.tasks():
        out.write(f"  {task!r}\n")
        _write_stack(out, _native_frames(task._coro))
    return out.getvalue() or "  (no unfinished task)\n"


def describe_tasks(loop: asyncio.AbstractEventLoop) -> str:
    """Every unfinished asyncio task, what it waits on, and where."""
    out = io.StringIO()
    for task in sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name()):
        out.write(f"  {task!r}\n")
        _write_stack(out, task.get_stack())
    return out.getvalue() or "  (no unfinished asyncio task)\n"
