"""Persistent readers and writers: asyncio's `add_reader` as a mode of
refloop's waiters part.

A native waiter is a task's one-shot continuation parked on (socket,
direction); a *watcher* is an asyncio `Handle` that stays on (descriptor,
direction) until it is removed or replaced. `AioWaiters` is the `Waiters`
part of the aio core (installed as `Core._Waiters`): both kinds live in the
same slot of the same table, so one selector registration serves a
descriptor whatever kind of entry waits on it.

Rules this part keeps (spec: aio.watch.*):

1. At most one watcher per (descriptor, direction); adding a second replaces
   the first, which is cancelled (aio.watch.replace). A native waiter and a
   watcher never share a direction of one descriptor (aio.watch.exclusive).
2. A watcher stays registered after its callback runs: the selector reports
   its descriptor again in every poll while it is ready (aio.watch.level).
3. A watcher change reaches the selector at once, so a bad descriptor is
   refused by the call that added it and the table is left as it was
   (aio.watch.validate); native waiters keep their lazy `sync`.
4. Ready entries of both kinds come out oldest registration first
   (tick.wake-order, aio.watch.order); the core puts them at the back of its
   run queue.

Besides the part's own methods it offers `watch`, `unwatch`, `watchers`,
`take_ready` and `fds`; the core calls nothing else of it.
"""

from __future__ import annotations

import selectors
import socket
from asyncio import Handle

from .._errors import BusyError
from .._suspend import Continuation
from .._waiters import READ, WRITE, Waiters, _Slot
from ._slots import AioSlot, Entry, is_open

__all__ = ["AioWaiters"]


class AioWaiters(Waiters):
    """The waiters part of the aio core: native waiters and watchers."""

    # Invariant (in addition to Waiters'): `count` counts the watchers too,
    # so the loop polls while any is registered; every slot holding a
    # watcher is an `AioSlot`, and its mask includes the watchers'
    # directions as soon as `watch`/`unwatch` return.

    def _aio_slot(self, fd: int) -> AioSlot:
        slot = self._fdmap.get(fd)
        if type(slot) is AioSlot:
            return slot
        fresh = AioSlot(None if slot is None else slot.sock, fd)
        if slot is not None:
            # A native slot becomes a slot that may hold watchers; its
            # waiters and the selector's registration move with it.
            fresh.reader, fresh.writer, fresh.mask = slot.reader, slot.writer, slot.mask
            for k in (slot.reader, slot.writer):
                if k is not None:
                    k._slot = fresh
            if fresh.mask:
                self._selector.modify(fd, fresh.mask, fresh)
        self._fdmap[fd] = fresh
        return fresh

    def watch(self, fd: int, direction: int, handle: Handle) -> None:
        """Make `handle` the watcher of (fd, direction), replacing any."""
        slot = self._aio_slot(fd)
        native = slot.reader if direction == READ else slot.writer
        if native is not None:
            # spec: aio.watch.exclusive
            raise BusyError(
                f"descriptor {fd} has a native refloop waiter, {native.task!r}, "
                f"for {_name(direction)}; an asyncio {_name(direction)} callback "
                "cannot share it: wait in one world or the other"
            )
        old = slot.on_read if direction == READ else slot.on_write
        seq = self._seq
        self._seq = seq + 1
        if direction == READ:
            slot.on_read, slot.read_seq = handle, seq
        else:
            slot.on_write, slot.write_seq = handle, seq
        try:
            # spec: aio.watch.validate
            self._apply(slot)
        except BaseException:
            if direction == READ:
                slot.on_read = old
            else:
                slot.on_write = old
            if not slot.mask and slot.reader is None and slot.writer is None:
                self._fdmap.pop(fd, None)
            raise
        if old is None:
            self.count += 1
        else:
            # spec: aio.watch.replace
            old.cancel()

    def unwatch(self, fd: int, direction: int) -> bool:
        """Remove the watcher of (fd, direction); whether there was one."""
        slot = self._fdmap.get(fd)
        if type(slot) is not AioSlot:
            return False
        old = slot.on_read if direction == READ else slot.on_write
        if old is None:
            return False
        if direction == READ:
            slot.on_read = None
        else:
            slot.on_write = None
        self.count -= 1
        # spec: aio.watch.remove
        old.cancel()
        self._apply(slot)
        return True

    def watchers(self) -> list[tuple[int, str, Handle]]:
        """Every (descriptor, direction, handle) watched, oldest first."""
        found: list[tuple[int, tuple[int, str, Handle]]] = []
        for slot in self._fdmap.values():
            if type(slot) is AioSlot:
                if slot.on_read is not None:
                    found.append((slot.read_seq, (slot.fd, "read", slot.on_read)))
                if slot.on_write is not None:
                    found.append((slot.write_seq, (slot.fd, "write", slot.on_write)))
        found.sort(key=_first)
        return [w for _, w in found]

    def fds(self) -> set[int]:
        """The descriptors that have a slot (a waiter, a watcher or a
        selector registration)."""
        return set(self._fdmap)

    def _apply(self, slot: _Slot) -> None:
        """Bring the selector in line with one slot (raises on a bad fd);
        a slot left with nothing to watch leaves the table."""
        fd = slot.fd
        want = (READ if slot.reader is not None else 0) | (
            WRITE if slot.writer is not None else 0
        )
        if type(slot) is AioSlot:
            want |= (READ if slot.on_read is not None else 0) | (
                WRITE if slot.on_write is not None else 0
            )
        if want != slot.mask:
            if not slot.mask:
                self._selector.register(fd, want, slot)
            elif not want:
                self._selector.unregister(fd)
            else:
                self._selector.modify(fd, want, slot)
            slot.mask = want
        if not want and self._fdmap.get(fd) is slot:
            del self._fdmap[fd]

    def sync(self) -> None:
        """Bring the selector in line with waiters and watchers."""
        fdmap = self._fdmap
        for fd in list(self.changed):
            slot = fdmap.get(fd)
            if slot is None:
                continue
            try:
                self._apply(slot)
            except (OSError, ValueError):
                if slot.sock is not None and slot.sock.fileno() >= 0:
                    raise
                if slot.sock is None and is_open(fd):
                    raise
                # spec: io.stale-descriptor
                self.drop(slot, "was closed without refloop.close()")
        self.changed.clear()

    def drop(self, slot: _Slot, why: str) -> None:
        """Forget `slot`: its watchers are cancelled, its waiters get
        ClosedError (as `Waiters.drop`)."""
        if type(slot) is AioSlot:
            for handle in (slot.on_read, slot.on_write):
                if handle is not None:
                    self.count -= 1
                    handle.cancel()
            slot.on_read = slot.on_write = None
        super().drop(slot, why)

    def park(self, sock: socket.socket, direction: int, k: Continuation) -> None:
        """`Waiters.park`, refused on a direction an asyncio callback watches."""
        slot = self._fdmap.get(sock.fileno())
        if type(slot) is AioSlot:
            watcher = slot.on_read if direction == READ else slot.on_write
            if watcher is not None:
                # spec: aio.watch.exclusive
                raise BusyError(
                    f"{sock!r} has an asyncio {_name(direction)} callback, "
                    f"{watcher!r}; {k.task!r} cannot wait on it too"
                )
            if slot.sock is None:
                slot.sock = sock
        super().park(sock, direction, k)

    def sockets(self) -> list[socket.socket]:
        """The sockets the selector watches (descriptors watched by number
        only have none)."""
        return [s.sock for s in self._fdmap.values() if s.mask and s.sock is not None]

    def take_ready(
        self, events: list[tuple[selectors.SelectorKey, int]]
    ) -> list[Entry]:
        """What `events` show ready, oldest registration first: native
        waiters (one-shot: taken out of the table, the caller resumes them)
        and watchers (persistent: kept); the loop's wakeup socket is the
        core iteration's to drain. (The core takes one descriptor with
        watchers only itself, refloop/aio/_core.py.)"""
        woken: list[tuple[int, Entry]] = []
        changed = self.changed
        taken = 0
        for key, mask in events:
            slot = key.data
            if slot is None:
                continue  # the loop's wakeup socket
            if mask & READ:
                if (k := slot.reader) is not None:
                    k._slot = slot.reader = None
                    woken.append((k._seq, k))
                    changed.add(slot.fd)
                    taken += 1
                elif type(slot) is AioSlot and slot.on_read is not None:
                    # spec: aio.watch.level
                    woken.append((slot.read_seq, slot.on_read))
            if mask & WRITE:
                if (k := slot.writer) is not None:
                    k._slot = slot.writer = None
                    woken.append((k._seq, k))
                    changed.add(slot.fd)
                    taken += 1
                elif type(slot) is AioSlot and slot.on_write is not None:
                    woken.append((slot.write_seq, slot.on_write))
        self.count -= taken
        # spec: aio.watch.order
        if len(woken) > 1:
            woken.sort(key=_first)
        return [entry for _, entry in woken]


def _first(entry: tuple[int, object]) -> int:
    return entry[0]


def _name(direction: int) -> str:
    return "reader" if direction == READ else "writer"
