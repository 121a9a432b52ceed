"""Three identical readers on one socket: a safety system, reduced by
symmetry.

Tasks 0, 1 and 2 each receive a byte on A, yield, and receive another; the
peer of A sends six bytes in any chunking. One task at a time may wait to read A
(io.wait.one-per-direction): a reader that finds no data while another waits
fails with BusyError. The property: no byte is received twice or invented,
and every reader ends with two bytes or BusyError.

The three tasks have the same program, so states that differ only in which
of them is which are the same up to renaming (`symmetric`); with no
liveness property to check, the checker keeps one of each such class
(without macro-steps, it halves the states; with them, the loop's fixed
order already leaves few swapped states to merge).
"""

from collections import Counter

from refloop.check import Peer, Property, System, World, peer
from refloop.model import DONE, FAILED, Recv, YieldNow

DATA = b"uvwxyz"
READER = (Recv("A", 1), YieldNow(), Recv("A", 1))


def each_byte_once(w: World) -> bool:
    got: Counter[int] = Counter()
    for t in w.state.tasks:
        for chunk in t.log:
            assert isinstance(chunk, bytes)
            got.update(chunk)
    return not got - Counter(DATA)


def readers_end(w: World) -> bool:
    return all(
        (t.state == DONE and [len(c) for c in t.log] == [1, 1])  # type: ignore[arg-type]
        or (t.state == FAILED and t.error == "BusyError")
        for t in w.state.tasks
    )


SYSTEMS = [
    System(
        name="contend",
        tasks=(READER, READER, READER),
        env=(Peer("peer A", (peer.Send(DATA),), sock="A", split=True),),
        streams=("A",),
        always=(
            Property(
                "contend.each-byte-once", "no byte is received twice", each_byte_once
            ),
        ),
        at_end=(Property("contend.readers-end", "each reader ends well", readers_end),),
        liveness=(),
        symmetric=((0, 1, 2),),
        doc="three identical readers on one socket",
    )
]
