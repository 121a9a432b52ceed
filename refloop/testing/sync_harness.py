"""The harness's part for synchronisation: real Lock, Event and Channel
objects named as the model names them, the operations of
refloop.model.syncops performed on them, and what they hold, in the model's
vocabulary (waiters, lock owners, set events, channel buffers).

The primitives' classes can be replaced (`Primitives`), so that the stateful
test can run a broken one (refloop.testing.broken_sync) against the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

from .._cancelscope import CancelScope
from .._channel import Channel
from .._errors import EndOfChannel
from .._sync import Event, Lock
from ..model import (
    SYNC_KINDS,
    Acquire,
    ChanClose,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    State,
    Waiter,
    WaitEvent,
)
from ..model import Channel as ModelChannel
from ..model.syncops import END, LOCK, RECV, SEND, SET, SyncOp

__all__ = [
    "DEFAULT_PRIMITIVES",
    "Primitives",
    "SyncObjects",
    "UnknownChannel",
    "compare_sync",
]


class UnknownChannel(LookupError):
    """A program named a channel that was not declared."""


@dataclass(frozen=True)
class Primitives:
    """The classes the harness makes its primitives from."""

    lock: type[Lock] = Lock
    event: type[Event] = Event
    channel: type[Channel[Any]] = Channel
    # The CancelScope class for the programs' OpenCancelScope blocks.
    cancel_scope: type[CancelScope] = CancelScope


DEFAULT_PRIMITIVES = Primitives()


class SyncObjects:
    """The real primitives of one harness, made on first use."""

    def __init__(
        self, primitives: Primitives, channels: tuple[tuple[str, int], ...]
    ) -> None:
        self.kinds = primitives
        self.locks: dict[str, Lock] = {}
        self.events: dict[str, Event] = {}
        self.channels: dict[str, Channel[int]] = {
            name: primitives.channel(capacity) for name, capacity in channels
        }
        self.capacities = dict(channels)

    def lock(self, name: str) -> Lock:
        if name not in self.locks:
            self.locks[name] = self.kinds.lock()
        return self.locks[name]

    def channel(self, name: str) -> Channel[int]:
        try:
            return self.channels[name]
        except KeyError:
            raise UnknownChannel(f"no channel named {name!r}") from None

    def event(self, name: str) -> Event:
        if name not in self.events:
            self.events[name] = self.kinds.event()
        return self.events[name]

    async def perform(self, op: SyncOp, log: list[object]) -> None:
        """One operation, with the public call of the same name."""
        match op:
            case Acquire():
                await self.lock(op.lock).acquire()
            case Release():
                self.lock(op.lock).release()
            case SetEvent():
                self.event(op.event).set()
            case WaitEvent():
                await self.event(op.event).wait()
            case ChanSend():
                await self.channel(op.chan).send(op.item)
            case ChanRecv():
                try:
                    log.append(await self.channel(op.chan).recv())
                except EndOfChannel:
                    log.append(END)
            case ChanClose():
                self.channel(op.chan).close()
            case _:
                assert_never(op)

    def waiters(self) -> list[Waiter]:
        """Each primitive's waiters, from its public views (spec: sync.views)."""
        found = [
            Waiter(LOCK, name, task.tid)
            for name, lock in self.locks.items()
            for task in lock.waiting()
        ]
        found += [
            Waiter(SET, name, task.tid)
            for name, ev in self.events.items()
            for task in ev.waiting()
        ]
        for name, ch in self.channels.items():
            found += [Waiter(SEND, name, task.tid) for task in ch.senders()]
            found += [Waiter(RECV, name, task.tid) for task in ch.waiting()]
        return found

    def abstract(self) -> dict[str, Any]:
        """The State fields the primitives decide, from their public views."""
        return {
            "locks": tuple(
                (name, lock.owner.tid)
                for name, lock in self.locks.items()
                if lock.owner is not None
            ),
            "set_events": tuple(n for n, ev in self.events.items() if ev.is_set()),
            "channels": tuple(
                ModelChannel(n, self.capacities[n], ch.buffered(), ch.closed)
                for n, ch in self.channels.items()
            ),
        }


def compare_sync(expected: State, found: State) -> list[str]:
    """What differs in the primitives between the model and the real loop:
    lock owners, set events, channel buffers, and each primitive's waiters in
    order."""
    problems = []
    if sorted(expected.locks) != sorted(found.locks):
        problems.append(f"lock owners: model {expected.locks}, real {found.locks}")
    if sorted(expected.set_events) != sorted(found.set_events):
        problems.append(
            f"events set: model {expected.set_events}, real {found.set_events}"
        )
    mine = {c.name: c for c in expected.channels}
    theirs = {c.name: c for c in found.channels}
    if mine != theirs:
        problems.append(f"channels: model {expected.channels}, real {found.channels}")
    for target in {w.target for w in (*expected.waiters, *found.waiters)}:
        want = [
            w for w in expected.waiters if w.kind in SYNC_KINDS and w.target == target
        ]
        got = [w for w in found.waiters if w.kind in SYNC_KINDS and w.target == target]
        if sorted(want, key=_kind) != sorted(got, key=_kind):
            problems.append(f"waiters on {target}: model {want}, real {got}")
    return problems


def _waiting_on(s: State, target: object) -> list[Waiter]:
    return [w for w in s.waiters if w.kind in SYNC_KINDS and w.target == target]


def _kind(w: Waiter) -> str:
    return w.kind  # a stable sort keeps each kind's order: FIFO is compared
