"""The seed's example: a client sends two framed messages to a server.

Both tasks run on one loop; their sockets A (client) and B (server) are the
two ends of one connection (`Pair`), which delivers what one end sends to the
other in any chunking (`split`) and at any time. A message is framed with a
one-byte length. The server reads one byte at a time until it has both
messages (a program cannot loop on a count, so it asks for exactly the four
bytes), then closes; the client sends both, waits for the server's end of
stream, then closes.

Properties: the server receives both messages, in order (seed.in-order);
everything terminates (prop.terminates); no deadlock; fairness.

`seed-close-early` is the seed's client as written: it closes right after
sending. Closing keeps what was sent for the peer (io.close.keeps-sent), so
the server still receives both messages. (An earlier model dropped those
bytes; this checker found it.)

`seed-wrong-order` checks a property that is false on purpose (the server
receives the messages in the opposite order), so that there is always a
counterexample to print and to replay on the real loop.
"""

from refloop.check import Pair, Property, System, World
from refloop.model import DONE, Close, Program, Recv, SendAll

M1, M2 = b"\x01a", b"\x01b"
SERVER: Program = (*[Recv("B", 1)] * len(M1 + M2), Close("B"))
CLIENT: Program = (SendAll("A", M1), SendAll("A", M2), Recv("A", 1), Close("A"))


def in_order(w: World) -> bool:
    server = w.state.tasks[0]
    return server.state == DONE and b"".join(server.log) == M1 + M2  # type: ignore[arg-type]


def reversed_order(w: World) -> bool:
    server = w.state.tasks[0]
    return server.state == DONE and b"".join(server.log) == M2 + M1  # type: ignore[arg-type]


SEED = System(
    name="seed",
    tasks=(SERVER, CLIENT),
    env=(Pair("A", "B", split=True),),
    streams=("A", "B"),
    budget=2,
    capacity=3,
    at_end=(
        Property(
            "seed.in-order", "the server receives both messages in order", in_order
        ),
    ),
    doc="client and server over a connection; the server gets both messages",
)

SYSTEMS = [
    SEED,
    SEED.variant(
        name="seed-close-early",
        tasks=(SERVER, (SendAll("A", M1), SendAll("A", M2), Close("A"))),
        doc="the seed's client closes at once; what it sent still arrives",
    ),
    SEED.variant(
        name="seed-wrong-order",
        at_end=(
            Property(
                "seed.wrong-order",
                "the server receives the messages reversed (false on purpose)",
                reversed_order,
            ),
        ),
        expect=("seed.wrong-order",),
        doc="a false property, so that a counterexample always exists",
    ),
]
