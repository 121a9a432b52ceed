"""The virtual executor: thread work on the loop's side, posted back when
the strategy decides.

Rules this module keeps (spec: explore.thread.*):

1. `submit` runs nothing: it queues a job and returns its future. The
   controlling selector offers each queued job at each poll as a decision
   (explore.thread.post): post it now (option 0, at the first poll after
   submission) or hold it back for up to `hold` polls, as a ready event.
2. Posting a job runs its function in the loop's thread, at that poll,
   and completes its future there; asyncio's `run_in_executor` and
   `to_thread`, and refloop's `run_in_thread` (which hands the pool a
   function that posts back with `call_soon_threadsafe`), then see the
   outcome exactly as a worker thread's (explore.thread.virtual).
3. While a job waits, the loop must poll: `busy(True)` is called when the
   first job is queued and `busy(False)` when none is left, so the runner
   can keep a never-ready watcher registered meanwhile (an asyncio loop
   with nothing registered skips its poll while busy, tick.poll-skip, and
   a test that spins until a thread's result is back would never see it).
4. Shutting down cancels what was never posted; nothing is left behind.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Job", "VirtualExecutor"]


@dataclass
class Job:
    seq: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: concurrent.futures.Future[Any]

    def name(self) -> str:
        fn = self.fn
        inner = getattr(fn, "func", None)  # functools.partial (to_thread's)
        while inner is not None:
            fn = inner
            inner = getattr(fn, "func", None)
        return getattr(fn, "__qualname__", repr(fn))


class VirtualExecutor(concurrent.futures.ThreadPoolExecutor):
    """An executor without threads (see the module's rules). It is a
    ThreadPoolExecutor only because asyncio's `set_default_executor` takes
    nothing else; it never starts one."""

    def __init__(self, busy: Callable[[bool], None] | None = None) -> None:
        # ThreadPoolExecutor.__init__ is not called: it makes the queue, the
        # locks and the semaphore of the threads this executor never starts
        # (a tenth of an explored run's cost).
        self.busy = busy
        self.pending: list[Job] = []
        self.posted = 0
        self._seq = 0
        self._shut = False

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        if self._shut:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if not callable(fn):
            raise TypeError(f"submit() needs a callable, got {fn!r}")
        self._seq += 1
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.pending.append(Job(self._seq, fn, args, kwargs, future))
        if len(self.pending) == 1 and self.busy is not None:
            self.busy(True)
        return future

    def post(self, job: Job) -> None:
        """Run `job` now, in this (the loop's) thread, and complete its
        future (explore.thread.virtual)."""
        self.pending.remove(job)
        self.posted += 1
        if not self.pending and self.busy is not None:
            self.busy(False)
        if not job.future.set_running_or_notify_cancel():
            return  # cancelled before it ran (asyncio cancels on task cancel)
        try:
            value = job.fn(*job.args, **job.kwargs)
        except BaseException as err:
            job.future.set_exception(err)
            if not isinstance(err, Exception):
                raise
        else:
            job.future.set_result(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shut = True
        for job in self.pending:
            job.future.cancel()
        self.pending.clear()
