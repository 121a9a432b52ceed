"""The shapes asyncio's watchers live in: a slot of the waiters' table that
may hold them (`AioSlot`), what a poll makes ready (`Entry`), and descriptor
numbers as asyncio's `add_reader` accepts them (`fileno_of`, `is_open`).

Used by the waiters part (refloop/aio/_watchers.py), the core's wake
(refloop/aio/_core.py) and the loop's add_reader (refloop/aio/_loop.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
from asyncio import Handle
from typing import cast

from .._suspend import Continuation
from .._waiters import _Slot

__all__ = ["AioSlot", "Entry", "fileno_of", "is_open"]

# What a poll makes ready: a native waiter's continuation or a watcher.
Entry = Continuation | Handle


def fileno_of(fd: object) -> int:
    """The descriptor number of an int or an object with fileno(); ValueError
    or TypeError naming it otherwise (as selectors does)."""
    if isinstance(fd, int) and not isinstance(fd, bool):
        number = fd
    else:
        try:
            number = int(fd.fileno())  # type: ignore[attr-defined]
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fd!r}") from None
    if number < 0:
        raise ValueError(f"Invalid file descriptor: {number}")
    return number


class AioSlot(_Slot):
    """A slot that may also hold asyncio watchers; `sock` is None while only
    watchers (given a descriptor number) use it."""

    __slots__ = ("on_read", "on_write", "read_seq", "write_seq")

    def __init__(self, sock: socket.socket | None, fd: int) -> None:
        super().__init__(cast(socket.socket, sock), fd)
        # Invariant: on_read/on_write are uncancelled handles, or None; their
        # registration numbers come from the part's `_seq`, shared with
        # native waiters.
        self.on_read: Handle | None = None
        self.on_write: Handle | None = None
        self.read_seq = 0
        self.write_seq = 0


def is_open(fd: int) -> bool:
    """Whether `fd` is an open descriptor."""
    with contextlib.suppress(OSError):
        os.fstat(fd)
        return True
    return False
