"""`run_in_thread` jobs under the environment's control (spec: env.pool-finish).

A program's `InThread` awaits `run_in_thread(job)` for a `Job` that blocks
in its worker thread until the environment says it finishes
(`Pool.finish`), so that when its outcome is posted back is a step of the
stateful test, as in the model, and never a race. The pool numbers the jobs
in the order the loop submits them (it wraps the loop's `_submit`), and
keeps each job's continuation to tell the model's two kinds apart: a job
its task still waits for (a "pool" waiter) and one whose task was cancelled
meanwhile (an orphan: its post must resume nobody).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._suspend import Continuation
from ..model import Waiter

if TYPE_CHECKING:
    from .protocol import LoopUnderTest

__all__ = ["Job", "Pool", "WrongOutcome"]

# How long `finish` waits for the worker's post to reach the loop: never
# reached when the loop posts it, as every correct loop does at once.
_SETTLE = 2.0
# How long a job waits for the environment before it ends by itself.
_ABANDONED = 20.0


class WrongOutcome(AssertionError):
    """A task's `run_in_thread` resumed with another job's outcome."""


class Job:
    """The blocking call a task hands the pool: it returns itself once the
    environment lets it finish."""

    def __init__(self) -> None:
        self.n = -1  # numbered when the loop submits it
        self.k: Continuation | None = None
        self.go = threading.Event()
        self.finished = False
        # For an orphan's post, the callback number the model gives it (DROP).
        self.drop = -1

    def __call__(self) -> Job:
        # Bounded: a job whose harness was never disposed of (a failing
        # example's, say) must not keep the interpreter from exiting, where
        # concurrent.futures joins its worker threads.
        self.go.wait(_ABANDONED)
        return self

    def orphaned(self) -> bool:
        """Running, but its task no longer waits for it (thread.run-cancel)."""
        return self.k is not None and self.k.resumed

    def __repr__(self) -> str:
        return f"<job {self.n}>"


class Pool:
    """The jobs of one harness, by number."""

    def __init__(self, loop: LoopUnderTest) -> None:
        self.loop = loop
        self.jobs: list[Job] = []
        submit = getattr(loop, "_submit", None)
        if submit is not None:
            setattr(loop, "_submit", self._numbering(submit))  # noqa: B010

    def _numbering(
        self, submit: Callable[[Callable[..., object], tuple[Any, ...], Any], None]
    ) -> Callable[[Callable[..., object], tuple[Any, ...], Any], None]:
        def numbered(fn: Callable[..., object], args: tuple[Any, ...], k: Any) -> None:
            if isinstance(fn, Job):
                fn.n, fn.k = len(self.jobs), k
                self.jobs.append(fn)
            submit(fn, args, k)

        return numbered

    def _closed(self) -> bool:
        closed = getattr(self.loop, "is_closed", None)
        return bool(closed()) if closed is not None else False

    def running(self) -> list[Job]:
        return [job for job in self.jobs if not job.finished]

    def waiters(self) -> list[Waiter]:
        """The tasks waiting for a running job, as the model's waiters (a
        closed loop's tasks wait for nothing: loop.close)."""
        return [
            Waiter("pool", job.n, job.k.task.tid)
            for job in self.running()
            if job.k is not None and not job.k.resumed and job.k.task.state == "waiting"
        ]

    def orphans(self) -> tuple[int, ...]:
        """The running jobs whose task no longer waits (none once the loop
        is closed: its pool is shut down, thread.pool-shutdown)."""
        if self._closed():
            return ()
        return tuple(job.n for job in self.running() if job.orphaned())

    def posted(self, post: tuple[Callable[..., object], tuple[Any, ...]]) -> Job | None:
        """The job whose outcome `post` (a posted call and its arguments)
        carries, if it is one of a job's."""
        _, args = post
        found = [a for a in args if isinstance(a, Job)]
        return found[0] if found else None

    # spec: env.pool-finish
    def finish(self, n: int) -> bool:
        """Job `n` finishes; returns whether it was an orphan. Waits until the
        worker's post is in the loop's queue, so the next step sees it."""
        job = self.jobs[n]
        orphan = job.orphaned()
        job.finished = True
        job.go.set()
        deadline = time.monotonic() + _SETTLE
        while time.monotonic() < deadline:
            posts = [(p.call, p.args) for p in self.loop.snapshot().posted]
            if any(self.posted(p) is job for p in posts):
                break
            time.sleep(0.0005)
        return orphan

    def leaks(self) -> list[str]:
        """The loop's count of calls in its pool against the jobs running and
        the posts of their outcomes not yet run: a post dropped without being
        counted out, or counted twice, shows here (thread.run.orphan). A
        closed loop has shut its pool down and counts nothing more."""
        if self._closed():
            return []
        snap = self.loop.snapshot()
        posts = [p for p in snap.posted if self.posted((p.call, p.args)) is not None]
        want = len(self.running()) + len(posts)
        got = getattr(snap, "in_threads", want)
        if got != want:
            return [f"the loop counts {got} calls in its pool; {want} are running"]
        return []

    def release(self) -> None:
        """Let every job end (the harness is disposed of)."""
        for job in self.jobs:
            job.go.set()
