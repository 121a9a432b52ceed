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
interprets its program from `pc` until the task suspends (waits on a socket
or a join, yields, or spends its budget) or finishes.
"""

from __future__ import annotations

from typing import assert_never

from .callbacks import run_callback
from .events import Event, event
from .programs import (
    Accept,
    AwaitThread,
    Close,
    EndMoveOnAfter,
    Join,
    MoveOnAfter,
    Op,
    Recv,
    Send,
    SendAll,
    Sleep,
    WaitIdle,
    YieldNow,
    matching_end,
)
from .queries import ModelError, due_timers, is_ready, sock, well_formed
from .state import (
    DONE,
    FAILED,
    JOIN,
    READ,
    RUNNABLE,
    THREAD,
    WAITING,
    WRITE,
    Sock,
    State,
    Task,
    Timer,
    Waiter,
)
from .sync import execute as execute_sync
from .syncops import (
    Acquire,
    ChanClose,
    ChanRecv,
    ChanSend,
    Release,
    SetEvent,
    WaitEvent,
)

__all__ = ["begin", "cancel", "run_next", "run_once", "spawn"]

# What the contracts in the docstrings read besides this module's own names
# (CrossHair evaluates them in this module's names).
_CONTRACTS_READ = (well_formed,)

# What executing one operation did to the task:
_NEXT = "next"  # completed (or made progress); interpret on
_PARKED = "parked"  # suspended: waiting, or back in the run queue
_CANCELLED_HERE = "cancelled here"  # the task's own Cancelled, at a suspension


def _put_sock(s: State, new: Sock) -> State:
    sockets = tuple(new if old.name == new.name else old for old in s.sockets)
    if sockets == s.sockets and sock(s, new.name) is None:
        sockets = (*s.sockets, new)
    return s._replace(sockets=sockets)


def _put_task(s: State, t: Task) -> State:
    return s._replace(tasks=(*s.tasks[: t.tid], t, *s.tasks[t.tid + 1 :]))


def _stream(s: State, name: str) -> Sock:
    found = sock(s, name)
    if found is None or found.listener or found.closed:
        raise ModelError(f"{name!r} is not an open stream socket in this state")
    return found


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


def run_once(s: State) -> tuple[State, tuple[Event, ...]]:
    """One iteration: poll, wake, drain a snapshot of the run queue. A
    callback that raises a BaseException ends the iteration where it
    raised (timer.callback-base-exception): nothing after it runs."""
    s, first, escaped = _begin(s)
    events = list(first)
    if escaped:
        return s, tuple(events)
    # spec: tick.ready-snapshot
    for _ in range(len(s.run_queue)):
        s, ran = run_next(s)
        events += ran
    return s, tuple(events)


def begin(s: State) -> tuple[State, tuple[Event, ...]]:
    """The iteration up to its drain: everything run_once does before it
    runs the tasks queued (a helper for tools that step through an
    iteration; run_once is `begin`, then `run_next` once per queued task,
    unless a callback's BaseException ended the iteration in `begin`)."""
    s, events, _ = _begin(s)
    return s, events


def _begin(s: State) -> tuple[State, tuple[Event, ...], bool]:
    """`begin`, and whether a callback's BaseException ended the iteration."""
    # spec: tick.poll-timeout
    timeout = _poll_timeout(s)
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
                s = _enqueue(s, s.tasks[tid], None)
    ready = [w for w in s.waiters if is_ready(s, w)]
    if ready:
        # spec: tick.wake-order
        s = s._replace(waiters=tuple(w for w in s.waiters if w not in ready))
        for w in ready:
            events.append(event.Wake(w.tid))
            s = _enqueue(s, s.tasks[w.tid], None)
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
                s = _enqueue(s, s.tasks[tm.tid], None)
            else:
                events.append(event.Fire(tm.tid))
                # spec: cancel.scope.timeout
                t = s.tasks[tm.tid]
                s = _put_task(s, t._replace(fired=(*t.fired, tm.scope)))
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
                s = _enqueue(s, s.tasks[tid], None)
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


def _poll_timeout(s: State) -> float | None:
    if s.run_queue or s.idle:
        return 0
    if s.timers:
        # spec: timer.poll-timeout
        wait = max(0, min(tm.when for tm in s.timers) - s.now)
        # spec: tick.poll-clamp
        # spec: timer.infinite
        return min(wait, MAX_POLL)
    return None


def _enqueue(s: State, t: Task, throw: str | None) -> State:
    # spec: cont.resume-enqueues
    t = t._replace(state=RUNNABLE, throw=throw)
    return _put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid))


def _run_task(s: State, tid: int, events: list[Event]) -> State:
    events.append(event.Run(tid))
    t = s.tasks[tid]
    if t.throw is not None:
        error, scope = t.throw, t.throw_scope
        t = t._replace(throw=None, throw_scope=-1)
        s, t, verdict = _raise(s, t, error, scope)
        if verdict != _NEXT:
            return _finish(s, t, verdict, events)
    while t.pc < len(t.program):
        s, t, verdict = _execute(s, t, t.program[t.pc])
        if verdict == _PARKED:
            return s
        if verdict == _CANCELLED_HERE:
            # The task's own cancellation, raised at this suspension point
            # (a Cancelled re-raised by Join is the target's, and is not).
            scope = t.cancel_scope
            s, t, verdict = _raise(s, t._replace(cancel_scope=-1), "Cancelled", scope)
        if verdict != _NEXT:
            return _finish(s, t, verdict, events)
    return _finish(s, t, None, events)


def _raise(s: State, t: Task, error: str, scope: int) -> tuple[State, Task, str]:
    """`error` is raised in the task; a timeout scope absorbs its own
    Cancelled, and the task goes on after the scope's end."""
    if error != "Cancelled" or scope not in t.scopes:
        return s, t, error
    # spec: cancel.scope.nested
    depth = t.scopes.index(scope)
    closing = t.scopes[depth:]
    s = s._replace(
        timers=tuple(
            tm for tm in s.timers if not (tm.tid == t.tid and tm.scope in closing)
        )
    )
    t = t._replace(
        scopes=t.scopes[:depth],
        fired=tuple(f for f in t.fired if f not in closing),
        pc=matching_end(t.program, scope) + 1,
        offset=0,
        log=(*t.log, ("timeout", True)),
    )
    if t.cancelling and t.cancel_scope in closing:
        # A scope left on the way out withdraws its own pending request, as
        # when the block ends normally (spec: cancel.scope.timeout).
        t = t._replace(cancelling=False, cancel_scope=-1)
    return s, t, _NEXT


def _finish(s: State, t: Task, error: str | None, events: list[Event]) -> State:
    # spec: task.finish
    t = t._replace(
        state=DONE if error is None else FAILED,
        error=error,
        streak=0,
        scopes=(),
        fired=(),
        cancelling=False,
        cancel_scope=-1,
    )
    s = _put_task(s, t)
    s = s._replace(timers=tuple(tm for tm in s.timers if tm.tid != t.tid))
    joiners = [w for w in s.waiters if w.kind == JOIN and w.target == t.tid]
    if joiners:
        # spec: task.join.wakes
        s = s._replace(waiters=tuple(w for w in s.waiters if w not in joiners))
        for w in joiners:
            s = _enqueue(s, s.tasks[w.tid], None)
    # spec: cancel.not-reported
    elif error is not None and error != "Cancelled" and t.tid not in s.observed:
        # spec: task.fail.report
        events.append(event.Report(t.tid))
        s = s._replace(reported=(*s.reported, t.tid))
    return s


def _completed(t: Task, result: object) -> Task:
    return t._replace(pc=t.pc + 1, offset=0, log=(*t.log, result))


def _yield(s: State, t: Task) -> tuple[State, Task, str]:
    """The task goes to the back of the run queue."""
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), _CANCELLED_HERE
    t = t._replace(state=RUNNABLE, streak=0)
    return _put_task(s, t)._replace(run_queue=(*s.run_queue, t.tid)), t, _PARKED


def _wait(s: State, t: Task, kind: str, target: str | int) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), _CANCELLED_HERE
    if kind in (READ, WRITE):
        for w in s.waiters:
            if w.kind == kind and w.target == target:
                # spec: io.wait.one-per-direction
                return s, t, "BusyError"
    # spec: io.wait
    t = t._replace(state=WAITING, streak=0)
    s = _put_task(s, t)._replace(waiters=(*s.waiters, Waiter(kind, target, t.tid)))
    return s, t, _PARKED


def _socket_op(s: State, t: Task, name: str) -> tuple[Sock | None, str | None]:
    """The socket an operation names, or the error the operation raises."""
    found = sock(s, name)
    if found is None:
        return None, "UnknownSocket"
    if found.closed:
        # spec: io.closed.rejects
        return None, "ClosedError"
    return found, None


def _execute(s: State, t: Task, op: Op) -> tuple[State, Task, str]:
    """Run one operation; return the new state, task and verdict."""
    match op:
        case YieldNow():
            # spec: op.yield
            return _yield(s, t._replace(pc=t.pc + 1))
        case Join():
            return _join(s, t, op)
        case Sleep():
            return _sleep(s, t, op)
        case WaitIdle():
            return _wait_idle(s, t)
        case MoveOnAfter():
            # spec: cancel.scope.timeout
            timer = Timer(s.now + max(0, op.ticks), t.tid, t.pc)
            t = t._replace(pc=t.pc + 1, scopes=(*t.scopes, t.pc))
            return _put_task(s, t)._replace(timers=(*s.timers, timer)), t, _NEXT
        case EndMoveOnAfter():
            return _end_move_on_after(s, t)
        case AwaitThread():
            return _wait(s, t._replace(pc=t.pc + 1), THREAD, 0)
        case Close():
            return _close(s, t, op)
        case Recv() | Send() | SendAll() | Accept():
            return _io(s, t, op)
        case (
            Acquire()
            | Release()
            | SetEvent()
            | WaitEvent()
            | ChanSend()
            | ChanRecv()
            | ChanClose()
        ):
            # spec/11-sync.md, in refloop.model.sync
            return execute_sync(s, t, op)
        case _:
            assert_never(op)


def _io(
    s: State, t: Task, op: Recv | Send | SendAll | Accept
) -> tuple[State, Task, str]:
    """An operation on a socket: tried first, suspending only if it would
    block."""
    if isinstance(op, SendAll) and t.offset >= len(op.data):
        # spec: op.sendall
        return s, _completed(t, len(op.data)), _NEXT
    if sock(s, op.sock) is not None and t.streak >= s.budget:
        # spec: op.budget
        return _yield(s, t)
    found, error = _socket_op(s, t, op.sock)
    if found is None:
        assert error is not None
        return s, t, error
    match op:
        case Recv():
            return _recv(s, t, op, found)
        case Accept():
            return _accept(s, t, found)
        case Send() | SendAll():
            return _send(s, t, op, found)
        case _:
            assert_never(op)


def _recv(s: State, t: Task, op: Recv, found: Sock) -> tuple[State, Task, str]:
    if found.inbound or found.peer_closed:
        # spec: op.try-first
        # spec: op.recv.eof
        data = found.inbound[: op.n]
        s = _put_sock(s, found._replace(inbound=found.inbound[op.n :]))
        return s, _completed(t, data)._replace(streak=t.streak + 1), _NEXT
    return _wait(s, t, READ, found.name)


def _send(
    s: State, t: Task, op: Send | SendAll, found: Sock
) -> tuple[State, Task, str]:
    room = s.capacity - len(found.outbound)
    if room <= 0:
        return _wait(s, t, WRITE, found.name)
    # spec: op.try-first
    chunk = op.data[t.offset :][:room]
    s = _put_sock(s, found._replace(outbound=found.outbound + chunk))
    t = t._replace(streak=t.streak + 1)
    if isinstance(op, Send):
        return s, _completed(t, len(chunk)), _NEXT
    return s, t._replace(offset=t.offset + len(chunk)), _NEXT


def _accept(s: State, t: Task, found: Sock) -> tuple[State, Task, str]:
    if found.backlog == 0:
        return _wait(s, t, READ, found.name)
    # spec: op.try-first
    name = f"{found.name}.{found.accepted}"
    s = _put_sock(
        s, found._replace(backlog=found.backlog - 1, accepted=found.accepted + 1)
    )
    s = _put_sock(s, Sock(name))
    return s, _completed(t, name)._replace(streak=t.streak + 1), _NEXT


def _join(s: State, t: Task, op: Join) -> tuple[State, Task, str]:
    if not 0 <= op.tid < len(s.tasks):
        return s, t, "UnknownTask"
    if op.tid == t.tid:
        # spec: task.join.self
        return s, t, "LoopError"
    target = s.tasks[op.tid]
    if target.state == DONE:
        # spec: task.join
        return s, _completed(t, ("join", op.tid)), _NEXT
    if target.state == FAILED:
        assert target.error is not None
        return s, t, target.error
    return _wait(s, t, JOIN, op.tid)


def _sleep(s: State, t: Task, op: Sleep) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), _CANCELLED_HERE
    # spec: timer.sleep
    t = t._replace(pc=t.pc + 1, state=WAITING, streak=0)
    timer = Timer(s.now + max(0, op.ticks), t.tid)
    return _put_task(s, t)._replace(timers=(*s.timers, timer)), t, _PARKED


def _end_move_on_after(s: State, t: Task) -> tuple[State, Task, str]:
    scope = t.scopes[-1]
    s = s._replace(
        timers=tuple(
            tm for tm in s.timers if not (tm.tid == t.tid and tm.scope == scope)
        )
    )
    t = t._replace(
        pc=t.pc + 1,
        scopes=t.scopes[:-1],
        fired=tuple(f for f in t.fired if f != scope),
        log=(*t.log, ("timeout", scope in t.fired)),
    )
    if t.cancelling and t.cancel_scope == scope:
        # The scope fired while the task was runnable and ended before the
        # task suspended: the request is withdrawn (spec: cancel.scope.timeout).
        t = t._replace(cancelling=False, cancel_scope=-1)
    return s, t, _NEXT


def _wait_idle(s: State, t: Task) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), _CANCELLED_HERE
    # spec: idle
    t = t._replace(pc=t.pc + 1, state=WAITING, streak=0)
    return _put_task(s, t)._replace(idle=(*s.idle, t.tid)), t, _PARKED


def _close(s: State, t: Task, op: Close) -> tuple[State, Task, str]:
    found = sock(s, op.sock)
    if found is None:
        return s, t, "UnknownSocket"
    t = t._replace(pc=t.pc + 1)
    if found.closed:
        return s, t, _NEXT
    # spec: io.close.unregister-first
    parked = [w for w in s.waiters if w.kind in (READ, WRITE) and w.target == op.sock]
    s = s._replace(waiters=tuple(w for w in s.waiters if w not in parked))
    # spec: io.close.keeps-sent
    reset = bool(found.inbound)
    s = _put_sock(
        s,
        found._replace(
            closed=True,
            inbound=b"",
            backlog=0,
            reset=reset,
            outbound=b"" if reset else found.outbound,
        ),
    )
    # spec: io.close.wakes
    for w in parked:
        s = _enqueue(s, s.tasks[w.tid], "ClosedError")
    return s, t, _NEXT


def cancel(s: State, tid: int, scope: int = -1) -> State:
    """`task.cancel()`: from code outside the task (scope -1), or by the
    timeout scope opened at pc `scope` when its timer fires.

    pre: well_formed(s)
    pre: 0 <= tid < len(s.tasks)
    pre: scope == -1 or scope in s.tasks[tid].scopes
    post: well_formed(__return__)
    post: __return__.tasks[tid].state != WAITING
    post: all(w.tid != tid for w in __return__.waiters)
    post: __return__.run_queue[: len(s.run_queue)] == s.run_queue
    post: all(a == b or a.tid == tid for a, b in zip(s.tasks, __return__.tasks))
    post: _merged(s.tasks[tid], scope, __return__.tasks[tid])
    """
    if not 0 <= tid < len(s.tasks):
        raise ModelError(f"there is no task {tid} to cancel")
    t = s.tasks[tid]
    if t.state in (DONE, FAILED):
        # spec: cancel.finished
        return s
    if t.state == RUNNABLE:
        # spec: cancel.runnable
        if t.cancelling and _width(t, t.cancel_scope) <= _width(t, scope):
            # spec: cancel.merge
            return s
        return _put_task(s, t._replace(cancelling=True, cancel_scope=scope))
    # spec: cancel.waiting
    s = s._replace(
        waiters=tuple(w for w in s.waiters if w.tid != tid),
        timers=tuple(tm for tm in s.timers if tm.tid != tid or tm.scope >= 0),
        idle=tuple(i for i in s.idle if i != tid),
        posted=tuple(p for p in s.posted if p != tid),
    )
    return _enqueue(s, t._replace(throw_scope=scope), "Cancelled")


def _merged(before: Task, scope: int, after: Task) -> bool:
    """cancel.merge, as a contract: a runnable task asked twice keeps the
    wider request of the two."""
    if before.state != RUNNABLE or not before.cancelling:
        return True
    wider = min(_width(before, before.cancel_scope), _width(before, scope))
    return after.cancelling and _width(before, after.cancel_scope) == wider


def _width(t: Task, scope: int) -> int:
    """How far a Cancelled carrying `scope` unwinds `t`, as a rank: -1 for
    one that no open scope of `t` absorbs (a plain cancel), else the depth of
    the scope that does; smaller is wider."""
    return t.scopes.index(scope) if scope in t.scopes else -1


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
    s = _run_task(s._replace(run_queue=s.run_queue[1:]), tid, events)
    return s, tuple(events)
