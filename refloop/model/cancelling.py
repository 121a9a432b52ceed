"""How a cancellation request reaches a task in the model (spec/09-cancel.md):
`request` is the body of refloop.model.transitions.cancel, and the scope
brackets' transitions (OpenCancelScope, EndCancelScope, a scope left by an
unwinding Cancelled) are here, with what a shielded CancelScope holds.
Pure functions of a State, like refloop.model.transitions.

Theory of operation: a request names the scope its Cancelled carries (the
pc of the block's MoveOnAfter or OpenCancelScope), or -1 for a plain
`task.cancel()`. A shielded CancelScope between the task's innermost scope
and the request's scope takes the request (Task.held), keeping the widest
(cancel.shield.merge), and makes it again when the shield's block is left
(cancel.shield.exit). Otherwise a runnable task keeps the request until
its next suspension (cancel.runnable, merged by width, cancel.merge), and
a waiting one is queued to raise it at once (cancel.waiting).
"""

from __future__ import annotations

from .programs import shielded
from .state import DONE, FAILED, POOL, RUNNABLE, State, Task
from .update import enqueue, put_task

__all__ = ["end_cancel_scope", "leave_scopes", "open_cancel_scope", "request", "width"]


def width(t: Task, scope: int) -> int:
    """How far a Cancelled carrying `scope` unwinds `t`, as a rank: -1 for
    one that no open scope of `t` absorbs (a plain cancel), else the depth of
    the scope that does; smaller is wider."""
    return t.scopes.index(scope) if scope in t.scopes else -1


def deflecting(t: Task, scope: int) -> int | None:
    """The innermost shielded scope of `t` inside the scope `scope` (all of
    them for a plain cancel), which takes the request; None if none does."""
    for opened in reversed(t.scopes):
        if opened == scope:
            return None
        if shielded(t.program, opened):
            return opened
    return None


def request(s: State, tid: int, scope: int) -> State:
    """`task.cancel()` for a Cancelled carrying `scope` (-1: plain)."""
    t = s.tasks[tid]
    if t.state in (DONE, FAILED):
        # spec: cancel.finished
        return s
    shield = deflecting(t, scope)
    if shield is not None:
        # spec: cancel.shield
        return put_task(s, _hold(t, shield, scope))
    if t.state == RUNNABLE:
        # spec: cancel.runnable
        if t.cancelling and width(t, t.cancel_scope) <= width(t, scope):
            # spec: cancel.merge
            return s
        return put_task(s, t._replace(cancelling=True, cancel_scope=scope))
    # spec: cancel.waiting
    # spec: thread.run-cancel
    jobs = tuple(w.target for w in s.waiters if w.tid == tid and w.kind == POOL)
    s = s._replace(
        orphans=(*s.orphans, *(job for job in jobs if isinstance(job, int))),
        waiters=tuple(w for w in s.waiters if w.tid != tid),
        timers=tuple(tm for tm in s.timers if tm.tid != tid or tm.scope >= 0),
        idle=tuple(i for i in s.idle if i != tid),
        posted=tuple(p for p in s.posted if p != tid),
    )
    return enqueue(s, t._replace(throw_scope=scope), "Cancelled")


def _hold(t: Task, shield: int, scope: int) -> Task:
    for held_by, kept in t.held:
        if held_by == shield:
            # spec: cancel.shield.merge
            if width(t, kept) <= width(t, scope):
                return t
            return t._replace(
                held=tuple((h, scope if h == shield else k) for h, k in t.held)
            )
    return t._replace(held=(*t.held, (shield, scope)))


def open_cancel_scope(t: Task) -> Task:
    """The running task enters the CancelScope at its pc. A shield takes the
    request pending for a scope outside it (every pending one: all are)."""
    opened = t.pc
    t = t._replace(pc=t.pc + 1, scopes=(*t.scopes, opened))
    if shielded(t.program, opened) and t.cancelling:
        # spec: cancel.shield
        t = t._replace(
            cancelling=False, cancel_scope=-1, held=(*t.held, (opened, t.cancel_scope))
        )
    return t


def end_cancel_scope(s: State, t: Task) -> tuple[State, Task]:
    """The running task leaves its innermost scope, a CancelScope, normally."""
    t = t._replace(pc=t.pc + 1, log=(*t.log, ("scope", False)))
    return leave_scopes(s, t, t.scopes[-1:])


def leave_scopes(s: State, t: Task, closing: tuple[int, ...]) -> tuple[State, Task]:
    """The running task's innermost scopes `closing` are left, innermost
    first, as `with` leaves them: each drops the request it made that was
    not delivered (cancel.scope.timeout), and a shield makes again the
    request it held (cancel.shield.exit), a new request for the scopes
    still open. `t` is the running task (s may hold an older copy)."""
    for scope in reversed(closing):
        assert t.scopes[-1] == scope, (t.scopes, closing)
        t = t._replace(scopes=t.scopes[:-1])
        if t.cancelling and t.cancel_scope == scope:
            t = t._replace(cancelling=False, cancel_scope=-1)
        for held_by, kept in t.held:
            if held_by == scope:
                t = t._replace(held=tuple(h for h in t.held if h[0] != scope))
                # spec: cancel.shield.exit
                s = request(put_task(s, t), t.tid, kept)
                t = s.tasks[t.tid]
                break
    return s, t
