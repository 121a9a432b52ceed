"""The environment of a closed system: the processes that act on the far
side of the loop's sockets, each a source of explicit choice. The rules
they keep are in refloop.check.systems.process, scripted peers in
refloop.check.systems.peers, cancellers and threads in
refloop.check.systems.actors; here are the others, and `Process`, their
union."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ...model import (
    READ,
    WRITE,
    Advance,
    PeerClose,
    PeerRecv,
    PeerSend,
    State,
    due_timers,
    is_ready,
    sock,
)
from .actors import Canceller, Poster
from .peers import Peer, PeerOp, PeerState, peer
from .process import Facet, Move, chunks, open_stream

__all__ = [
    "Canceller",
    "Clock",
    "Facet",
    "Free",
    "Move",
    "Pair",
    "Peer",
    "PeerOp",
    "PeerState",
    "Poster",
    "Process",
    "peer",
]


@dataclass(frozen=True)
class Pair:
    """Two of the loop's own sockets joined like a socketpair (or a TCP
    connection with delivery delay): what the loop sends on one arrives, in
    order and in time, on the other; closing one is end of stream on the
    other. Bytes sent towards a closed end are discarded."""

    a: str
    b: str
    split: bool = False
    fair: bool = True

    @property
    def name(self) -> str:
        return f"{self.a}<->{self.b}"

    def start(self) -> None:
        return None

    def view(self, s: State, me: Hashable) -> Hashable:
        return (sock(s, self.a), sock(s, self.b))

    def moves(self, s: State, me: Hashable) -> list[Move]:
        found: list[Move] = []
        for src, dst in ((self.a, self.b), (self.b, self.a)):
            x, y = sock(s, src), sock(s, dst)
            if x is None or y is None:
                continue
            into = not y.closed and not y.peer_closed
            if x.outbound:
                if not into:
                    found.append(Move((PeerRecv(src, len(x.outbound)),), None))
                    continue
                for k in chunks(len(x.outbound), self.split):
                    data = x.outbound[:k]
                    found.append(Move((PeerRecv(src, k), PeerSend(dst, data)), None))
            elif x.closed and into:
                found.append(Move((PeerClose(dst),), None))
        return found

    def facets(self, me: Hashable) -> frozenset[Facet]:
        return frozenset((d, n) for d in ("in", "out") for n in (self.a, self.b))

    def done(self, me: Hashable) -> bool:
        return True


@dataclass(frozen=True)
class Free:
    """An unscripted peer of stream `sock` that may send any byte of
    `alphabet`, one at a time, up to `limit` bytes, and may close if
    `close`. It is never obliged to act (not fair)."""

    sock: str
    alphabet: bytes = b"x"
    limit: int = 1
    close: bool = False
    fair: bool = False

    @property
    def name(self) -> str:
        return f"free {self.sock}"

    def start(self) -> int:
        return 0

    def view(self, s: State, me: Hashable) -> Hashable:
        return (me, sock(s, self.sock))

    def moves(self, s: State, me: Hashable) -> list[Move]:
        assert isinstance(me, int)
        found = sock(s, self.sock)
        if not open_stream(s, self.sock) or found is None or found.peer_closed:
            return []
        moves = []
        if me < self.limit:
            moves = [
                Move((PeerSend(self.sock, bytes([c])),), me + 1) for c in self.alphabet
            ]
        if self.close:
            moves.append(Move((PeerClose(self.sock),), me))
        return moves

    def facets(self, me: Hashable) -> frozenset[Facet]:
        assert isinstance(me, int)
        if me < self.limit or self.close:
            return frozenset({("in", self.sock)})
        return frozenset()

    def done(self, me: Hashable) -> bool:
        return True


@dataclass(frozen=True)
class Clock:
    """Time: the clock advances one tick at a time, `limit` ticks in all (a
    bound: the model's clock is unbounded). With `idle` (the default) it
    advances only while the loop would block: nothing runnable, no waiter
    ready, no timer due, some timer pending. That models a loop infinitely
    faster than its timers, and keeps a bounded clock from running out
    before a sleep that started late is due."""

    limit: int = 1
    idle: bool = True
    fair: bool = True

    @property
    def name(self) -> str:
        return "clock"

    def start(self) -> int:
        return 0

    def view(self, s: State, me: Hashable) -> Hashable:
        return (me, self._idle(s) if self.idle else True)

    @staticmethod
    def _idle(s: State) -> bool:
        return (
            bool(s.timers)
            and not s.run_queue
            and not due_timers(s)
            and not any(w.kind in (READ, WRITE) and is_ready(s, w) for w in s.waiters)
        )

    def moves(self, s: State, me: Hashable) -> list[Move]:
        assert isinstance(me, int)
        if me >= self.limit or (self.idle and not self._idle(s)):
            return []
        return [Move((Advance(1),), me + 1)]

    def facets(self, me: Hashable) -> frozenset[Facet]:
        assert isinstance(me, int)
        return frozenset({("clock", "")}) if me < self.limit else frozenset()

    def done(self, me: Hashable) -> bool:
        return True


Process = Peer | Pair | Free | Clock | Canceller | Poster
