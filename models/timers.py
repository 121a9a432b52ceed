"""Timers: two tasks sleep while a third waits for data.

Task 0 sleeps two ticks, then yields; task 1 sleeps one tick; task 2 waits
for a byte that the peer of A sends. The clock (`Clock`) advances one tick
at a time, two in all, and only while the loop would block.

Properties: a timer never fires before one due earlier (timer.order: task 0
has not finished while task 1 still sleeps); everything terminates; no
deadlock; fairness.
"""

from refloop.check import Clock, Peer, Property, System, World, peer
from refloop.model import DONE, WAITING, Recv, Sleep, YieldNow


def in_order(w: World) -> bool:
    t0, t1, _ = w.state.tasks
    return not (t0.state == DONE and t1.state == WAITING)


SYSTEMS = [
    System(
        name="timers",
        tasks=((Sleep(2), YieldNow()), (Sleep(1),), (Recv("A", 1),)),
        env=(Peer("peer A", (peer.Send(b"x"),), sock="A"), Clock(limit=2)),
        streams=("A",),
        always=(
            Property("timers.in-order", "timers fire in deadline order", in_order),
        ),
        doc="two sleepers and a reader, with a clock",
    )
]
