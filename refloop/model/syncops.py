"""The model's vocabulary for synchronisation (spec/11-sync.md): the
operations model tasks run on locks, events and channels, and the channel's
state. Imports nothing; refloop.model.sync holds their transitions.

Locks and events are named by strings and exist from the start (a lock
free, an event unset); a channel is declared with its capacity
(`declare_channel`). `ChanRecv` logs the item it received, or "end" once
the channel is closed and drained (the way `async for` ends); the other
operations log nothing. A lock's waiters, an event's and a channel's are
the State's waiters of kind "lock", "event", "send" and "recv", oldest
first, with the primitive's name as target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

__all__ = [
    "END",
    "LOCK",
    "RECV",
    "SEND",
    "SET",
    "SYNC_KINDS",
    "Acquire",
    "ChanClose",
    "ChanRecv",
    "ChanSend",
    "Channel",
    "Release",
    "SetEvent",
    "SyncOp",
    "WaitEvent",
]

LOCK: Final = "lock"
SET: Final = "event"
SEND: Final = "send"
RECV: Final = "recv"
SYNC_KINDS: Final = (LOCK, SET, SEND, RECV)
# What ChanRecv logs on a closed, drained channel.
END: Final = "end"


@dataclass(frozen=True, slots=True)
class SyncCall:
    """The base of the synchronisation operations: every place that
    dispatches on operations matches `case SyncCall():` once and hands them
    to refloop.model.sync (or the harness's SyncObjects), and mypy narrows
    the union by it as by the seven classes."""


@dataclass(frozen=True, slots=True)
class Acquire(SyncCall):
    """`await lock.acquire()`"""

    lock: str


@dataclass(frozen=True, slots=True)
class Release(SyncCall):
    """`lock.release()` (never suspends)"""

    lock: str


@dataclass(frozen=True, slots=True)
class SetEvent(SyncCall):
    """`event.set()` (never suspends)"""

    event: str


@dataclass(frozen=True, slots=True)
class WaitEvent(SyncCall):
    """`await event.wait()`"""

    event: str


@dataclass(frozen=True, slots=True)
class ChanSend(SyncCall):
    """`await chan.send(item)`"""

    chan: str
    item: int


@dataclass(frozen=True, slots=True)
class ChanRecv(SyncCall):
    """`await chan.recv()`, or "end" (EndOfChannel caught)"""

    chan: str


@dataclass(frozen=True, slots=True)
class ChanClose(SyncCall):
    """`chan.close()` (never suspends)"""

    chan: str


# The synchronisation operations (one of refloop.model.programs.Call's parts).
SyncOp = Acquire | Release | SetEvent | WaitEvent | ChanSend | ChanRecv | ChanClose


class Channel(NamedTuple):
    """A channel: the items buffered, oldest first, and whether it is closed."""

    name: str
    capacity: int
    buffer: tuple[int, ...] = ()
    closed: bool = False
