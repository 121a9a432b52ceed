"""The waiters: a slot per descriptor, at most one reader and one writer in
it, and the selector's interest set kept in line with them.

Rules this part keeps (spec: io.*):

1. A waiter is a continuation parked on (socket, direction); there is at most
   one per pair (io.wait.one-per-direction).
2. The selector's interest set is brought in line with the waiters just
   before each poll (`sync`), so a task that waits again on the socket it
   just used costs no system call.
3. Ready waiters come out oldest registration first, whatever order the
   kernel reported them in (tick.wake-order). This part never resumes a
   waiter it hands out: the loop does (`Loop._enqueue`); it only throws into
   the waiters of a socket being closed, through their continuations.

The part owns its fields; the loop reads `count` and `changed` (never writes
them) to decide whether to poll and whether to `sync` first.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from ._errors import BusyError, ClosedError

if TYPE_CHECKING:
    from ._suspend import Continuation
    from ._task import Task

__all__ = ["READ", "WRITE", "Waiter", "Waiters"]

READ: Final = selectors.EVENT_READ
WRITE: Final = selectors.EVENT_WRITE


class Waiter(NamedTuple):
    """A parked continuation, as `Loop.waiters()` reports it."""

    sock: socket.socket
    direction: str
    task: Task[Any]


class _Slot:
    """The record of one descriptor."""

    __slots__ = ("fd", "mask", "reader", "sock", "writer")

    def __init__(self, sock: socket.socket, fd: int) -> None:
        self.sock = sock
        self.fd = fd
        # Invariant: reader/writer are unresumed continuations whose `_slot`
        # is this slot; their `_seq` is the registration number.
        self.reader: Continuation | None = None
        self.writer: Continuation | None = None
        # Invariant: what the selector is told; equals the waiters'
        # directions after every sync().
        self.mask = 0


class Waiters:
    """The loop's table of waiters on sockets."""

    def __init__(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector
        # Invariant: every slot with a waiter or a mask is here, under its fd.
        self._fdmap: dict[int, _Slot] = {}
        # Invariant: holds every fd whose mask may differ from its waiters'
        # directions (read by the loop: non-empty means sync() before polling).
        self.changed: set[int] = set()
        # Invariant: the number of parked continuations in the table.
        self.count = 0
        # The next registration number; increases by one per park.
        self._seq = 0

    def park(self, sock: socket.socket, direction: int, k: Continuation) -> None:
        """Park `k` until `sock` is ready in `direction` (spec: io.wait)."""
        fd = sock.fileno()
        if fd < 0:
            raise ClosedError(f"{sock!r} is closed; {k.task!r} cannot wait on it")
        slot = self._fdmap.get(fd)
        if slot is None:
            slot = self._fdmap[fd] = _Slot(sock, fd)
        elif slot.sock is not sock:
            # spec: io.stale-descriptor
            slot = self._replace_stale(slot, sock)
        # spec: io.wait
        if direction == READ:
            if slot.reader is not None:
                # spec: io.wait.one-per-direction
                raise BusyError(
                    f"{sock!r} already has a reader, {slot.reader.task!r}; "
                    "at most one task may wait per socket and direction"
                )
            slot.reader = k
        else:
            if slot.writer is not None:
                # spec: io.wait.one-per-direction
                raise BusyError(
                    f"{sock!r} already has a writer, {slot.writer.task!r}; "
                    "at most one task may wait per socket and direction"
                )
            slot.writer = k
        k._slot = slot
        k._seq = self._seq
        self._seq += 1
        self.count += 1
        if not slot.mask & direction:
            self.changed.add(fd)

    def unpark(self, k: Continuation) -> bool:
        """Remove `k` if it is parked here (spec: cancel.waiting); whether it was."""
        slot = k._slot
        if slot is None:
            return False
        k._slot = None
        if slot.reader is k:
            slot.reader = None
        elif slot.writer is k:
            slot.writer = None
        else:
            return True
        self.count -= 1
        self.changed.add(slot.fd)
        return True

    def _replace_stale(self, slot: _Slot, sock: socket.socket) -> _Slot:
        """A different socket object now has this descriptor number: the old
        one was closed behind the loop's back. Forget it, waking its waiters
        with ClosedError, and start afresh."""
        self.drop(slot, "was closed without refloop.close()")
        fresh = self._fdmap[slot.fd] = _Slot(sock, slot.fd)
        return fresh

    def drop(self, slot: _Slot, why: str) -> None:
        """Forget `slot` and throw ClosedError into its waiters, oldest first."""
        # spec: io.close.unregister-first
        if self._fdmap.get(slot.fd) is slot:
            del self._fdmap[slot.fd]
        if slot.mask:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(slot.fd)
            slot.mask = 0
        parked = [w for w in (slot.reader, slot.writer) if w is not None]
        slot.reader = slot.writer = None
        self.count -= len(parked)
        parked.sort(key=_seq_of)
        # spec: io.close.wakes
        for k in parked:
            k._slot = None
            k.throw(ClosedError(f"{slot.sock!r} {why} while {k.task!r} waited on it"))

    def close_socket(self, sock: socket.socket) -> None:
        """Remove `sock`'s waiters, wake them with ClosedError, then close the
        descriptor (spec: io.close.*). Closing twice is harmless."""
        fd = sock.fileno()
        if fd >= 0:
            slot = self._fdmap.get(fd)
            if slot is not None:
                if slot.sock is sock:
                    self.drop(slot, "was closed")
                else:
                    self._replace_stale(slot, sock)
                    self.drop(self._fdmap[fd], "was closed")
        sock.close()

    def sync(self) -> None:
        """Bring the selector's interest set in line with the waiters."""
        # spec: io.interest
        selector = self._selector
        fdmap = self._fdmap
        for fd in self.changed:
            slot = fdmap.get(fd)
            if slot is None:
                continue
            want = (READ if slot.reader is not None else 0) | (
                WRITE if slot.writer is not None else 0
            )
            if want == slot.mask:
                if not want:
                    del fdmap[fd]
                continue
            try:
                if not slot.mask:
                    selector.register(fd, want, slot)
                elif not want:
                    selector.unregister(fd)
                    del fdmap[fd]
                else:
                    selector.modify(fd, want, slot)
            except (OSError, ValueError):
                if slot.sock.fileno() >= 0:
                    raise
                # spec: io.stale-descriptor
                self.drop(slot, "was closed without refloop.close()")
                continue
            slot.mask = want
        self.changed.clear()

    def ready(
        self, events: list[tuple[selectors.SelectorKey, int]]
    ) -> list[Continuation]:
        """Take out the waiters that `events` show ready, oldest registration
        first (spec: tick.wake-order); the caller resumes them."""
        woken: list[Continuation] = []
        changed = self.changed
        for key, mask in events:
            slot: _Slot | None = key.data
            if slot is None:
                continue  # not a waiter's: the loop's wakeup socket
            if mask & READ and (k := slot.reader) is not None:
                k._slot = slot.reader = None
                woken.append(k)
                changed.add(slot.fd)
            if mask & WRITE and (k := slot.writer) is not None:
                k._slot = slot.writer = None
                woken.append(k)
                changed.add(slot.fd)
        self.count -= len(woken)
        # spec: tick.wake-order
        if len(woken) > 1:
            woken.sort(key=_seq_of)
        return woken

    def view(self) -> list[Waiter]:
        """Every parked (socket, direction, task), oldest registration first."""
        found: list[tuple[int, Waiter]] = []
        for slot in self._fdmap.values():
            if slot.reader is not None:
                found.append(
                    (slot.reader._seq, Waiter(slot.sock, "read", slot.reader.task))
                )
            if slot.writer is not None:
                found.append(
                    (slot.writer._seq, Waiter(slot.sock, "write", slot.writer.task))
                )
        found.sort(key=_first)
        return [w for _, w in found]

    def knows(self, sock: socket.socket) -> bool:
        """Whether `sock` has a slot here (read-only: safe from any thread;
        spec: io.close.anywhere)."""
        fd = sock.fileno()
        slot = self._fdmap.get(fd) if fd >= 0 else None
        return slot is not None and slot.sock is sock

    def sockets(self) -> list[socket.socket]:
        """The sockets a task waits on, whether or not the selector has been
        told yet (a waiter parked since the last poll has no mask yet)."""
        # spec: loop.sigint
        return [
            slot.sock
            for slot in self._fdmap.values()
            if slot.reader is not None or slot.writer is not None
        ]

    def close(self) -> None:
        """Forget every waiter (without resuming it) and unregister every
        descriptor (spec: loop.close)."""
        for slot in list(self._fdmap.values()):
            if slot.mask:
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._selector.unregister(slot.fd)
        self._fdmap.clear()
        self.changed.clear()
        self.count = 0


def _first(entry: tuple[int, Any]) -> int:
    return entry[0]


def _seq_of(k: Continuation) -> int:
    return k._seq
