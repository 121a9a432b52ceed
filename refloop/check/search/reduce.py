"""The reductions, each sound for what it is used for, each switchable.

Macro-steps (`macro`): a step of the loop that reads and writes nothing the
environment can still change commutes with every environment step, now and
after any sequence of them; exploring the environment before it adds only
orders of independent steps. So where the loop's next step is independent,
the checker takes it alone, and does not even store the state it leaves
(the step is merged into the one before). A state whose merged successor
was seen before is expanded in full, so the environment is never postponed
around a cycle.

Independence is judged from what the step did, against the facets the
environment may still touch (`refloop.check.systems.env`), and uses that the
environment only ever adds to what the loop receives and only takes away
from what it sent: a receive that got all the bytes it asked for, an accept
that found a connection, a waiter already ready, a timer already due, stay
so whatever the environment does next.

Cancels and posts (refloop.check.systems.actors) act on tasks, not sockets, and
the loop reads what they change at every turn, so the judgement for them
is coarse and errs towards dependence:

- The poll depends on ("posted", ""), since it drains the posted calls,
  and on ("task", t) for every unfinished task t, since a cancel of a
  waiting task queues it before or after the poll's wakeups (and changes
  the size of the drain's snapshot), and a timeout scope's firing is itself
  a cancel that a plain one overrides or is overridden by.
- A run of task u depends on ("task", u): a cancel changes what u's next
  suspension does, or (after u parks) wakes it.
- It depends on ("task", t) for every task t waiting in `before` if it
  appended to the run queue at all: a cancel of t appends t, so the two
  orders queue differently (this covers every wakeup the run causes: a
  close's, a join's). And if it touched a socket facet that t waits on: a
  cancel of t frees that (socket, direction), which changes whether u's
  wait there parks or fails (io.wait.one-per-direction).
- A run that parks u on `AwaitThread` depends on ("posted", ""): it enables
  a post. No other run reads the threads' holds or the posted queue.

Otherwise a cancel of a task t other than u commutes with u's run: it sets
a flag on t that only t's run and the poll read, or removes t's entries
from tables that u's run only appends to (timers, waiters), and neither
enables nor disables the other (a Canceller is enabled while its task has
not finished, which only the task's own run changes). A post commutes with
every run but the one that enables it: it moves one hold to the posted
queue, and a run neither reads nor writes either.

Symmetry (`symmetry`, safety only): tasks with identical programs are
interchangeable; a state is replaced by the one whose tasks of each group
are numbered in a canonical order.
"""

from __future__ import annotations

from typing import assert_never

from ...model import (
    DONE,
    FAILED,
    JOIN,
    READ,
    THREAD,
    WAITING,
    Accept,
    AwaitThread,
    CancelScopes,
    Close,
    EndCancelScope,
    EndMoveOnAfter,
    Event,
    InThread,
    Join,
    MoveOnAfter,
    OnClose,
    OpenCancelScope,
    Recv,
    Send,
    SendAll,
    Sleep,
    State,
    Suspend,
    SyncCall,
    Waiter,
    WaitIdle,
    YieldNow,
    event,
    is_ready,
    sock,
)
from ..systems.env import Facet

__all__ = ["canonical", "normalise", "touches", "waited"]


def _facet(s: State, w: Waiter) -> Facet | None:
    if w.kind in (JOIN, THREAD):
        return None
    return ("in" if w.kind == READ else "out", str(w.target))


def _poll_touches(s: State) -> tuple[list[Facet], list[Facet]]:
    """A poll depends on the waiters not ready yet; those already ready stay
    ready, and the poll's wakeups are exits of the liveness properties
    anyway, so it hides nothing from them. It depends on every cancel and
    post (see the module's docstring)."""
    unstable: list[Facet] = []
    for w in s.waiters:
        facet = _facet(s, w)
        if facet is not None and not is_ready(s, w):
            unstable.append(facet)
    if any(tm.when > s.now for tm in s.timers):
        unstable.append(("clock", ""))
    unstable.append(("posted", ""))
    live = [t.tid for t in s.tasks if t.state not in (DONE, FAILED)]
    unstable += [("task", str(tid)) for tid in live]
    return unstable, unstable


def _run_touches(
    before: State, after: State, tid: int
) -> tuple[list[Facet], list[Facet]] | None:
    """The facets a task's run depended on (unstable) and all it touched;
    None if that cannot be told."""
    t0, t1 = before.tasks[tid], after.tasks[tid]
    if t0.throw is not None:
        # Raised at once, unless a timeout scope absorbed it and the task
        # went on after the scope's end: that cannot be told here.
        return ([], []) if t1.state == FAILED and t1.pc == t0.pc else None
    program = t0.program
    executed = list(program[t0.pc : t1.pc])
    parked = t1.state == WAITING and any(
        w.tid == tid and w.kind != THREAD for w in after.waiters
    )
    # The operation the task parked on, is part way through, or failed at
    # (a receive that found nothing and was cancelled there read the socket).
    if t1.pc < len(program) and (parked or t1.offset > 0 or t1.state == FAILED):
        executed.append(program[t1.pc])
    results = iter(t1.log[len(t0.log) :])
    unstable: list[Facet] = []
    touched: list[Facet] = []
    for i, op in enumerate(executed):
        last = t0.pc + i == t1.pc
        match op:
            case Recv():
                got = None if last else next(results)
                touched.append(("in", op.sock))
                gone = sock(before, op.sock)
                stable = gone is not None and gone.peer_closed
                if not stable and not (isinstance(got, bytes) and len(got) == op.n):
                    unstable.append(("in", op.sock))
            case Send() | SendAll():
                if not last:
                    next(results)
                unstable.append(("out", op.sock))
            case Accept():
                touched.append(("in", op.sock))
                if last:
                    unstable.append(("in", op.sock))
                else:
                    next(results)
            case Join():
                if not last:
                    next(results)
            case Close():
                unstable += [("in", op.sock), ("out", op.sock)]
            case Sleep():
                unstable.append(("clock", ""))
            case AwaitThread():
                unstable.append(("posted", ""))
            case YieldNow() | WaitIdle():
                pass
            case InThread():
                # No system runs pool jobs (the stateful test does): not
                # judged.
                return None
            case Suspend():
                # A raising handler fails the task (no system uses it yet):
                # not judged.
                return None
            case (
                MoveOnAfter()
                | EndMoveOnAfter()
                | OpenCancelScope()
                | EndCancelScope()
                | CancelScopes()
                | OnClose()
            ):
                # A scope's timer and what its firing does, a shield's held
                # request, another task's cancellation: not judged.
                return None
            case SyncCall():
                # What the primitives hold is the loop's alone, but a
                # hand-off queues another task: not judged.
                return None
            case _:
                assert_never(op)
    unstable += _task_facets(before, after, tid, touched + unstable)
    return unstable, touched + unstable


def _task_facets(
    before: State, after: State, tid: int, touched: list[Facet]
) -> list[Facet]:
    """The tasks whose cancellation a run of task tid depends on (see the
    module's docstring)."""
    found: list[Facet] = [("task", str(tid))]
    queued = len(after.run_queue) >= len(before.run_queue)
    for t in before.tasks:
        if t.tid == tid or t.state != WAITING:
            continue
        held = (_facet(before, w) for w in before.waiters if w.tid == t.tid)
        if queued or any(f in touched for f in held if f is not None):
            found.append(("task", str(t.tid)))
    return found


def touches(
    before: State, after: State, events: tuple[Event, ...]
) -> tuple[frozenset[Facet], frozenset[Facet]] | None:
    """What a loop step depended on and what it touched at all: the facets
    the environment must not change before it (for it to be independent of
    the environment), and the facets it read or wrote even where the result
    could not change (for it not to hide a change of readiness from the
    liveness properties). None: the step cannot be judged."""
    if not events:
        return None
    found: tuple[list[Facet], list[Facet]] | None
    match events[0]:
        case event.Poll():
            found = _poll_touches(before)
        case event.Run(tid):
            found = _run_touches(before, after, tid)
        case (
            event.Wake()
            | event.Fire()
            | event.Idle()
            | event.Report()
            | event.Spawn()
            | event.PeerRecv()
        ):
            # A step that did not poll (tick.poll-skip), or not the loop's.
            return None
        case unknown:
            assert_never(unknown)
    if found is None:
        return None
    return frozenset(found[0]), frozenset(found[1])


def waited(s: State) -> frozenset[Facet]:
    """The facets whose change would change some waiter's readiness."""
    return frozenset(f for w in s.waiters if (f := _facet(s, w)) is not None)


def normalise(s: State, forever: dict[int, int]) -> State:
    """Fold each Forever task's pc back into its first period (see Forever)."""
    for tid, period in forever.items():
        t = s.tasks[tid]
        if t.pc >= period or t.log:
            t = t._replace(pc=t.pc % period if t.pc >= period else t.pc, log=())
            s = s._replace(tasks=(*s.tasks[:tid], t, *s.tasks[tid + 1 :]))
    return s


# spec: prop.reduce.symmetry
def canonical(s: State, groups: tuple[tuple[int, ...], ...]) -> State:
    """The representative of `s` under swapping tasks within each group."""
    for group in groups:
        here = s
        order = sorted(group, key=lambda tid: _signature(here, tid))
        rename = dict(zip(order, sorted(group), strict=True))
        if all(a == b for a, b in rename.items()):
            continue
        s = _renamed(s, rename)
    return s


def _signature(s: State, tid: int) -> str:
    """Everything about a task but its number, including where it stands."""
    t = s.tasks[tid]._replace(tid=0)
    queued = [i for i, q in enumerate(s.run_queue) if q == tid]
    parked = [i for i, w in enumerate(s.waiters) if w.tid == tid]
    timed = [i for i, tm in enumerate(s.timers) if tm.tid == tid]
    reported = [i for i, r in enumerate(s.reported) if r == tid]
    # What it holds of the primitives (spec/11-sync.md).
    owns = [lock for lock, owner in s.locks if owner == tid]
    handed = [item for owner, item in s.handed if owner == tid]
    return repr((t, queued, parked, timed, reported, owns, handed))


def _renamed(s: State, rename: dict[int, int]) -> State:
    def r(tid: int) -> int:
        return rename.get(tid, tid)

    tasks = list(s.tasks)
    for old, new in rename.items():
        tasks[new] = s.tasks[old]._replace(tid=new)
    return s._replace(
        tasks=tuple(tasks),
        run_queue=tuple(r(t) for t in s.run_queue),
        waiters=tuple(w._replace(tid=r(w.tid)) for w in s.waiters),
        timers=tuple(tm._replace(tid=r(tm.tid)) for tm in s.timers),
        reported=tuple(r(t) for t in s.reported),
        locks=tuple((lock, r(t)) for lock, t in s.locks),
        handed=tuple((r(t), item) for t, item in s.handed),
    )
