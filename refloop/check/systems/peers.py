"""Scripted peers: a client at the far end of one of the loop's sockets,
running a script of peer operations (the rules every environment process
keeps are in refloop.check.systems.process)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import NamedTuple

from ...model import PeerClose, PeerConnect, PeerRecv, PeerSend, State, sock
from .process import Facet, Move, chunks, open_stream

__all__ = ["Peer", "PeerOp", "PeerState", "peer"]


class peer:
    """The operations of a scripted peer, named as their transitions."""

    @dataclass(frozen=True, slots=True)
    class Connect:
        """`peer_connect(listener)`; the peer's socket is the connection's
        name, `L.k` where k counts the connections made before it."""

        listener: str

    @dataclass(frozen=True, slots=True)
    class Send:
        """`peer_send` until all of `data` is sent."""

        data: bytes

    @dataclass(frozen=True, slots=True)
    class Recv:
        """`peer_recv` until `n` bytes have arrived."""

        n: int

    @dataclass(frozen=True, slots=True)
    class Close:
        """`peer_close`: the peer closes its sending side."""


PeerOp = peer.Connect | peer.Send | peer.Recv | peer.Close


class PeerState(NamedTuple):
    pc: int = 0
    sock: str | None = None
    # Bytes of the operation at pc already done.
    done: int = 0
    # Everything the peer received, for the system's properties.
    got: bytes = b""

    def __repr__(self) -> str:
        return f"<step {self.pc} +{self.done} on {self.sock} got {self.got!r}>"


@dataclass(frozen=True)
class Peer:
    """A peer running a script: a client at the far end of a socket `sock`,
    or (starting with `peer.Connect`) of a connection it makes. With `split`
    it sends and reads in every possible chunking, not all at once."""

    name: str
    script: tuple[PeerOp, ...]
    sock: str | None = None
    split: bool = False
    fair: bool = True

    def start(self) -> PeerState:
        return PeerState(sock=self.sock)

    def view(self, s: State, me: Hashable) -> Hashable:
        """All that `moves` reads: equal views, equal moves."""
        assert isinstance(me, PeerState)
        op = self.script[me.pc] if me.pc < len(self.script) else None
        if isinstance(op, peer.Connect):
            return (me, sock(s, op.listener))
        return (me, None if me.sock is None else sock(s, me.sock))

    def moves(self, s: State, me: Hashable) -> list[Move]:
        assert isinstance(me, PeerState)
        if me.pc >= len(self.script):
            return []
        op = self.script[me.pc]
        if isinstance(op, peer.Connect):
            found = sock(s, op.listener)
            if found is None or not found.listener or found.closed:
                return []
            name = f"{op.listener}.{found.backlog + found.accepted}"
            return [Move((PeerConnect(op.listener),), PeerState(me.pc + 1, name))]
        if not open_stream(s, me.sock):
            return []
        assert me.sock is not None
        found = sock(s, me.sock)
        assert found is not None
        if isinstance(op, peer.Close):
            if found.peer_closed:
                return []
            return [
                Move((PeerClose(me.sock),), PeerState(me.pc + 1, me.sock, 0, me.got))
            ]
        if isinstance(op, peer.Send):
            if found.peer_closed:
                return []
            rest = op.data[me.done :]
            return [
                Move((PeerSend(me.sock, rest[:k]),), self._advance(me, k, len(rest)))
                for k in chunks(len(rest), self.split)
            ]
        want = op.n - me.done
        available = min(want, len(found.outbound))
        return [
            Move(
                (PeerRecv(me.sock, k),),
                self._advance(me, k, want)._replace(got=me.got + found.outbound[:k]),
            )
            for k in chunks(available, self.split)
            if k > 0
        ]

    @staticmethod
    def _advance(me: PeerState, k: int, rest: int) -> PeerState:
        if k == rest:
            return PeerState(me.pc + 1, me.sock, 0, me.got)
        return PeerState(me.pc, me.sock, me.done + k, me.got)

    def facets(self, me: Hashable) -> frozenset[Facet]:
        assert isinstance(me, PeerState)
        found: set[Facet] = set()
        name = me.sock
        for op in self.script[me.pc :]:
            if isinstance(op, peer.Connect):
                # The connection's future name is not a socket yet, and no
                # sequence of environment steps alone can make it one.
                found.add(("in", op.listener))
                name = None
            elif name is not None:
                found.add(("out" if isinstance(op, peer.Recv) else "in", name))
        return frozenset(found)

    def done(self, me: Hashable) -> bool:
        assert isinstance(me, PeerState)
        return me.pc >= len(self.script)
