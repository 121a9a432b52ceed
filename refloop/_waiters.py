"""The loop's table of waiters: a slot per descriptor, at most one reader
and one writer in it, and the selector's interest set kept in line with them.

Rules this module keeps (spec: io.*):

1. A waiter is a continuation parked on (socket, direction); there is at most
   one per pair (io.wait.one-per-direction).
2. The selector's interest set is brought in line with the waiters just
   before each poll (`_sync`), so a task that waits again on the socket it
   just used costs no system call.
3. Ready waiters wake oldest registration first, whatever order the kernel
   reported them in (tick.wake-order).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import weakref
from collections.abc import Callable
from typing import Any, Final, NamedTuple

from ._errors import BusyError, ClosedError
from ._suspend import Continuation
from ._task import Task

__all__ = ["READ", "WRITE", "Tracer", "Waiter", "WaiterTable"]

READ: Final = selectors.EVENT_READ
WRITE: Final = selectors.EVENT_WRITE

Tracer = Callable[[str, Task[Any]], None]


class Waiter(NamedTuple):
    """A parked continuation, as `Loop.waiters()` reports it."""

    sock: socket.socket
    direction: str
    task: Task[Any]


class _Slot:
    """The loop's record of one descriptor."""

    __slots__ = ("fd", "mask", "reader", "sock", "writer")

    def __init__(self, sock: socket.socket, fd: int) -> None:
        self.sock = sock
        self.fd = fd
        # Invariant: reader/writer are unresumed continuations whose `_slot`
        # is this slot; their `_seq` is the registration number.
        self.reader: Continuation | None = None
        self.writer: Continuation | None = None
        # What the selector is told; equals the waiters' directions after
        # every _sync().
        self.mask = 0


# Every open loop's table, so that refloop.close(sock) finds the loop a
# socket is registered with wherever it is called (spec: io.close.anywhere).
_TABLES: weakref.WeakSet[WaiterTable] = weakref.WeakSet()


def table_of(sock: socket.socket) -> WaiterTable | None:
    """The open loop that has `sock` registered (a waiter on it), if any."""
    for table in list(_TABLES):
        if table._knows(sock):
            return table
    return None


class WaiterTable:
    """The part of Loop that parks tasks on sockets and wakes them."""

    _selector: selectors.BaseSelector
    _fdmap: dict[int, _Slot]
    _dirty: set[int]
    _nwaiters: int
    _seq: int
    _trace: Tracer | None
    # ThreadSupport's: refuses other threads than the loop's.
    _check_thread: Callable[[str], None]

    def _enqueue(
        self, task: Task[Any], value: object, exc: BaseException | None
    ) -> None:
        """Put `task` at the back of the run queue (Loop's)."""
        raise NotImplementedError

    def _add_waiter(self, sock: socket.socket, direction: int, k: Continuation) -> None:
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
                    f"{sock!r} already has a reader, {slot.reader._task!r}; "
                    "at most one task may wait per socket and direction"
                )
            slot.reader = k
        else:
            if slot.writer is not None:
                # spec: io.wait.one-per-direction
                raise BusyError(
                    f"{sock!r} already has a writer, {slot.writer._task!r}; "
                    "at most one task may wait per socket and direction"
                )
            slot.writer = k
        k._slot = slot
        k._seq = self._seq
        self._seq += 1
        self._nwaiters += 1
        if not slot.mask & direction:
            self._dirty.add(fd)

    def _unpark(self, slot: _Slot, k: Continuation) -> None:
        """Remove a cancelled waiter (spec: cancel.waiting)."""
        k._slot = None
        if slot.reader is k:
            slot.reader = None
        elif slot.writer is k:
            slot.writer = None
        else:
            return
        self._nwaiters -= 1
        self._dirty.add(slot.fd)

    def _replace_stale(self, slot: _Slot, sock: socket.socket) -> _Slot:
        """A different socket object now has this descriptor number: the old
        one was closed behind the loop's back. Forget it, waking its waiters
        with ClosedError, and start afresh."""
        self._drop_slot(slot, "was closed without refloop.close()")
        fresh = self._fdmap[slot.fd] = _Slot(sock, slot.fd)
        return fresh

    def _drop_slot(self, slot: _Slot, why: str) -> None:
        # spec: io.close.unregister-first
        if self._fdmap.get(slot.fd) is slot:
            del self._fdmap[slot.fd]
        if slot.mask:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(slot.fd)
            slot.mask = 0
        parked = [w for w in (slot.reader, slot.writer) if w is not None]
        slot.reader = slot.writer = None
        self._nwaiters -= len(parked)
        parked.sort(key=_seq_of)
        # spec: io.close.wakes
        for k in parked:
            k._slot = None
            k.throw(ClosedError(f"{slot.sock!r} {why} while {k.task!r} waited on it"))

    def _sync(self) -> None:
        """Bring the selector's interest set in line with the waiters."""
        selector = self._selector
        fdmap = self._fdmap
        for fd in self._dirty:
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
                self._drop_slot(slot, "was closed without refloop.close()")
                continue
            slot.mask = want
        self._dirty.clear()

    def waiters(self) -> list[Waiter]:
        """Every parked (socket, direction, task), oldest registration first."""
        self._check_thread("waiters()")
        found: list[tuple[int, Waiter]] = []
        for slot in self._fdmap.values():
            if slot.reader is not None:
                found.append(
                    (slot.reader._seq, Waiter(slot.sock, "read", slot.reader._task))
                )
            if slot.writer is not None:
                found.append(
                    (slot.writer._seq, Waiter(slot.sock, "write", slot.writer._task))
                )
        found.sort(key=_first)
        return [w for _, w in found]

    def _knows(self, sock: socket.socket) -> bool:
        """Whether `sock` has a slot here (read-only: safe from any thread)."""
        fd = sock.fileno()
        slot = self._fdmap.get(fd) if fd >= 0 else None
        return slot is not None and slot.sock is sock

    def close_socket(self, sock: socket.socket) -> None:
        """Close `sock`: remove its waiters, wake them with ClosedError, then
        close the descriptor (spec: io.close.*). Closing twice is harmless."""
        # spec: thread.refused-unchanged
        self._check_thread("close_socket()")
        fd = sock.fileno()
        if fd >= 0:
            slot = self._fdmap.get(fd)
            if slot is not None:
                if slot.sock is sock:
                    self._drop_slot(slot, "was closed")
                else:
                    self._replace_stale(slot, sock)
                    self._drop_slot(self._fdmap[fd], "was closed")
        sock.close()

    def _wake(self, events: list[tuple[selectors.SelectorKey, int]]) -> None:
        """Move the waiters that the poll found ready to the run queue."""
        woken: list[Continuation] = []
        dirty = self._dirty
        for key, mask in events:
            slot: _Slot | None = key.data
            if slot is None:
                continue  # the wakeup socket: _run_posted drains it
            if mask & READ and slot.reader is not None:
                woken.append(slot.reader)
                slot.reader = None
                dirty.add(slot.fd)
            if mask & WRITE and slot.writer is not None:
                woken.append(slot.writer)
                slot.writer = None
                dirty.add(slot.fd)
        self._nwaiters -= len(woken)
        # spec: tick.wake-order
        if len(woken) > 1:
            woken.sort(key=_seq_of)
        trace = self._trace
        enqueue = self._enqueue
        for k in woken:
            if trace is not None:
                trace("wake", k._task)
            # k() without its thread check: this is the loop's thread.
            k._used = True
            k._slot = None
            enqueue(k._task, None, None)


def _first(entry: tuple[int, Any]) -> int:
    return entry[0]


def _seq_of(k: Continuation) -> int:
    return k._seq
