"""Fairness: one task yields for ever while another waits for data.

Task 0 repeats `YieldNow()` for ever (a `Forever` task: programs cannot loop,
so the checker folds its pc, see refloop.check.systems.system.Forever). Task 1
waits to receive one byte on A; the peer of A sends it once.

Under refloop's policy (spec: tick.ready-snapshot) each iteration runs only
the tasks queued when its drain began, then polls again, so task 1 is woken
(prop.fair.ready-wakes) and every runnable task runs (prop.fair.runnable-runs).

Under the seed's policy (drain the queue until it is empty) the yielding
task is always back in the queue before the drain ends, the loop never
polls again, and task 1 starves: the checker prints the lasso.
"""

from refloop.check import READY_WAKES, RUNNABLE_RUNS, Forever, Peer, System, peer
from refloop.model import Recv, YieldNow

FAIRNESS = System(
    name="fairness",
    tasks=(Forever((YieldNow(),)), (Recv("A", 1),)),
    env=(Peer("peer A", (peer.Send(b"x"),), sock="A"),),
    streams=("A",),
    liveness=(RUNNABLE_RUNS, READY_WAKES),
    doc="a task yields for ever; another waits for a byte that arrives",
)

SYSTEMS = [
    FAIRNESS,
    FAIRNESS.variant(
        name="fairness-seed",
        policy="seed",
        expect=(READY_WAKES,),
        doc="the same under the seed's drain-until-empty: task 1 starves",
    ),
]
