"""Condition: wait until notified, holding a Lock before and after.

Built on Lock and `suspend`, with the rules of refloop._sync (FIFO, a
cancelled waiter leaves nothing behind, one loop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._acm import AsyncWithAcquire
from ._errors import Cancelled, LoopError
from ._suspend import suspend
from ._sync import Lock, _Bound

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["Condition"]

T = TypeVar("T")


class Condition(_Bound, AsyncWithAcquire):
    """Wait until notified, holding `lock` before and after (spec: sync.cond.*)."""

    __slots__ = ("lock",)

    def __init__(self, lock: Lock | None = None) -> None:
        if lock is not None and not isinstance(lock, Lock):
            raise TypeError(f"Condition() needs a refloop.Lock, got {lock!r}")
        super().__init__()
        self.lock = Lock() if lock is None else lock

    async def acquire(self) -> None:
        await self.lock.acquire()

    def release(self) -> None:
        self.lock.release()

    def locked(self) -> bool:
        return self.lock.locked()

    def _holder(self, what: str) -> Task[Any]:
        task = self._bind(what)._current
        # spec: sync.cond.hold
        if task is None or self.lock._owner is not task:
            raise LoopError(
                f"{self!r}: {what} needs its lock held by the calling task: "
                "`async with cond:` first"
            )
        return task

    async def wait(self) -> None:
        """Release the lock, wait to be notified, take the lock again; the lock
        is held again when this returns or raises (even Cancelled)."""
        task = self._holder("wait()")
        # spec: sync.cond.wait
        self.lock.release()
        try:
            await suspend(self._park)
        except GeneratorExit:
            raise  # the loop is closing: nothing to take back (sync.loop-closed)
        except BaseException:
            late = await self._reacquire()
            if late is not None:
                task.cancel(scope=late.scope)
            raise
        late = await self._reacquire()
        if late is not None:
            # spec: sync.cond.notified-wins
            task.cancel(scope=late.scope)

    async def _reacquire(self) -> Cancelled | None:
        """Take the lock back, whatever comes; return a Cancelled that came
        meanwhile, to be raised again at the next suspension."""
        late: Cancelled | None = None
        while True:
            try:
                await self.lock.acquire()
                return late
            except Cancelled as err:
                late = late or err

    async def wait_for(self, predicate: Callable[[], T]) -> T:
        """`wait()` until `predicate()` is true; return its value."""
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake the `n` oldest waiters; each takes the lock in turn."""
        self._holder("notify()")
        if type(n) is not int or n < 0:
            raise ValueError(
                f"{self!r}: notify() needs a count of 0 or more, got {n!r}"
            )
        waiters = self._waiters
        # spec: sync.cond.notify
        for _ in range(min(n, len(waiters))):
            waiters.popleft()()

    def notify_all(self) -> None:
        self.notify(len(self._waiters))

    def __repr__(self) -> str:
        return f"<refloop.Condition {self.lock!r} waiters={len(self._waiters)}>"
