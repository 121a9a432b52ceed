"""One Lock with its Condition, and one Semaphore, used by a few actor tasks
(spec/11-sync.md: sync.lock.*, sync.cond.*, sync.sem.*, sync.fifo,
sync.cancel-waiting, and cancel.runnable where a task is cancelled while it
runs).

An actor is a task that waits, idle, for a command; given one, it runs the
operation to its end (which may take several suspensions), records the
outcome (`OK`, or the name of what it raised), and waits idle again. Where a
task can be switched out is what makes a condition subtle, so the model keeps
the loop's run queue: a task woken goes to its back, and the loop runs the
queue to its end (`settle`).

Rules this module keeps:

1. The state is pure data (`Guard`), and every function returns a new one.
2. A task cancelled while it waits in a queue leaves the queue and resumes
   with Cancelled; one cancelled while it runs (or is queued to run) keeps a
   pending cancellation, raised at its next suspension, without its handler
   being called (an idle actor logs it as `IDLE_CANCELLED`).
3. A cancellation is the task's (`task.cancel()`, the widest) or a cancel
   scope's, one around a `wait()` (`WAIT_SCOPED`): the scope's exit absorbs
   its own Cancelled and drops a request of it still pending; a pending
   request of the task wins over a scope's (spec: cancel.merge).
4. `wait()` releases the lock (handing it on), waits in the condition's
   queue, then takes the lock again in line, whatever happens meanwhile: a
   cancellation while it waits is raised once the lock is taken again; one
   that comes while it takes the lock again is raised at the next
   suspension, and the task joins the lock's line again at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

__all__ = [
    "ACQUIRE",
    "CANCEL",
    "IDLE_CANCELLED",
    "NOTIFY_ALL",
    "OK",
    "RELEASE",
    "SCOPE_CANCEL",
    "SEM_ACQUIRE",
    "SEM_RELEASE",
    "WAIT",
    "WAIT_SCOPED",
    "Actor",
    "Cancel",
    "Do",
    "Guard",
    "Notify",
    "ScopeCancel",
    "cancel",
    "deliver",
    "settle",
    "start",
]

OK: Final = "ok"
IDLE_CANCELLED: Final = "idle-cancelled"

# The operations an actor is given (besides Notify and Cancel).
ACQUIRE: Final = "acquire"
RELEASE: Final = "release"
WAIT: Final = "wait"
# `with CancelScope(): await cond.wait()`
WAIT_SCOPED: Final = "wait_scoped"
NOTIFY_ALL: Final = "notify_all"
SEM_ACQUIRE: Final = "sem_acquire"
SEM_RELEASE: Final = "sem_release"
# Drawn in place of a Cancel or a ScopeCancel, whose victim is drawn next.
CANCEL: Final = "cancel"
SCOPE_CANCEL: Final = "scope_cancel"

# Where an actor is.
IDLE: Final = "idle"
RUNNABLE: Final = "runnable"
LOCKQ: Final = "lock"
CONDQ: Final = "cond"
SEMQ: Final = "sem"
# What a task cancelled while it waits (or idles) does when it runs.
CANCELLED_STEP: Final = {
    IDLE: "idle-cancelled",
    LOCKQ: "lock-cancelled",
    CONDQ: "cond-cancelled",
    SEMQ: "sem-cancelled",
}


@dataclass(frozen=True, slots=True)
class Notify:
    """`cond.notify(n)`"""

    n: int


@dataclass(frozen=True, slots=True)
class Cancel:
    """The actor cancels task `victim` (itself, perhaps) and goes on."""

    victim: int


@dataclass(frozen=True, slots=True)
class ScopeCancel:
    """`scope.cancel()` of the scope around `victim`'s scoped wait; nothing
    once that wait is over (spec: cancel.scope.cancel)."""

    victim: int


# Who a cancellation comes from.
TASK: Final = "task"
SCOPE: Final = "scope"

Op = str | Notify | Cancel | ScopeCancel


@dataclass(frozen=True, slots=True)
class Actor:
    """One task: where it is, and, while runnable, what it does when it runs
    (`step`); `op` is the operation in progress (None when idle)."""

    where: str = IDLE
    step: str = ""
    op: Op | None = None
    # Each None, TASK or SCOPE (who the cancellation comes from):
    pending: str | None = None  # a cancellation for its next suspension
    raising: str | None = None  # wait(): Cancelled once the lock is taken again
    late: str | None = None  # wait(): one that came while taking it again
    thrown: str | None = None  # what it resumes with, cancelled while waiting
    scoped: bool = False  # inside the cancel scope of a WAIT_SCOPED
    scope_cancelled: bool = False  # that scope's cancel() was called
    log: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Guard:
    """The lock (its owner and its line), the condition's waiters, the
    semaphore (its free units and its line), the actors, and the run queue."""

    actors: tuple[Actor, ...]
    sem_initial: int = 1
    bounded: bool = False
    owner: int | None = None
    lock_line: tuple[int, ...] = ()
    cond_line: tuple[int, ...] = ()
    sem_value: int = 1
    sem_line: tuple[int, ...] = ()
    run_queue: tuple[int, ...] = ()


def start(actors: int, sem_initial: int, bounded: bool) -> Guard:
    """`actors` idle tasks, the lock free, the semaphore at `sem_initial`."""
    return Guard(
        actors=(Actor(),) * actors,
        sem_initial=sem_initial,
        bounded=bounded,
        sem_value=sem_initial,
    )


@dataclass(frozen=True, slots=True)
class Do:
    """Give idle actor `actor` the operation `op`."""

    actor: int
    op: Op


def deliver(g: Guard, orders: tuple[Do | Cancel | ScopeCancel, ...]) -> Guard:
    """Each order in turn, from outside the loop (between iterations): an
    operation for an idle actor (it is queued to run it), or a cancellation
    of an actor. Nothing runs until `settle`."""
    for order in orders:
        if isinstance(order, Cancel):
            g = cancel(g, order.victim)
            continue
        if isinstance(order, ScopeCancel):
            g = cancel(g, order.victim, SCOPE)
            continue
        a = g.actors[order.actor]
        assert a.where == IDLE, f"actor {order.actor} is busy: {a}"
        g = _put(g, order.actor, replace(a, where=RUNNABLE, step="start", op=order.op))
        g = replace(g, run_queue=(*g.run_queue, order.actor))
    return g


def cancel(g: Guard, victim: int, by: str = TASK) -> Guard:
    """`task.cancel()`, or with `by=SCOPE` `scope.cancel()` of the scope
    around the victim's wait (spec: cancel.waiting, cancel.runnable,
    cancel.scope.cancel): the victim is then in no line and queued to run
    (once), and the lock stays where it was.

    pre: 0 <= victim < len(g.actors)
    pre: g.actors[victim].where in (IDLE, RUNNABLE, LOCKQ, CONDQ, SEMQ)
    pre: by == TASK or (by == SCOPE and g.actors[victim].scoped)
    pre: by == TASK or not g.actors[victim].scope_cancelled
    pre: g.run_queue.count(victim) == (g.actors[victim].where == RUNNABLE)
    pre: g.actors[victim].where != RUNNABLE or victim not in g.lock_line
    pre: g.actors[victim].where != RUNNABLE or victim not in g.cond_line
    pre: g.actors[victim].where != RUNNABLE or victim not in g.sem_line
    post: victim not in (*__return__.lock_line, *__return__.cond_line)
    post: victim not in __return__.sem_line
    post: __return__.run_queue.count(victim) == 1
    post: __return__.actors[victim].where == RUNNABLE
    post: __return__.owner == g.owner
    """
    a = g.actors[victim]
    if by == SCOPE:
        if not a.scoped or a.scope_cancelled:
            # spec: cancel.scope.cancel (the block is not entered, or is
            # over, or it was cancelled already)
            return g
        a = replace(a, scope_cancelled=True)
    if a.where == RUNNABLE:
        # spec: cancel.runnable
        return _put(g, victim, _requested(a, by))
    # spec: sync.cancel-waiting
    g = replace(
        g,
        lock_line=_without(g.lock_line, victim),
        cond_line=_without(g.cond_line, victim),
        sem_line=_without(g.sem_line, victim),
        run_queue=(*g.run_queue, victim),
    )
    a = replace(a, where=RUNNABLE, step=CANCELLED_STEP[a.where], thrown=by)
    return _put(g, victim, a)


def _requested(a: Actor, by: str | None) -> Actor:
    """A cancellation asked of a runnable task: a pending one of the task
    stays, being the wider (spec: cancel.merge)."""
    if by is None or a.pending == TASK:
        return a
    return replace(a, pending=by)


def settle(g: Guard, limit: int = 10_000) -> Guard:
    """Run the queue until nothing is runnable, oldest first."""
    for _ in range(limit):
        if not g.run_queue:
            return g
        tid, rest = g.run_queue[0], g.run_queue[1:]
        g = _run(replace(g, run_queue=rest), tid)
    raise AssertionError("the actors did not settle")


# ----------------------------------------------------------------- steps


def _run(g: Guard, tid: int) -> Guard:
    a = g.actors[tid]
    match a.step:
        case "start":
            return _begin(g, tid, a.op)
        case "idle-cancelled":
            return _idle(_logged(g, tid, IDLE_CANCELLED), tid)
        case "acquired" if a.op in (WAIT, WAIT_SCOPED):
            return _retaken(g, tid)
        case "acquired" | "sem-acquired":
            return _done(g, tid, OK)
        case "lock-cancelled":
            if a.op in (WAIT, WAIT_SCOPED):
                # Cancelled while taking the lock again: in line again, at its
                # end; the first such cancellation is the one kept.
                g = _put(g, tid, replace(a, late=a.late or a.thrown, thrown=None))
                return _reacquire(g, tid)
            return _done(g, tid, "Cancelled")
        case "sem-cancelled":
            return _done(g, tid, "Cancelled")
        case "notified":
            return _reacquire(g, tid)
        case "cond-cancelled":
            g = _put(g, tid, replace(a, raising=a.thrown, thrown=None))
            return _reacquire(g, tid)
        case _:
            raise AssertionError(f"unknown step {a.step!r}")


def _begin(g: Guard, tid: int, op: Op | None) -> Guard:
    if isinstance(op, Cancel):
        return _done(cancel(g, op.victim), tid, OK)
    if isinstance(op, ScopeCancel):
        return _done(cancel(g, op.victim, SCOPE), tid, OK)
    if isinstance(op, Notify) or op == NOTIFY_ALL:
        if g.owner != tid:
            # spec: sync.cond.hold
            return _done(g, tid, "LoopError")
        n = len(g.cond_line) if op == NOTIFY_ALL else op.n  # type: ignore[union-attr]
        if n < 0:
            # spec: sync.cond.notify (a count of 0 or more; nothing changed)
            return _done(g, tid, "ValueError")
        woken, kept = g.cond_line[:n], g.cond_line[n:]
        # spec: sync.cond.notify
        g = replace(g, cond_line=kept, run_queue=(*g.run_queue, *woken))
        for w in woken:
            g = _put(g, w, replace(g.actors[w], where=RUNNABLE, step="notified"))
        return _done(g, tid, OK)
    if op == ACQUIRE:
        if g.owner is None:
            # spec: sync.lock.acquire
            return _done(replace(g, owner=tid), tid, OK)
        if g.owner == tid:
            # spec: sync.lock.owner
            return _done(g, tid, "LoopError")
        return _suspend(g, tid, LOCKQ)
    if op == RELEASE:
        if g.owner != tid:
            # spec: sync.lock.owner
            return _done(g, tid, "LoopError")
        return _done(_hand_on(g), tid, OK)
    if op in (WAIT, WAIT_SCOPED):
        if op == WAIT_SCOPED:
            # spec: cancel.scope.cancel (the block is entered)
            g = _put(g, tid, replace(g.actors[tid], scoped=True))
        if g.owner != tid:
            # spec: sync.cond.hold
            return _done(g, tid, "LoopError")
        # spec: sync.cond.wait
        return _suspend(_hand_on(g), tid, CONDQ)
    if op == SEM_ACQUIRE:
        if g.sem_value > 0:
            # spec: sync.sem.value
            return _done(replace(g, sem_value=g.sem_value - 1), tid, OK)
        return _suspend(g, tid, SEMQ)
    if op == SEM_RELEASE:
        if g.bounded and g.sem_value >= g.sem_initial:
            # spec: sync.sem.bounded
            return _done(g, tid, "ValueError")
        if g.sem_line:
            # spec: sync.sem.handoff
            first, rest = g.sem_line[0], g.sem_line[1:]
            g = replace(g, sem_line=rest, run_queue=(*g.run_queue, first))
            handed = replace(g.actors[first], where=RUNNABLE, step="sem-acquired")
            g = _put(g, first, handed)
            return _done(g, tid, OK)
        return _done(replace(g, sem_value=g.sem_value + 1), tid, OK)
    raise AssertionError(f"unknown operation {op!r}")


def _hand_on(g: Guard) -> Guard:
    """The lock released: to the oldest in its line, or free."""
    if not g.lock_line:
        return replace(g, owner=None)
    # spec: sync.lock.handoff
    first, rest = g.lock_line[0], g.lock_line[1:]
    g = replace(g, owner=first, lock_line=rest, run_queue=(*g.run_queue, first))
    return _put(g, first, replace(g.actors[first], where=RUNNABLE, step="acquired"))


def _suspend(g: Guard, tid: int, line: str) -> Guard:
    """The running actor waits at the end of `line`, unless a cancellation
    is pending: then it is raised at once, in the same step (spec:
    cancel.runnable)."""
    a = g.actors[tid]
    if a.pending:
        a = replace(a, pending=None, thrown=a.pending, step=CANCELLED_STEP[line])
        return _run(_put(g, tid, a), tid)
    g = _put(g, tid, replace(a, where=line))
    # spec: sync.fifo
    if line == LOCKQ:
        return replace(g, lock_line=(*g.lock_line, tid))
    if line == CONDQ:
        return replace(g, cond_line=(*g.cond_line, tid))
    return replace(g, sem_line=(*g.sem_line, tid))


def _reacquire(g: Guard, tid: int) -> Guard:
    """wait() takes the lock again: at once if it is free, else in line."""
    if g.owner is None:
        return _retaken(replace(g, owner=tid), tid)
    return _suspend(g, tid, LOCKQ)


def _retaken(g: Guard, tid: int) -> Guard:
    """wait() holds the lock again: it returns, or raises the Cancelled that
    came while it waited; one that came while it took the lock again is
    pending (spec: sync.cond.wait)."""
    a = _requested(g.actors[tid], g.actors[tid].late)
    # spec: sync.cond.notified-wins
    g = _put(g, tid, a)
    if a.raising == SCOPE:
        # spec: cancel.scope.cancel (the scope's exit absorbs its own)
        return _done(g, tid, OK)
    return _done(g, tid, "Cancelled" if a.raising else OK)


def _done(g: Guard, tid: int, outcome: str) -> Guard:
    a = g.actors[tid]
    if a.pending == SCOPE:
        # The scope's exit drops its request (spec: cancel.scope.cancel).
        a = replace(a, pending=None)
    a = replace(a, raising=None, late=None, op=None)
    g = _put(g, tid, replace(a, scoped=False, scope_cancelled=False))
    return _idle(_logged(g, tid, outcome), tid)


def _idle(g: Guard, tid: int) -> Guard:
    """The actor waits for a command; a pending cancellation is raised
    there first (logged), then it waits."""
    a = g.actors[tid]
    if a.pending:
        a = replace(a, pending=None, log=(*a.log, IDLE_CANCELLED))
    return _put(g, tid, replace(a, where=IDLE, step=""))


def _logged(g: Guard, tid: int, outcome: str) -> Guard:
    a = g.actors[tid]
    return _put(g, tid, replace(a, log=(*a.log, outcome)))


def _put(g: Guard, tid: int, a: Actor) -> Guard:
    return replace(g, actors=(*g.actors[:tid], a, *g.actors[tid + 1 :]))


def _without(line: tuple[int, ...], tid: int) -> tuple[int, ...]:
    return tuple(x for x in line if x != tid)
