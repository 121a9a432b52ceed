"""Deliberately broken synchronisation primitives: each breaks one rule of
spec/11-sync.md, and the property tests (tests/test_sync_props.py) and, for
their model twins, the model checker must catch every one.

Each is a small subclass of the real primitive that changes one method.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .._channel import Channel
from .._ops import yield_now
from .._runtime import current_task
from .._sync import Event, Lock

__all__ = ["BROKEN_PRIMITIVES", "LateEvent", "LossyChannel", "TwoWakeLock"]

T = TypeVar("T")


class TwoWakeLock(Lock):
    """`release()` hands the lock to the oldest waiter and also wakes the
    next one, which goes on as if it held the lock (breaks sync.lock.handoff:
    mutual exclusion)."""

    def _handoff(self) -> None:
        second = self._waiters[1] if len(self._waiters) > 1 else None
        super()._handoff()
        if second is not None:
            self._waiters.remove(second)
            second()


class LossyChannel(Channel[T]):
    """A receiver is woken without its item, to take it when it runs, as
    asyncio's Queue did; the woken receiver checks for cancellation first,
    and a receiver cancelled in between drops the item it was promised
    (breaks chan.cancel: nothing lost)."""

    async def recv(self) -> T:
        buffered = bool(self._buffer) or bool(self._senders)
        item = await super().recv()
        if not buffered and current_task()._cancel is not None:
            # We waited, were handed `item`, and were cancelled since: the
            # pending Cancelled is raised here, and the item is gone with it.
            await yield_now()
        return item


class LateEvent(Event):
    """`set()` wakes the waiters it has, but latches the flag only at the
    loop's next timer pass: a task that calls `wait()` in between parks and
    is never woken (breaks sync.event.wait)."""

    def set(self) -> None:
        loop = self._bind("set()")
        waiters, self._waiters = self._waiters, type(self._waiters)()
        for k in waiters:
            k()
        loop.call_later(0, self._latch)

    def _latch(self) -> None:
        self._set = True


BROKEN_PRIMITIVES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (TwoWakeLock, LossyChannel, LateEvent)
}
