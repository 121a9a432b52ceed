"""How other threads reach a loop, and how a task waits on a thread.

Rules this module keeps (spec: thread.*):

1. The loop belongs to the thread that created it. Every entry point except
   `call_soon_threadsafe` refuses other threads with LoopError.
2. `call_soon_threadsafe` appends under a lock and then writes to the wakeup
   socketpair; the loop drains the socket before it takes the calls, so no
   wakeup is lost (see _wakeup.py).
3. `run_in_thread` hands work to a thread pool and suspends; the worker posts
   the outcome back with `call_soon_threadsafe`. The pool is shut down when
   the loop closes; work that finishes after that is dropped.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from ._errors import LoopError
from ._runtime import _running
from ._suspend import Continuation, suspend
from ._wakeup import Wakeup

__all__ = ["ThreadSupport", "run_in_thread"]

T = TypeVar("T")

log = logging.getLogger("refloop")


class ThreadSupport:
    """The part of Loop that deals with other threads."""

    _closed: bool

    def _init_threads(self) -> None:
        self._owner = threading.get_ident()
        self._wakeup = Wakeup()
        self._post_lock = threading.Lock()
        # Invariant: appended only under _post_lock, and only while open.
        self._posted: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        # Calls handed to the pool whose outcome has not come back yet.
        self._in_threads = 0

    def _check_thread(self, what: str) -> None:
        if threading.get_ident() != self._owner:
            # spec: thread.owner
            raise LoopError(
                f"{what} was called from thread {threading.current_thread().name!r}, "
                f"but {self!r} belongs to another; use call_soon_threadsafe()"
            )

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: Any) -> None:
        """From any thread: run `fn(*args)` in the loop's thread, at the start
        of its next iteration, in the order posted (spec: thread.post)."""
        if not callable(fn):
            raise TypeError(f"call_soon_threadsafe() needs a callable, got {fn!r}")
        with self._post_lock:
            if self._closed:
                # spec: thread.closed
                raise LoopError(f"{self!r} is closed; it cannot run {fn!r}")
            self._posted.append((fn, args))
            # spec: thread.no-lost-wakeup
            self._wakeup.notify()

    def _run_posted(self) -> None:
        """Run the calls posted so far (spec: thread.post)."""
        self._wakeup.drain()
        posted = self._posted
        for _ in range(len(posted)):
            fn, args = posted.popleft()
            try:
                fn(*args)
            except Exception as err:
                # spec: thread.post.callback-error
                log.error("a call posted from a thread, %r, raised", fn, exc_info=err)
            except BaseException:
                # spec: thread.post.callback-error
                if posted:
                    self._wakeup.notify()  # the rest run next iteration
                raise

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            workers = min(32, (os.cpu_count() or 1) + 4)
            self._pool = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="refloop-worker"
            )
        return self._pool

    def __del__(self) -> None:
        # An unclosed loop must not leak its wakeup sockets (nor warn about
        # them: they are the loop's own, not the caller's).
        wakeup = getattr(self, "_wakeup", None)
        if wakeup is not None:
            wakeup.close()

    def _close_threads(self) -> None:
        with self._post_lock:
            self._posted.clear()
            self._wakeup.close()
        if self._pool is not None:
            # spec: thread.pool-shutdown
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _deliver(
    loop: ThreadSupport, k: Continuation, value: object, error: BaseException | None
) -> None:
    loop._in_threads -= 1
    if k.resumed:
        # spec: thread.run-cancel
        return  # the task was cancelled while the thread worked: drop it
    if error is None:
        k(value)
    else:
        k.throw(error)


def _park_in_thread(
    loop: ThreadSupport,
    fn: Callable[..., object],
    args: tuple[Any, ...],
    k: Continuation,
) -> None:
    def work() -> None:
        value: object = None
        error: BaseException | None = None
        try:
            value = fn(*args)
        except BaseException as err:
            error = err
        # If the loop closed while we worked, nobody is waiting: drop it.
        with contextlib.suppress(LoopError):
            loop.call_soon_threadsafe(_deliver, loop, k, value, error)

    loop._executor().submit(work)
    loop._in_threads += 1


async def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking `fn(*args)` in the loop's thread pool; resume with its
    result or exception (spec: thread.run). Cancelling the task does not stop
    the thread; its outcome is then dropped."""
    loop = _running.loop
    if loop is None or loop._current is None:
        raise LoopError("run_in_thread() must be awaited inside a refloop task")
    if not callable(fn):
        raise TypeError(f"run_in_thread() needs a callable, got {fn!r}")
    # spec: thread.run
    result: T = await suspend(lambda k: _park_in_thread(loop, fn, args, k))
    return result
