"""Closing a socket while a task waits on it.

`close-reader`: task 0 waits to receive a byte on A; task 1 yields once,
then closes A. The peer of A may send one byte and may close, or not (a
`Free` peer is never obliged to act). Task 0 receives the byte, or end of
stream, or is woken with ClosedError (io.close.wakes); no registration is
left behind on the closed socket (inv.waiter-live), and everything
terminates even if the peer never sends.

`close-listener`: task 0 waits to accept on L; task 1 yields, then closes L;
one client may connect. Task 0 accepts the connection or fails with
ClosedError.
"""

from refloop.check import Free, Peer, Property, System, World, peer
from refloop.model import DONE, FAILED, Accept, Close, Recv, YieldNow


def reader_ends(w: World) -> bool:
    t = w.state.tasks[0]
    return (t.state, t.log, t.error) in (
        (DONE, (b"x",), None),
        (DONE, (b"",), None),
        (FAILED, (), "ClosedError"),
    )


def acceptor_ends(w: World) -> bool:
    t = w.state.tasks[0]
    return (t.state, t.log, t.error) in (
        (DONE, ("L.0",), None),
        (FAILED, (), "ClosedError"),
    )


SYSTEMS = [
    System(
        name="close-reader",
        tasks=((Recv("A", 1),), (YieldNow(), Close("A"))),
        env=(Free("A", b"x", limit=1, close=True),),
        streams=("A",),
        at_end=(
            Property(
                "close.reader-ends",
                "the reader gets the byte, end of stream or ClosedError",
                reader_ends,
            ),
        ),
        doc="a task closes the socket another task waits on",
    ),
    System(
        name="close-listener",
        tasks=((Accept("L"),), (YieldNow(), Close("L"))),
        env=(Peer("client", (peer.Connect("L"),), fair=False),),
        listeners=("L",),
        at_end=(
            Property(
                "close.acceptor-ends",
                "the acceptor gets the connection or ClosedError",
                acceptor_ends,
            ),
        ),
        doc="a task closes the listener another task accepts on",
    ),
]
