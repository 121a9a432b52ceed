"""The invariants, each named once by its spec id.

The model checker evaluates them in every state it reaches, the stateful
test after every step (on the model and on the abstraction of the real
loop), and spec/ defines them under the same ids.
"""

from __future__ import annotations

from collections.abc import Callable

from .state import (
    DONE,
    FAILED,
    JOIN,
    POOL,
    READ,
    RUNNABLE,
    THREAD,
    WAITING,
    WRITE,
    State,
)
from .sync import sync_queues
from .syncops import SYNC_KINDS

__all__ = ["INVARIANTS", "violated"]


# spec: inv.one-place
def one_place(s: State) -> bool:
    """Every unfinished task is in exactly one place: the run queue (runnable)
    or one waiter or timer (waiting); a finished task is in neither."""
    # Counted with plain dicts: collections.Counter costs the model checker,
    # which judges every state it numbers, several times as much.
    queued: dict[int, int] = {}
    for tid in s.run_queue:
        queued[tid] = queued.get(tid, 0) + 1
    parked: dict[int, int] = {}
    sleeping = [tm.tid for tm in s.timers if tm.scope < 0 and tm.call < 0]
    for tid in (*[w.tid for w in s.waiters], *sleeping, *s.idle, *s.posted):
        parked[tid] = parked.get(tid, 0) + 1
    for t in s.tasks:
        where = (queued.get(t.tid, 0), parked.get(t.tid, 0))
        if t.state == RUNNABLE and where != (1, 0):
            return False
        if t.state == WAITING and where != (0, 1):
            return False
        if t.state in (DONE, FAILED) and where != (0, 0):
            return False
    return True


# spec: inv.one-resume
def one_resume(s: State) -> bool:
    """No task is resumed twice: it stands in the run queue at most once."""
    return len(set(s.run_queue)) == len(s.run_queue)


# spec: inv.one-waiter
def one_waiter(s: State) -> bool:
    """At most one waiter per (socket, direction)."""
    keys = [(w.kind, w.target) for w in s.waiters if w.kind in (READ, WRITE)]
    return len(set(keys)) == len(keys)


# spec: inv.waiter-live
def waiter_live(s: State) -> bool:
    """Every waiter belongs to a waiting task and an open socket (or, for a
    join, an unfinished task)."""
    names = {sk.name: sk for sk in s.sockets}
    for w in s.waiters:
        if not 0 <= w.tid < len(s.tasks) or s.tasks[w.tid].state != WAITING:
            return False
        if w.kind in (THREAD, POOL) or w.kind in SYNC_KINDS:
            continue  # a synchronisation waiter: see inv.sync-queues
        if w.kind == JOIN:
            if not isinstance(w.target, int) or not 0 <= w.target < len(s.tasks):
                return False
            if s.tasks[w.target].state in (DONE, FAILED):
                return False
        else:
            found = names.get(str(w.target))
            if found is None or found.closed:
                return False
    return True


# spec: inv.timer-live
def timer_live(s: State) -> bool:
    """Every pending sleep, idle call and posted call belongs to a waiting
    task; every timeout scope's timer to an unfinished task with that scope
    open; every pending callback (a timer, an idle call or a posted call)
    has not run yet."""
    sleeps = [tm.tid for tm in s.timers if tm.scope < 0 and tm.call < 0]
    tids = sleeps + [t for t in (*s.idle, *s.posted) if t >= 0]
    if not all(
        0 <= tid < len(s.tasks) and s.tasks[tid].state == WAITING for tid in tids
    ):
        return False
    return all(
        0 <= tm.tid < len(s.tasks)
        and s.tasks[tm.tid].state in (RUNNABLE, WAITING)
        and tm.scope in s.tasks[tm.tid].scopes
        for tm in s.timers
        if tm.scope >= 0
    ) and all(
        n not in s.called
        for n in (
            *(tm.call for tm in s.timers if tm.call >= 0),
            *(~t for t in (*s.idle, *s.posted) if t < 0),
        )
    )


# spec: inv.capacity
def capacity(s: State) -> bool:
    """No stream holds more unread outbound bytes than its capacity."""
    return all(len(sk.outbound) <= s.capacity for sk in s.sockets)


INVARIANTS: dict[str, Callable[[State], bool]] = {
    "inv.one-place": one_place,
    "inv.one-resume": one_resume,
    "inv.one-waiter": one_waiter,
    "inv.waiter-live": waiter_live,
    "inv.timer-live": timer_live,
    "inv.capacity": capacity,
    "inv.sync-queues": sync_queues,
}


def violated(s: State) -> list[str]:
    """The ids of the invariants `s` breaks, in the order above."""
    return [rule for rule, holds in INVARIANTS.items() if not holds(s)]
