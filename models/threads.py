"""Threads: continuations handed to other threads (`AwaitThread`) and
posted back with `call_soon_threadsafe` (a `Poster`), beside a task that
waits for the loop to be idle.

`threads`: tasks 0 and 1 each hand their continuation to a thread, then,
resumed, send one byte on A ("0", "1"); task 2 waits for the loop to be
idle, then sends "i". The threads post the two continuations in either
order, at any point, and must post in the end (fair). The loop is idle
while the threads hold the continuations, so the idle waiter runs before,
between or after the posts (idle). Most schedules post while the loop is
blocked in its poll with nothing else to do: the post must wake it
(thread.no-lost-wakeup), or the system deadlocks.

Properties: the posted tasks run in the order they were posted: the bytes
on A, without "i", are the post order (thread.post); nothing is lost or
run twice: each byte is on A once (inv.one-resume covers the twice); every
task finishes; no deadlock; fairness.

The same system under `lost-post` (a post does not wake a blocked poll, the
twin of refloop.testing.broken.LostPostLoop) deadlocks, and under
`lifo-posts` (posted calls run newest first) breaks the order; both are
caught in tests/test_check.py.
"""

from refloop.check import Poster, Property, System, World
from refloop.model import DONE, AwaitThread, Send, WaitIdle, sock


def in_post_order(w: World) -> bool:
    a = sock(w.state, "A")
    posted = w.env[0]
    assert a is not None and isinstance(posted, tuple)
    order = "".join(str(tid) for tid in posted).encode()
    return a.outbound.replace(b"i", b"") == order


def all_ran_once(w: World) -> bool:
    a = sock(w.state, "A")
    assert a is not None
    done = all(t.state == DONE for t in w.state.tasks)
    return done and sorted(a.outbound) == sorted(b"01i")


SYSTEMS = [
    System(
        name="threads",
        tasks=(
            (AwaitThread(), Send("A", b"0")),
            (AwaitThread(), Send("A", b"1")),
            (WaitIdle(), Send("A", b"i")),
        ),
        env=(Poster((0, 1), limit=2),),
        streams=("A",),
        at_end=(
            Property(
                "threads.in-post-order",
                "posted tasks run in the order they were posted",
                in_post_order,
            ),
            Property(
                "threads.nothing-lost",
                "every posted task runs, once",
                all_ran_once,
            ),
        ),
        doc="two threads post continuations back; an idle waiter beside them",
    )
]
