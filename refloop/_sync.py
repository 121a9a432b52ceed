"""Synchronisation between tasks of one loop: Event, Lock, Semaphore,
BoundedSemaphore (Condition is in _condition.py, Channel in _channel.py).
Built only on `suspend` and continuations.

Rule 1: waiters are served first come, first served, and what a waiter waits
for is handed to it when it is woken (the lock's ownership, a semaphore's
unit), never left for whoever runs first to grab (spec: sync.fifo,
sync.lock.handoff).

Rule 2: a waiter parks its continuation in a deque and sets `on_cancel` to
take it out again, so a cancelled waiter leaves nothing behind
(spec: sync.cancel-waiting).

Rule 3: a primitive belongs to the loop that first uses it. Every call that
reads or changes it is checked first, and a call from another thread or
another loop is refused before anything changes (spec: sync.bind).
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from ._acm import AsyncWithAcquire
from ._errors import LoopError
from ._runtime import running_loop_or_none
from ._suspend import Continuation, suspend

if TYPE_CHECKING:
    from ._runtime import RunningLoop
    from ._task import Task

__all__ = ["BoundedSemaphore", "Event", "Lock", "Semaphore"]


class _Bound:
    """A primitive that belongs to one loop (spec: sync.bind)."""

    __slots__ = ("_loop", "_waiters")

    def __init__(self) -> None:
        self._loop: RunningLoop | None = None
        # Invariant: the parked continuations, oldest first; none resumed.
        self._waiters: deque[Continuation] = deque()

    def waiting(self) -> tuple[Task[Any], ...]:
        """The tasks waiting, oldest first (a Channel's: its receivers); read
        anywhere, changing nothing (spec: sync.views)."""
        # spec: sync.views
        return tuple(k.task for k in self._waiters)

    def _bind(self, what: str) -> RunningLoop:
        loop = running_loop_or_none()
        # spec: sync.bind
        if loop is None:
            raise LoopError(
                f"{self!r}: {what} was called where no refloop loop runs (another "
                "thread, or outside the loop); call it from a task or a callback of "
                "its loop, or hand it over with loop.call_soon_threadsafe()"
            )
        bound = self._loop
        if bound is None:
            self._loop = loop
        elif bound is not loop:
            raise LoopError(
                f"{self!r} belongs to {bound!r}; {what} cannot be used from "
                f"{loop!r}: make one per loop"
            )
        return loop

    def _task(self, what: str) -> Task[Any]:
        task = self._bind(what)._current
        if task is None:
            raise LoopError(f"{self!r}: {what} must be awaited inside a refloop task")
        return task

    def _park(self, k: Continuation) -> None:
        waiters = self._waiters
        # spec: sync.fifo
        waiters.append(k)
        # spec: sync.cancel-waiting
        k.on_cancel = partial(waiters.remove, k)


class Event(_Bound):
    """A flag that tasks wait for. `set()` wakes every waiter; once set it
    stays set (spec: sync.event.*)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        super().__init__()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        """Set the flag and wake every waiter, oldest first."""
        self._bind("set()")
        if self._set:
            return
        # spec: sync.event.set
        self._set = True
        waiters, self._waiters = self._waiters, deque()
        for k in waiters:
            k()

    async def wait(self) -> None:
        """Return once the flag is set; at once, without suspending, if it is."""
        self._task("wait()")
        # spec: sync.event.wait
        if not self._set:
            await suspend(self._park)

    def __repr__(self) -> str:
        state = "set" if self._set else f"unset waiters={len(self._waiters)}"
        return f"<refloop.Event {state}>"


class Lock(_Bound, AsyncWithAcquire):
    """Mutual exclusion between tasks, handed over first come, first served
    (spec: sync.lock.*). Use `async with lock:`."""

    __slots__ = ("_owner",)

    def __init__(self) -> None:
        super().__init__()
        # Invariant: _waiters is non-empty only while _owner is not None.
        self._owner: Task[Any] | None = None

    def locked(self) -> bool:
        return self._owner is not None

    @property
    def owner(self) -> Task[Any] | None:
        """The task that holds the lock, or None."""
        return self._owner

    async def acquire(self) -> None:
        """Take the lock; wait, in line, while another task holds it."""
        task = self._task("acquire()")
        owner = self._owner
        if owner is None:
            # spec: sync.lock.acquire
            self._owner = task
            return
        if owner is task:
            # spec: sync.lock.owner
            raise LoopError(
                f"{task!r} already holds {self!r}; a Lock is not reentrant: "
                "release it first, or restructure so one acquire covers both"
            )
        await suspend(self._park)
        # The releaser made us the owner before we ran (sync.lock.handoff).

    def release(self) -> None:
        """Release the lock; the oldest waiter, if any, now holds it."""
        task = self._bind("release()")._current
        owner = self._owner
        # spec: sync.lock.owner
        if owner is None:
            raise LoopError(f"{self!r} is not held: release() only after acquire()")
        if owner is not task:
            who = "a loop callback" if task is None else repr(task)
            raise LoopError(
                f"{self!r} is held by {owner!r}, not {who}: only the task that "
                "acquired a Lock releases it"
            )
        self._handoff()

    def _handoff(self) -> None:
        if self._waiters:
            # spec: sync.lock.handoff
            k = self._waiters.popleft()
            self._owner = k.task
            k()
        else:
            self._owner = None

    def __repr__(self) -> str:
        if self._owner is None:
            return "<refloop.Lock unlocked>"
        return (
            f"<refloop.Lock held by task {self._owner.tid} "
            f"waiters={len(self._waiters)}>"
        )


def _check_value(value: object, what: str) -> int:
    # spec: sync.sem.value
    if type(value) is not int:
        raise TypeError(f"{what} needs an int value, got {value!r}")
    if value < 0:
        raise ValueError(
            f"{what} needs a value of 0 or more, got {value}: it counts the units "
            "free to acquire"
        )
    return value


class Semaphore(_Bound, AsyncWithAcquire):
    """A count of units: `acquire` takes one, waiting in line while none is
    free; `release` gives one back (spec: sync.sem.*)."""

    __slots__ = ("_initial", "_value")

    def __init__(self, value: int = 1) -> None:
        self._initial = _check_value(value, type(self).__name__ + "()")
        super().__init__()
        # Invariant: _waiters is non-empty only while _value == 0.
        self._value = value

    @property
    def value(self) -> int:
        """The units free now."""
        return self._value

    async def acquire(self) -> None:
        self._task("acquire()")
        if self._value > 0:
            self._value -= 1
            return
        await suspend(self._park)
        # The releaser handed us its unit (sync.sem.handoff).

    def release(self) -> None:
        self._bind("release()")
        self._check_release()
        if self._waiters:
            # spec: sync.sem.handoff
            self._waiters.popleft()()
        else:
            self._value += 1

    def _check_release(self) -> None:
        pass

    def __repr__(self) -> str:
        return (
            f"<refloop.{type(self).__name__} value={self._value} "
            f"waiters={len(self._waiters)}>"
        )


class BoundedSemaphore(Semaphore):
    """A Semaphore that refuses to be released more often than acquired."""

    __slots__ = ()

    def _check_release(self) -> None:
        if self._value >= self._initial:
            # spec: sync.sem.bounded
            raise ValueError(
                f"{self!r} released more often than acquired: its value would pass "
                f"its initial {self._initial}; release only what you acquired"
            )
