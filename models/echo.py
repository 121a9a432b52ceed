"""An echo server with two clients (three in `echo-3`, for the benchmark).

Task 0 accepts the connections; task k (k >= 1) waits for task 0 (`Join`),
then serves connection `L.{k-1}`: it reads the message one byte at a time,
sends it back, waits for the client's end of stream, and closes. Programs
cannot compute, so the server knows the message in advance; the property
checks that what it read is what it echoed, and that every client got its
message back.

Each client is a scripted peer: connect, send the message, read the echo
(as it comes), close its sending side. Which client's connection
becomes `L.0` is decided by who connects first, as in the model.

Properties: seed of every echo (echo.echoed), termination, no deadlock,
fairness.
"""

from refloop.check import Peer, Property, System, World, peer
from refloop.check.systems.env import PeerState
from refloop.model import DONE, Accept, Close, Join, Program, Recv, SendAll

MESSAGE = b"hi"


def handler(conn: str) -> Program:
    return (
        Join(0),
        *[Recv(conn, 1)] * len(MESSAGE),
        SendAll(conn, MESSAGE),
        Recv(conn, 1),
        Close(conn),
    )


def echoed(w: World) -> bool:
    handlers = w.state.tasks[1:]
    served = all(
        t.state == DONE and t.log == (("join", 0), *MESSAGE_BYTES, len(MESSAGE), b"")
        for t in handlers
    )
    clients = all(isinstance(me, PeerState) and me.got == MESSAGE for me in w.env)
    return served and clients


MESSAGE_BYTES = tuple(MESSAGE[i : i + 1] for i in range(len(MESSAGE)))


def echo(clients: int) -> System:
    return System(
        name="echo" if clients == 2 else f"echo-{clients}",
        tasks=(
            tuple(Accept("L") for _ in range(clients)),
            *(handler(f"L.{k}") for k in range(clients)),
        ),
        env=tuple(
            Peer(
                f"client {k}",
                (
                    peer.Connect("L"),
                    peer.Send(MESSAGE),
                    peer.Recv(len(MESSAGE)),
                    peer.Close(),
                ),
            )
            for k in range(clients)
        ),
        listeners=("L",),
        budget=2,
        capacity=2,
        at_end=(Property("echo.echoed", "every client gets its message back", echoed),),
        doc=f"an echo server and {clients} clients",
    )


SYSTEMS = [echo(2), echo(3)]
