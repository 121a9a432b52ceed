"""Timeout scopes and idle calls: a read under a timeout, and a task that
waits for the loop to be idle.

Task 0 reads one byte from A inside `move_on_after(1)`, then yields; the
peer of A may send that byte at any time, before or after the timeout
fires. Task 1 waits until the loop is idle, then yields. The clock advances
one tick, only while the loop would block.

Properties: task 0 always finishes, with the byte or with the read abandoned
by the timeout (cancel.scope.timeout). A third outcome is allowed, and the
checker found it before this property admitted it: the byte arrives and the
timer fires in the same iteration; the task, woken by the byte, receives it
and leaves the block before it suspends again, so the scope reports
`fired` but withdraws its cancellation. Also: everything terminates; no
deadlock; the invariants (inv.timer-live covers the scope's timer);
fairness.
"""

from refloop.check import Clock, Peer, Property, System, World, peer
from refloop.model import DONE, EndMoveOnAfter, MoveOnAfter, Recv, WaitIdle, YieldNow


def one_outcome(w: World) -> bool:
    reader = w.state.tasks[0]
    if reader.state != DONE:
        return False
    return reader.log in (
        (b"x", ("timeout", False)),
        (b"x", ("timeout", True)),
        (("timeout", True),),
    )


SYSTEMS = [
    System(
        name="scopes",
        tasks=(
            (MoveOnAfter(1), Recv("A", 1), EndMoveOnAfter(), YieldNow()),
            (WaitIdle(), YieldNow()),
        ),
        env=(Peer("peer A", (peer.Send(b"x"),), sock="A"), Clock(limit=1)),
        streams=("A",),
        at_end=(
            Property(
                "scopes.one-outcome",
                "the read gets its byte or is abandoned by the timeout",
                one_outcome,
            ),
        ),
        doc="a read under a timeout, and an idle waiter, with a clock",
    )
]
