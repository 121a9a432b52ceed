"""Deliberately broken conditions and semaphores: each breaks one rule of
spec/11-sync.md, and the condition machine (refloop.testing.condition_machine)
must catch every one (tests/test_broken_conditions.py).

Each is a small subclass of the real primitive that changes one method.
"""

from __future__ import annotations

from typing import Any

from .._condition import Condition
from .._errors import LoopError
from .._suspend import suspend
from .._sync import BoundedSemaphore, Lock, Semaphore

__all__ = [
    "BROKEN_CONDITIONS",
    "BargingSemaphore",
    "ConsumingCondition",
    "LooseBoundedSemaphore",
    "NewestFirstCondition",
    "SilentLock",
    "ThreadBlindSemaphore",
    "UnlockedCancelCondition",
]


class NewestFirstCondition(Condition):
    """`notify()` wakes the newest waiter first (breaks sync.cond.notify)."""

    def notify(self, n: int = 1) -> None:
        self._holder("notify()")
        for _ in range(min(n, len(self._waiters))):
            self._waiters.pop()()


class UnlockedCancelCondition(Condition):
    """A waiter cancelled while it waits raises at once, without taking the
    lock again (breaks sync.cond.wait: the lock is held when wait() raises)."""

    async def wait(self) -> None:
        self._holder("wait()")
        self.lock.release()
        await suspend(self._park)
        await self.lock.acquire()


class ConsumingCondition(Condition):
    """A waiter notified and then cancelled before it returns raises
    Cancelled, consuming the notification (asyncio's way before 3.13; breaks
    sync.cond.notified-wins)."""

    async def wait(self) -> None:
        task = self._holder("wait()")
        await super().wait()
        pending = task._cancel
        if pending is not None:
            task._cancel = None
            raise pending


class BargingSemaphore(Semaphore):
    """`release()` adds the unit and wakes the oldest waiter, which takes it
    only if it is still there when it runs: a task that runs first takes it
    (asyncio's way; breaks sync.sem.handoff)."""

    async def acquire(self) -> None:
        self._task("acquire()")
        while self._value == 0:
            await suspend(self._park)
        self._value -= 1

    def release(self) -> None:
        self._bind("release()")
        self._check_release()
        self._value += 1
        if self._waiters:
            self._waiters.popleft()()


class LooseBoundedSemaphore(BoundedSemaphore):
    """Lets its value reach one past the initial one (breaks
    sync.sem.bounded)."""

    def _check_release(self) -> None:
        if self._value > self._initial:
            raise ValueError(f"{self!r} released more often than acquired")


class ThreadBlindSemaphore(Semaphore):
    """`release()` does not check where it is called from: from another
    thread it changes the value (breaks sync.bind)."""

    def release(self) -> None:
        self._check_release()
        if self._waiters:
            self._waiters.popleft()()
        else:
            self._value += 1


class SilentLock(Lock):
    """Refuses a release by another than its holder without saying what was
    refused nor why (breaks the spec's "a clear error that names the object
    and what was wrong", sync.lock.owner)."""

    def release(self) -> None:
        if self._owner is not None and self._owner is not self._bind("")._current:
            raise LoopError("not allowed")
        super().release()


# Each broken class and the machine's class attribute it replaces.
BROKEN_CONDITIONS: dict[str, tuple[str, type[Any]]] = {
    cls.__name__: (slot, cls)
    for slot, cls in [
        ("condition_type", NewestFirstCondition),
        ("condition_type", UnlockedCancelCondition),
        ("condition_type", ConsumingCondition),
        ("semaphore_type", BargingSemaphore),
        ("bounded_type", LooseBoundedSemaphore),
        ("semaphore_type", ThreadBlindSemaphore),
        ("lock_type", SilentLock),
    ]
}
