"""Cancellation: `task.cancel()` from outside a task, at any point while
the task is alive (a `Canceller`, at most once).

`cancel-recv`: task 0 waits to receive a byte on A; the peer of A may send
it, or not (a `Free` peer); the canceller must cancel in the end (fair).
The task ends with its byte or with Cancelled, never both, and a cancelled
read takes nothing: the byte, if sent, is still on A (cancel.waiting,
cancel.runnable). No registration is left behind (inv.waiter-live), and a
task that ends with Cancelled is not reported (cancel.not-reported).

`cancel-scope`: task 0 reads A inside `move_on_after(1)`, then reads B,
where nothing ever arrives; a clock ticks once, at any time. The scope
absorbs only its own Cancelled (cancel.scope.nested): a plain cancel always
ends the task, whichever of the two came first, so the task ends with
Cancelled and the read of B never outlives it.

`cancel-scope-yield` is the same with a `YieldNow` inside the scope. This
checker found it failing: the task, queued after its yield, is cancelled
(cancel.runnable records the request), then its scope's timer fires before
it runs, and the scope's request replaced the plain one; the scope absorbed
the only Cancelled the task got, the task went on to read B, and nothing
could end it (a deadlock in 6 steps). The real loop did the same. Both now
merge requests by width (cancel.merge): the plain one is kept, and the
system passes; the broken policy `last-cancel-wins` keeps the old rule and
is caught (tests/test_check_actors.py).

`cancel-join`: task 0 sleeps one tick; task 1 joins it; either may be
cancelled, or not. The sleeper's timer goes with it (inv.timer-live); the
joiner's registration goes with it or with its target (inv.waiter-live); a
joiner of a cancelled task gets Cancelled (cancel.not-reported), and
nothing is reported.

The invariants, deadlock and the liveness properties are checked too.
"""

from refloop.check import Canceller, Clock, Free, Property, System, World
from refloop.model import (
    DONE,
    FAILED,
    EndMoveOnAfter,
    Join,
    MoveOnAfter,
    Recv,
    Sleep,
    YieldNow,
    sock,
)

CANCELLED = (FAILED, (), "Cancelled")


def read_or_cancelled(w: World) -> bool:
    t, a = w.state.tasks[0], sock(w.state, "A")
    sent = w.env[0]
    assert a is not None and isinstance(sent, int)
    if (t.state, t.log, t.error) == (DONE, (b"x",), None):
        return a.inbound == b""
    return (t.state, t.log, t.error) == CANCELLED and a.inbound == b"x" * sent


def nothing_reported(w: World) -> bool:
    return not w.state.reported


def plain_cancel_wins(w: World) -> bool:
    t = w.state.tasks[0]
    return (t.state, t.error) == (FAILED, "Cancelled") and t.log in (
        (),
        (b"x", ("timeout", False)),
        (b"x", ("timeout", True)),
        (("timeout", True),),
    )


def join_outcome(w: World) -> bool:
    sleeper, joiner = w.state.tasks[:2]
    ends = (
        (sleeper.state, sleeper.error),
        (joiner.state, joiner.log, joiner.error),
    )
    return ends in (
        ((DONE, None), (DONE, (("join", 0),), None)),
        ((DONE, None), CANCELLED),
        ((FAILED, "Cancelled"), CANCELLED),
    )


NOT_REPORTED = Property(
    "cancel.nothing-reported", "a Cancelled task is not reported", nothing_reported
)

CANCEL_SCOPE = System(
    name="cancel-scope",
    tasks=((MoveOnAfter(1), Recv("A", 1), EndMoveOnAfter(), Recv("B", 1)),),
    env=(
        Free("A", b"x", limit=1),
        Clock(limit=1, idle=False),
        Canceller(0, fair=True),
    ),
    streams=("A", "B"),
    at_end=(
        Property(
            "cancel.plain-wins",
            "a plain cancel is never absorbed by a timeout scope",
            plain_cancel_wins,
        ),
        NOT_REPORTED,
    ),
    doc="a plain cancel and a timeout scope's own",
)

SYSTEMS = [
    System(
        name="cancel-recv",
        tasks=((Recv("A", 1),),),
        env=(Free("A", b"x", limit=1), Canceller(0, fair=True)),
        streams=("A",),
        at_end=(
            Property(
                "cancel.read-or-cancelled",
                "the read ends with its byte or Cancelled, never both, and a "
                "cancelled read takes nothing",
                read_or_cancelled,
            ),
            NOT_REPORTED,
        ),
        doc="a read cancelled while the peer may send",
    ),
    CANCEL_SCOPE,
    CANCEL_SCOPE.variant(
        name="cancel-scope-yield",
        tasks=(
            (MoveOnAfter(1), YieldNow(), Recv("A", 1), EndMoveOnAfter(), Recv("B", 1)),
        ),
        doc="the same, yielding inside the scope: the plain cancel survives",
    ),
    System(
        name="cancel-join",
        tasks=((Sleep(1),), (Join(0),)),
        env=(Clock(limit=1), Canceller(0), Canceller(1)),
        at_end=(
            Property(
                "cancel.join-outcome",
                "the joiner joins, or ends with its own or its target's Cancelled",
                join_outcome,
            ),
            NOT_REPORTED,
        ),
        doc="a sleeper and its joiner, either cancelled",
    ),
]
