"""The transitions: pure functions from a state (and an input) to a state.

Rules this file obeys:

1. Everything the loop does to a State happens here, and nothing here reads
   a clock, a socket or a random source: the loop's transitions (`spawn`,
   `run_once`, and `cancel`, which code outside a task calls) are
   deterministic. What the environment does (`peer_*`, `advance`,
   `thread_post`) is in refloop.model.environment, what both read in
   refloop.model.queries.
2. Each function cites the spec rule it carries, one line before the code.

Theory of operation: `run_once` is one loop iteration. It polls (the poll
would block when nothing is runnable), wakes the ready waiters oldest first,
then runs the tasks that were runnable when the drain began. Running a task
(refloop.model.running) interprets its program from `pc` until the task
suspends (waits on a socket or a join, yields, or spends its budget) or
finishes; refloop.model.update holds the small updates all of them share.
"""

from __future__ import annotations

from .callbacks import run_callback
from .cancelling import deflecting, request, width
from .events import Event, event
from .handlers import interrupted
from .programs import Op
from .queries import ModelError, due_timers, is_ready, well_formed
from .running import run_task
from .state import (
    DONE,
    FAILED,
    READ,
    RUNNABLE,
    WAITING,
    WRITE,
    State,
    Task,
    Timer,
    Waiter,
)
from .update import enqueue, put_task

__all__ = ["begin", "cancel", "run_next", "run_once", "spawn"]

# What the contracts in the docstrings read besides this module's own names
# (CrossHair evaluates them in this module's names).
_CONTRACTS_READ = (well_formed,)


# ------------------------------------------------------------------ loop actions


def spawn(s: State, program: tuple[Op, ...]) -> tuple[State, int]:
    """A new task, at the back of the run queue.

    post: __return__[0].run_queue == (*s.run_queue, __return__[1])
    post: __return__[0].tasks[:-1] == s.tasks
    post: __return__[0]._replace(tasks=s.tasks, run_queue=s.run_queue) == s
    """
    tid = len(s.tasks)
    # spec: spawn
    s = s._replace(
        tasks=(*s.tasks, Task(tid, tuple(program))), run_queue=(*s.run_queue, tid)
    )
    return s, tid


def run_once(s: State, timeout: float | None = None) -> tuple[State, tuple[Event, ...]]:
    """One iteration: poll (waiting at most `timeout` ticks; None: without
    limit), wake, drain a snapshot of the run queue. A callback that raises
    a BaseException ends the iteration where it raised
    (timer.callback-base-exception): nothing after it runs; so does a task
    that lets a KeyboardInterrupt escape (cont.handler-base-exception): the
    rest of the snapshot stays first in the run queue."""
    s, first, escaped = _begin(s, timeout)
    events = list(first)
    if escaped:
        return s, tuple(events)
    # spec: tick.ready-snapshot
    for _ in range(len(s.run_queue)):
        tid = s.run_queue[0]
        s, ran = run_next(s)
        events += ran
        if interrupted(s, tid):
            # spec: cont.handler-base-exception
            break
    return s, tuple(events)


def begin(s: State) -> tuple[State, tuple[Event, ...]]:
    """The iteration up to its drain: everything run_once does before it
    runs the tasks queued (a helper for tools that step through an
    iteration; run_once is `begin`, then `run_next` once per queued task,
    unless a callback's BaseException ended the iteration in `begin`, or
    until a task's KeyboardInterrupt ends it: refloop.model.handlers)."""
    s, events, _ = _begin(s, None)
    return s, events


def _begin(s: State, limit: float | None) -> tuple[State, tuple[Event, ...], bool]:
    """`begin`, and whether a callback's BaseException ended the iteration."""
    # spec: tick.poll-timeout
    timeout = _poll_timeout(s, limit)
    # spec: tick.poll-skip
    polls = timeout != 0 or any(w.kind in (READ, WRITE) for w in s.waiters)
    events: list[Event] = [event.Poll(timeout)] if polls else []
    if s.posted:
        # spec: thread.post
        posted, s = s.posted, s._replace(posted=())
        for i, tid in enumerate(posted):
            if tid < 0:
                # A posted call has no handle: nothing withdraws it.
                s, escaped, _ = run_callback(s, ~tid, cancel)
                if escaped:
                    # spec: thread.post.callback-error
                    rest = tuple(p for p in posted[i + 1 :] if _live(s, p, set()))
                    return s._replace(posted=(*rest, *s.posted)), tuple(events), True
            elif s.tasks[tid].state == WAITING:
                s = enqueue(s, s.tasks[tid], None)
    ready = [w for w in s.waiters if is_ready(s, w)]
    if ready:
        # spec: tick.wake-order
        s = s._replace(waiters=tuple(w for w in s.waiters if w not in ready))
        for w in ready:
            events.append(event.Wake(w.tid))
            s = enqueue(s, s.tasks[w.tid], None)
    due = due_timers(s)
    if due:
        # spec: timer.fire
        s = s._replace(timers=tuple(tm for tm in s.timers if tm not in due))
        withdrawn: set[int] = set()
        for i, tm in enumerate(due):
            if tm.call >= 0:
                if tm.call in withdrawn:
                    continue
                s, escaped, gone = run_callback(s, tm.call, cancel)
                withdrawn.add(gone)  # -1 (none) matches no callback
                if escaped:
                    # spec: timer.callback-base-exception
                    late = [
                        t for t in due[i + 1 :] if t.call < 0 or t.call not in withdrawn
                    ]
                    return _restore(s, late), tuple(events), True
                continue
            if tm.scope < 0:
                if s.tasks[tm.tid].state != WAITING:
                    continue  # cancelled by a timer that fired before it
                events.append(event.Fire(tm.tid))
                s = enqueue(s, s.tasks[tm.tid], None)
            else:
                events.append(event.Fire(tm.tid))
                # spec: cancel.scope.timeout
                t = s.tasks[tm.tid]
                s = put_task(s, t._replace(fired=(*t.fired, tm.scope)))
                s = cancel(s, tm.tid, tm.scope)
    if s.idle and not s.run_queue:
        # spec: idle
        # spec: idle.snapshot
        idle, s = s.idle, s._replace(idle=())
        dropped: set[int] = set()
        for i, tid in enumerate(idle):
            if tid < 0:
                if ~tid in dropped:
                    continue  # withdrawn by a call before it in the batch
                s, escaped, gone = run_callback(s, ~tid, cancel)
                dropped.add(gone)
                if escaped:
                    # spec: idle.callback-error
                    rest = tuple(x for x in idle[i + 1 :] if _live(s, x, dropped))
                    return s._replace(idle=(*rest, *s.idle)), tuple(events), True
            elif s.tasks[tid].state == WAITING:
                events.append(event.Idle(tid))
                s = enqueue(s, s.tasks[tid], None)
    return s, tuple(events), False


def _live(s: State, entry: int, withdrawn: set[int]) -> bool:
    """An idle or posted entry (a task, or ~n for callback n) still pending
    after the calls before it in its batch ran."""
    if entry < 0:
        return ~entry not in withdrawn
    return s.tasks[entry].state == WAITING


def _restore(s: State, rest: list[Timer]) -> State:
    """The due timers that had not fired when a callback raised stay
    pending and due, first in firing order; those cancelled meanwhile go."""
    kept = tuple(
        tm
        for tm in rest
        if tm.call >= 0 or tm.scope >= 0 or s.tasks[tm.tid].state == WAITING
    )
    return s._replace(timers=(*kept, *s.timers))


# The longest a poll waits, in ticks (one day; Loop._max_poll).
MAX_POLL = 86400


def _poll_timeout(s: State, limit: float | None = None) -> float | None:
    """How long the poll waits: not at all when a task is runnable or an
    idle call pending, else until the nearest timer or `limit` (run_once's
    timeout), whichever comes first, and never more than a day."""
    if s.run_queue or s.idle:
        return 0
    wait = limit
    if s.timers:
        # spec: timer.poll-timeout
        until = max(0, min(tm.when for tm in s.timers) - s.now)
        wait = until if wait is None or until < wait else wait
    if wait is None:
        return None
    # spec: tick.poll-clamp
    # spec: timer.infinite
    return min(wait, MAX_POLL)


def cancel(s: State, tid: int, scope: int = -1) -> State:
    """`task.cancel()`: from code outside the task (scope -1), by the
    timeout scope opened at pc `scope` when its timer fires, or by
    `scope.cancel()` of the CancelScope opened there (the body is
    refloop.model.cancelling's `request`).

    pre: well_formed(s)
    pre: 0 <= tid < len(s.tasks)
    pre: scope == -1 or scope in s.tasks[tid].scopes
    post: well_formed(__return__)
    post: _shielded(s.tasks[tid], scope) or __return__.tasks[tid].state != WAITING
    post: _shielded(s.tasks[tid], scope) or all(w.tid != tid for w in _w(__return__))
    post: __return__.run_queue[: len(s.run_queue)] == s.run_queue
    post: all(a == b or a.tid == tid for a, b in zip(s.tasks, __return__.tasks))
    post: _merged(s.tasks[tid], scope, __return__.tasks[tid])
    """
    if not 0 <= tid < len(s.tasks):
        raise ModelError(f"there is no task {tid} to cancel")
    return request(s, tid, scope)


def _w(s: State) -> tuple[Waiter, ...]:
    return s.waiters


def _shielded(t: Task, scope: int) -> bool:
    """cancel.shield, for the contracts: a shield of `t` takes the request."""
    return t.state not in (DONE, FAILED) and deflecting(t, scope) is not None


def _merged(before: Task, scope: int, after: Task) -> bool:
    """cancel.merge, as a contract: a runnable task asked twice keeps the
    wider request of the two (unless a shield takes the second)."""
    if before.state != RUNNABLE or not before.cancelling or _shielded(before, scope):
        return True
    wider = min(width(before, before.cancel_scope), width(before, scope))
    return after.cancelling and width(before, after.cancel_scope) == wider


# ------------------------------------------------------------------ steps
# For tools that step through an iteration one task at a time (the model
# checker): run_once is `begin`, then `run_next` once per queued task.


def run_next(s: State) -> tuple[State, tuple[Event, ...]]:
    """Take the task at the front of the run queue and run it until it
    suspends or finishes: one step of the drain.

    pre: well_formed(s)
    pre: len(s.run_queue) > 0
    raises: ModelError
    post: well_formed(__return__[0])
    post: __return__[0].run_queue[: len(s.run_queue) - 1] == s.run_queue[1:]
    post: __return__[0].now == s.now
    """
    events: list[Event] = []
    tid = s.run_queue[0]
    s = run_task(s._replace(run_queue=s.run_queue[1:]), tid, events)
    return s, tuple(events)
