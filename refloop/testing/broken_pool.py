"""Deliberately broken loops of `run_in_thread` under cancellation (issue
#14): each is a small subclass of the real loop whose thread bridge changes
one method (the loop's bridge is made one of the broken kind), as in
refloop/testing/broken.py (whose BROKEN_LOOPS lists them)."""

from __future__ import annotations

from typing import Any

from .._loop import Loop
from .._suspend import Continuation
from .._threads import ThreadBridge

__all__ = ["OrphanKeepsRunLoop", "ResumingOrphanLoop", "UncountedDropLoop"]


class _ResumeTheTask(ThreadBridge):
    def _deliver(
        self, k: Continuation, value: object, error: BaseException | None
    ) -> None:
        if k.resumed:
            # Wrong: the outcome goes to whatever the task waits on now.
            self.in_threads -= 1
            self.orphaned -= 1
            now = k.task._waiting_on()
            if now is not None:
                now(value)
            return
        super()._deliver(k, value, error)


class ResumingOrphanLoop(Loop):
    """The post of a job whose task was cancelled resumes the task's current
    wait with the job's outcome (breaks thread.run-cancel: a cancelled
    task's job resumes nobody; the task, waiting again, is woken early)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads.__class__ = _ResumeTheTask


class _Uncounted(ThreadBridge):
    def _deliver(
        self, k: Continuation, value: object, error: BaseException | None
    ) -> None:
        if k.resumed:
            return  # wrong: dropped, but still counted as in the pool
        super()._deliver(k, value, error)


class UncountedDropLoop(Loop):
    """A dropped post is not counted out of the pool (breaks
    thread.run.orphan: the loop believes a job is still running, leaks its
    count, and run() waits for it for ever)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads.__class__ = _Uncounted


class _CountsOrphans(ThreadBridge):
    def waited_for(self) -> int:
        return self.in_threads  # wrong: orphans resume nobody


class OrphanKeepsRunLoop(Loop):
    """run() counts a job whose task was cancelled as able to resume a task
    (breaks thread.run.orphan and loop.run.deadlock: a deadlock behind an
    orphan is not reported, run() blocks instead)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads.__class__ = _CountsOrphans
