"""The thread bridge: how other threads reach a loop, and how a task waits
on a thread.

Rules this part keeps (spec: thread.*):

1. The loop belongs to the thread that created it. Every entry point except
   `call_soon_threadsafe` refuses other threads with LoopError (`check`).
2. `post` appends under a lock and then writes to the wakeup socketpair; the
   loop drains the socket before it takes the calls, so no wakeup is lost
   (see _wakeup.py).
3. `run_in_thread` hands work to a thread pool and suspends; the worker posts
   the outcome back with `call_soon_threadsafe`. The pool is shut down when
   the loop closes; work that finishes after that is dropped.
4. An unclosed loop that is collected closes its wakeup sockets
   (`__del__`): they are the loop's own, not the caller's.

The part owns its fields; the loop reads `posted`, `in_threads` and
`waited_for()` (never writes them) to decide whether to run posted calls and
whether `run` is deadlocked: a call whose task was cancelled (an orphan)
resumes nobody, so it does not keep `run` from reporting a deadlock.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import selectors
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import LoopError
from ._runtime import _running
from ._suspend import suspend
from ._wakeup import Wakeup

if TYPE_CHECKING:
    from ._runtime import RunningLoop
    from ._suspend import Continuation

__all__ = ["ThreadBridge", "run_in_thread"]

T = TypeVar("T")

log = logging.getLogger("refloop")


class ThreadBridge:
    """The loop's wakeup socket, posted calls and worker pool."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        # Invariant: the thread that made the loop, or the last one to
        # `claim` it; it alone may drive it.
        self.owner = threading.get_ident()
        self._selector = selector
        self._wakeup = Wakeup()
        self._lock = threading.Lock()
        # Invariant: appended only under _lock, and only while open.
        self.posted: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        self._pool: concurrent.futures.Executor | None = None
        # Invariant: calls handed to the pool whose outcome has not come back,
        # and those among them whose task no longer waits for them (cancelled:
        # orphans, which can resume nobody).
        self.in_threads = 0
        self.orphaned = 0
        self._closed = False
        # The wakeup socket's key carries no slot: the waiters skip it.
        selector.register(self._wakeup.fileno(), selectors.EVENT_READ, None)

    def check(self, what: str, loop: object) -> None:
        """Refuse a caller that is not in the owner thread (spec: thread.owner)."""
        if threading.get_ident() != self.owner:
            # spec: thread.owner
            raise LoopError(
                f"{what} was called from thread {threading.current_thread().name!r}, "
                f"but {loop!r} belongs to another; use call_soon_threadsafe()"
            )

    def claim(self) -> None:
        """The calling thread becomes the owner: for a loop that belongs to
        the thread running it rather than the one that made it, as asyncio's
        do (refloop.aio's run_forever; it refuses to run a running loop)."""
        self.owner = threading.get_ident()

    def post(
        self, fn: Callable[..., object], args: tuple[Any, ...], loop: object
    ) -> None:
        """From any thread: queue `fn(*args)` and wake the poll (spec: thread.post)."""
        with self._lock:
            if self._closed:
                # spec: thread.closed
                raise LoopError(f"{loop!r} is closed; it cannot run {fn!r}")
            self.posted.append((fn, args))
            # spec: thread.no-lost-wakeup
            self._wakeup.notify()

    def notify(self) -> None:
        """Wake the poll (from a signal handler, say)."""
        self._wakeup.notify()

    def wakeup_fd(self) -> int:
        """The descriptor whose write wakes the poll (non-blocking)."""
        return self._wakeup.writer_fileno()

    def drain(self) -> None:
        """Empty the wakeup socket without running the posted calls, for a
        loop whose own doors write to it without posting (refloop.aio's
        call_soon_threadsafe queues a handle, then `notify`). A call posted
        while it drained gets its byte back, so no wakeup is lost
        (spec: thread.no-lost-wakeup)."""
        self._wakeup.drain()
        if self.posted:
            self._wakeup.notify()

    def run_posted(self) -> None:
        """Run the calls posted so far (spec: thread.post)."""
        self._wakeup.drain()
        posted = self.posted
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

    def submit(
        self,
        loop: RunningLoop,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        k: Continuation,
    ) -> None:
        """Run `fn(*args)` in the pool; resume `k` with its outcome through
        `loop.call_soon_threadsafe` (spec: thread.run)."""

        def work() -> None:
            value: object = None
            error: BaseException | None = None
            try:
                value = fn(*args)
            except BaseException as err:
                error = err
            # If the loop closed while we worked, nobody is waiting: drop it.
            with contextlib.suppress(LoopError):
                loop.call_soon_threadsafe(self._deliver, k, value, error)

        if self._pool is None:
            workers = min(32, (os.cpu_count() or 1) + 4)
            self._pool = concurrent.futures.ThreadPoolExecutor(
                workers, thread_name_prefix="refloop-worker"
            )
        self._pool.submit(work)
        self.in_threads += 1
        k.on_cancel = self._orphan

    def _orphan(self) -> None:
        # spec: thread.run.orphan
        self.orphaned += 1

    def waited_for(self) -> int:
        """The pool's calls whose task still waits for them: those that can
        still resume a task (spec: loop.run.deadlock)."""
        return self.in_threads - self.orphaned

    def _deliver(
        self, k: Continuation, value: object, error: BaseException | None
    ) -> None:
        self.in_threads -= 1
        if k.resumed:
            # spec: thread.run-cancel
            # spec: thread.run.orphan
            self.orphaned -= 1
            return  # the task was cancelled while the thread worked: drop it
        if error is None:
            k(value)
        else:
            k.throw(error)

    def use_executor(self, executor: concurrent.futures.Executor) -> None:
        """Hand `run_in_thread` work to `executor` instead of the pool made on
        first use: the explorer's virtual executor, which runs it in the
        loop's thread when the strategy decides (spec: explore.thread.virtual).
        It is shut down with the loop, as the pool is."""
        if self._pool is not None and self._pool is not executor:
            raise LoopError("the loop's worker pool has started; set it before")
        # spec: explore.thread.virtual
        self._pool = executor

    def has_pool(self) -> bool:
        """Whether a worker pool is running (it starts on first use)."""
        return self._pool is not None

    def wakeup_fileno(self) -> int:
        return self._wakeup.fileno()

    def close(self) -> None:
        """Refuse further posts, drop the posted calls, close the wakeup
        socket and shut the pool down (spec: thread.pool-shutdown)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.posted.clear()
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(self._wakeup.fileno())
            self._wakeup.close()
        if self._pool is not None:
            # spec: thread.pool-shutdown
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __del__(self) -> None:
        # An unclosed loop must not leak its wakeup sockets (nor warn about
        # them: they are the loop's own, not the caller's).
        wakeup = getattr(self, "_wakeup", None)
        if wakeup is not None:
            wakeup.close()


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
    result: T = await suspend(lambda k: loop._submit(fn, args, k))
    return result
