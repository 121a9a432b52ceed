"""A bounded channel between tasks of one loop, with close.

Rule 1: an item is in exactly one place: with its sender (while the send
waits), in the buffer, or handed to one receiver. A send or receive that
completes hands the item over before the other side runs, so cancelling
either side afterwards cannot lose or duplicate it (spec: chan.cancel).

Rule 2: `close()` means no more items. What is buffered stays to be
received; after that every receive raises EndOfChannel (spec: chan.close).
"""

from __future__ import annotations

import math
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._errors import ChannelClosed, EndOfChannel
from ._suspend import Continuation, suspend
from ._sync import _Bound

if TYPE_CHECKING:
    from ._task import Task

__all__ = ["Channel"]

T = TypeVar("T")


def _check_capacity(capacity: object) -> int | float:
    # spec: chan.capacity
    if type(capacity) is int and capacity >= 0:
        return capacity
    if capacity == math.inf and type(capacity) is float:
        return capacity
    raise ValueError(
        f"Channel() needs a capacity that is an int of 0 or more (0: every send "
        f"waits for a receiver) or math.inf, got {capacity!r}"
    )


class Channel(_Bound, Generic[T]):
    """`await ch.send(item)` waits while `capacity` items are buffered;
    `await ch.recv()` waits while none is; `ch.close()` ends the stream
    (spec: chan.*). `async for item in ch:` receives until closed and drained."""

    __slots__ = ("_buffer", "_capacity", "_closed", "_senders")

    def __init__(self, capacity: int | float) -> None:
        self._capacity = _check_capacity(capacity)
        super().__init__()
        # Invariant: receivers wait (_waiters) only while the buffer is empty
        # and no sender waits; senders wait only while the buffer is full.
        self._buffer: deque[T] = deque()
        self._senders: deque[tuple[Continuation, T]] = deque()
        self._closed = False

    @property
    def capacity(self) -> int | float:
        return self._capacity

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        """Items buffered now (not counting senders still waiting)."""
        return len(self._buffer)

    def buffered(self) -> tuple[T, ...]:
        """The items buffered, oldest first (spec: sync.views)."""
        # spec: sync.views
        return tuple(self._buffer)

    def senders(self) -> tuple[Task[Any], ...]:
        """The tasks waiting to send, oldest first (spec: sync.views)."""
        return tuple(k.task for k, _ in self._senders)

    async def send(self, item: T) -> None:
        """Hand `item` to a waiting receiver, or buffer it, or wait for room.
        ChannelClosed if the channel is closed, before or while waiting: the
        item was then not sent."""
        self._task("send()")
        if self._closed:
            # spec: chan.send.closed
            raise ChannelClosed(
                f"{self!r} is closed; nothing more can be sent: send before close()"
            )
        if self._waiters:
            # spec: chan.send.handoff
            self._waiters.popleft()(item)
            return
        if len(self._buffer) < self._capacity:
            self._buffer.append(item)
            return
        # spec: chan.send.wait
        await suspend(partial(self._park_sender, item))

    def _park_sender(self, item: T, k: Continuation) -> None:
        entry = (k, item)
        self._senders.append(entry)
        # spec: chan.cancel
        k.on_cancel = partial(self._senders.remove, entry)

    async def recv(self) -> T:
        """The oldest item; wait while there is none. EndOfChannel once the
        channel is closed and drained."""
        self._task("recv()")
        buffer = self._buffer
        senders = self._senders
        # spec: chan.recv
        if buffer:
            item = buffer.popleft()
            if senders:
                k, waiting = senders.popleft()
                buffer.append(waiting)
                k()
            return item
        if senders:
            # Capacity 0: take the item straight from the oldest sender.
            k, item = senders.popleft()
            k()
            return item
        if self._closed:
            # spec: chan.close
            raise EndOfChannel(f"{self!r} is closed and drained")
        item_: T = await suspend(self._park)
        return item_

    def close(self) -> None:
        """No more items: waiting senders get ChannelClosed (their items were
        not sent), waiting receivers EndOfChannel; buffered items can still be
        received. Closing twice does nothing."""
        self._bind("close()")
        if self._closed:
            return
        # spec: chan.close
        self._closed = True
        senders, self._senders = self._senders, deque()
        for k, _ in senders:
            k.throw(ChannelClosed(f"{self!r} was closed while the send waited"))
        receivers, self._waiters = self._waiters, deque()
        for k in receivers:
            k.throw(EndOfChannel(f"{self!r} was closed while the receive waited"))

    def __aiter__(self) -> Channel[T]:
        return self

    async def __anext__(self) -> T:
        """`async for` receives until the channel is closed and drained (an
        iterator without state of its own: nothing to close when a loop
        breaks out early)."""
        try:
            return await self.recv()
        except EndOfChannel:
            raise StopAsyncIteration from None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<refloop.Channel {state} {len(self._buffer)}/{self._capacity:g} "
            f"senders={len(self._senders)} receivers={len(self._waiters)}>"
        )
