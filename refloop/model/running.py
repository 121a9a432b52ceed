"""Running a task: interpret its program from `pc` until it suspends (waits
on a socket, a join, a timer or the idle queue, yields, or spends its
budget) or finishes. Pure functions of a State; refloop.model.transitions
calls `run_task` for each task it drains, refloop.model.sockops executes the
socket operations and refloop.model.sync the synchronisation ones."""

from __future__ import annotations

from typing import assert_never

from .cancelling import end_cancel_scope, leave_scopes, open_cancel_scope, request
from .events import Event, event
from .handlers import suspend
from .programs import (
    Accept,
    AwaitThread,
    CancelScopes,
    Close,
    EndCancelScope,
    EndMoveOnAfter,
    InThread,
    Join,
    MoveOnAfter,
    OnClose,
    Op,
    OpenCancelScope,
    Recv,
    Send,
    SendAll,
    Sleep,
    Suspend,
    WaitIdle,
    YieldNow,
    matching_end,
)
from .sockops import close, io
from .state import DONE, FAILED, JOIN, POOL, THREAD, WAITING, State, Task, Timer
from .sync import execute as execute_sync
from .syncops import SyncCall
from .update import (
    CANCELLED_HERE,
    NEXT,
    PARKED,
    completed,
    enqueue,
    put_task,
    wait,
    yield_task,
)

__all__ = ["run_task"]


def run_task(s: State, tid: int, events: list[Event]) -> State:
    events.append(event.Run(tid))
    t = s.tasks[tid]
    if t.throw is not None:
        error, scope = t.throw, t.throw_scope
        t = t._replace(throw=None, throw_scope=-1)
        s, t, verdict = _raise(s, t, error, scope)
        if verdict != NEXT:
            return _finish(s, t, verdict, events)
    while t.pc < len(t.program):
        s, t, verdict = _execute(s, t, t.program[t.pc])
        if verdict == PARKED:
            return s
        if verdict == CANCELLED_HERE:
            # The task's own cancellation, raised at this suspension point
            # (a Cancelled re-raised by Join is the target's, and is not).
            scope = t.cancel_scope
            s, t, verdict = _raise(s, t._replace(cancel_scope=-1), "Cancelled", scope)
        if verdict != NEXT:
            return _finish(s, t, verdict, events)
    return _finish(s, t, None, events)


def _raise(s: State, t: Task, error: str, scope: int) -> tuple[State, Task, str]:
    """`error` is raised in the task; a scope (a timeout or a CancelScope)
    absorbs its own Cancelled, and the task goes on after the scope's end."""
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
    tag = "scope" if isinstance(t.program[scope], OpenCancelScope) else "timeout"
    t = t._replace(fired=tuple(f for f in t.fired if f not in closing), offset=0)
    # A scope left on the way out withdraws its own pending request, as when
    # the block ends normally (spec: cancel.scope.timeout), and a shield
    # among them makes again the one it held (spec: cancel.shield.exit).
    s, t = leave_scopes(s, t, closing)
    t = t._replace(pc=matching_end(t.program, scope) + 1, log=(*t.log, (tag, True)))
    return s, t, NEXT


def _finish(s: State, t: Task, error: str | None, events: list[Event]) -> State:
    # spec: task.finish
    t = t._replace(
        state=DONE if error is None else FAILED,
        error=error,
        streak=0,
        scopes=(),
        fired=(),
        held=(),
        cancelling=False,
        cancel_scope=-1,
    )
    s = put_task(s, t)
    s = s._replace(timers=tuple(tm for tm in s.timers if tm.tid != t.tid))
    joiners = [w for w in s.waiters if w.kind == JOIN and w.target == t.tid]
    if joiners:
        # spec: task.join.wakes
        s = s._replace(waiters=tuple(w for w in s.waiters if w not in joiners))
        for w in joiners:
            s = enqueue(s, s.tasks[w.tid], None)
    # spec: cancel.not-reported
    elif error is not None and error != "Cancelled" and t.tid not in s.observed:
        # spec: task.fail.report
        events.append(event.Report(t.tid))
        s = s._replace(reported=(*s.reported, t.tid))
    return s


def _execute(s: State, t: Task, op: Op) -> tuple[State, Task, str]:
    """Run one operation; return the new state, task and verdict."""
    match op:
        case YieldNow():
            # spec: op.yield
            return yield_task(s, t._replace(pc=t.pc + 1))
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
            return put_task(s, t)._replace(timers=(*s.timers, timer)), t, NEXT
        case EndMoveOnAfter():
            return _end_move_on_after(s, t)
        case OpenCancelScope():
            return s, open_cancel_scope(t), NEXT
        case EndCancelScope():
            # spec: cancel.scope.cancel
            s, t = end_cancel_scope(s, t)
            return s, t, NEXT
        case CancelScopes():
            return _cancel_scopes(s, t, op)
        case OnClose():
            # What it does is close's (refloop.model.lifecycle.close_raises).
            return s, t._replace(pc=t.pc + 1), NEXT
        case AwaitThread():
            return wait(s, t._replace(pc=t.pc + 1), THREAD, 0)
        case InThread():
            # spec: thread.run
            s, t, verdict = wait(s, t._replace(pc=t.pc + 1), POOL, s.jobs)
            if verdict == PARKED:
                s = s._replace(jobs=s.jobs + 1)
            return s, t, verdict
        case Suspend():
            if t.cancelling:
                # spec: cancel.runnable
                return s, t._replace(cancelling=False), CANCELLED_HERE
            return s, t, suspend(t, op)
        case Close():
            return close(s, t, op)
        case Recv() | Send() | SendAll() | Accept():
            return io(s, t, op)
        case SyncCall():
            # spec/11-sync.md, in refloop.model.sync
            return execute_sync(s, t, op)
        case _:
            assert_never(op)


def _join(s: State, t: Task, op: Join) -> tuple[State, Task, str]:
    if not 0 <= op.tid < len(s.tasks):
        return s, t, "UnknownTask"
    if op.tid == t.tid:
        # spec: task.join.self
        return s, t, "LoopError"
    target = s.tasks[op.tid]
    if target.state == DONE:
        # spec: task.join
        return s, completed(t, ("join", op.tid)), NEXT
    if target.state == FAILED:
        assert target.error is not None
        return s, t, target.error
    return wait(s, t, JOIN, op.tid)


def _sleep(s: State, t: Task, op: Sleep) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), CANCELLED_HERE
    # spec: timer.sleep
    t = t._replace(pc=t.pc + 1, state=WAITING, streak=0)
    timer = Timer(s.now + max(0, op.ticks), t.tid)
    return put_task(s, t)._replace(timers=(*s.timers, timer)), t, PARKED


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
    return s, t, NEXT


def _cancel_scopes(s: State, t: Task, op: CancelScopes) -> tuple[State, Task, str]:
    """`scope.cancel()` for each target that is an open CancelScope, and
    `task.cancel()` for pc -1; a scope not open (left, or not entered yet)
    is passed over."""
    s = put_task(s, t._replace(pc=t.pc + 1))
    for tid, opened in op.targets:
        if not 0 <= tid < len(s.tasks):
            continue
        target = s.tasks[tid]
        if opened == -1:
            # spec: cancel.scope.group-cancel
            s = request(s, tid, -1)
        elif opened in target.scopes and isinstance(
            target.program[opened], OpenCancelScope
        ):
            # spec: cancel.scope.cancel
            s = request(s, tid, opened)
    return s, s.tasks[t.tid], NEXT


def _wait_idle(s: State, t: Task) -> tuple[State, Task, str]:
    if t.cancelling:
        # spec: cancel.runnable
        return s, t._replace(cancelling=False), CANCELLED_HERE
    # spec: idle
    t = t._replace(pc=t.pc + 1, state=WAITING, streak=0)
    return put_task(s, t)._replace(idle=(*s.idle, t.tid)), t, PARKED
