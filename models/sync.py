"""Synchronisation used the way users use it (spec/11-sync.md), each system
with a broken variant that the checker refutes.

`chan-producer-consumers`: a producer sends 1, 2, 3 on a channel of
capacity 1 and closes it; two consumers receive until the end (four
receives each is enough for either to drain it alone); consumer 1 may be
cancelled once, at any point. No item is received twice, and at the end
every item was received by someone (chan.cancel: a consumer cancelled after
the hand-off keeps its item; one cancelled while waiting takes nothing);
everything terminates. Broken: `lossy-channel`, where a consumer cancelled
after the hand-off drops its item, loses one (chan.nothing-lost).

`lock-across-await`: three tasks take a lock, yield while holding it, and
release it. At most one holds it at a time (lock.exclusive), and every
waiter is served (prop.terminates, under weak fairness). Broken:
`two-wake-lock` lets two in; `lock-forgotten-release`, a user's bug, has a
task that never releases, and the checker shows the deadlock.

`event-late-waiter`: a task waits for an event before it is set, the setter
sets it, and two more wait: one spawned after the setter (it runs in the
setter's iteration, after it), one after a yield. All terminate. Broken:
`late-event`, whose flag latches only at the next poll, strands the waiter
that came in the setter's iteration: once the flag latches, a set event
still has a waiter (inv.sync-queues), and nothing will wake it.
"""

from collections import Counter

from refloop.check import Canceller, Property, System, World
from refloop.model import (
    Acquire,
    ChanClose,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    WaitEvent,
    YieldNow,
)
from refloop.model.syncops import END

ITEMS = (1, 2, 3)
PRODUCER = (*(ChanSend("C", i) for i in ITEMS), ChanClose("C"))
CONSUMER = (ChanRecv("C"),) * 4


def _received(w: World) -> Counter[object]:
    got: Counter[object] = Counter()
    for t in w.state.tasks[1:]:
        got.update(x for x in t.log if x != END)
    return got


def received_once(w: World) -> bool:
    return all(n == 1 for n in _received(w).values())


def nothing_lost(w: World) -> bool:
    return _received(w) == Counter(ITEMS)


CHANNEL = System(
    name="chan-producer-consumers",
    tasks=(PRODUCER, CONSUMER, CONSUMER),
    env=(Canceller(1),),
    channels=(("C", 1),),
    always=(Property("chan.once", "no item is received twice", received_once),),
    at_end=(
        Property("chan.nothing-lost", "every item sent is received", nothing_lost),
    ),
    doc="a producer and two consumers on a bounded channel, one cancellable",
)

HOLDER = (Acquire("M"), YieldNow(), Release("M"))


def exclusive(w: World) -> bool:
    inside = [
        t
        for t in w.state.tasks
        if 0 < t.pc < len(t.program) and t.state in ("runnable", "waiting")
    ]
    return len(inside) <= 1


LOCK = System(
    name="lock-across-await",
    tasks=(HOLDER, HOLDER, HOLDER),
    always=(Property("lock.exclusive", "at most one task holds the lock", exclusive),),
    doc="three tasks share a lock across a yield",
)

SETTER = (SetEvent("E"),)
EVENT = System(
    name="event-late-waiter",
    tasks=((WaitEvent("E"),), SETTER, (WaitEvent("E"),), (YieldNow(), WaitEvent("E"))),
    doc="waiters before, during and after an event's set",
)

SYSTEMS = [
    CHANNEL,
    CHANNEL.variant(
        name="chan-lossy",
        policy="lossy-channel",
        expect=("chan.nothing-lost",),
        doc="the same with a channel that loses a cancelled receiver's item",
    ),
    LOCK,
    LOCK.variant(
        name="lock-two-wake",
        policy="two-wake-lock",
        expect=("lock.exclusive",),
        doc="the same with a release that wakes two waiters",
    ),
    LOCK.variant(
        name="lock-forgotten-release",
        tasks=((Acquire("M"), YieldNow()), HOLDER),
        expect=("prop.no-deadlock",),
        doc="a task that never releases: the other waits for ever",
    ),
    EVENT,
    EVENT.variant(
        name="event-late",
        policy="late-event",
        expect=("inv.sync-queues",),
        doc="the same with an event that latches only at the next poll",
    ),
]
