"""What the transitions and their contracts read of a state: sockets by
name, readiness, due timers, and the well-formedness their contracts assume.
Nothing here changes a State.

The pre- and postconditions in the transitions' docstrings are checked by
CrossHair (`crosshair check refloop/model/`); `well_formed` and
`_stays_ready` are their helpers.
"""

from __future__ import annotations

from .faults import error_pending
from .programs import (
    EndCancelScope,
    EndMoveOnAfter,
    MoveOnAfter,
    OpenCancelScope,
    shielded,
)
from .state import (
    DONE,
    FAILED,
    JOIN,
    POOL,
    READ,
    THREAD,
    WRITE,
    Sock,
    State,
    Task,
    Timer,
    Waiter,
)

__all__ = ["ModelError", "due_timers", "is_ready", "sock", "well_formed"]


class ModelError(ValueError):
    """A transition was applied where its precondition does not hold."""


def sock(s: State, name: str) -> Sock | None:
    for candidate in s.sockets:
        if candidate.name == name:
            return candidate
    return None


def is_ready(s: State, w: Waiter) -> bool:
    """Would the selector report this waiter's socket ready?"""
    if w.kind not in (READ, WRITE):
        return False  # a join, a thread, or a synchronisation waiter
    assert isinstance(w.target, str)
    found = sock(s, w.target)
    assert found is not None
    # spec: io.ready
    if w.kind == READ:
        if found.listener:
            return found.backlog > 0
        return (
            bool(found.inbound)
            or found.peer_closed
            # spec: io.ready.error
            or (bool(found.faults) and error_pending(found.faults, "recv"))
        )
    return len(found.outbound) < s.capacity or (
        bool(found.faults) and error_pending(found.faults, "send")
    )


def due_timers(s: State) -> list[Timer]:
    """The timers due now, in firing order: by deadline, then in the order
    they were scheduled (a stable sort of the scheduling order)."""
    # spec: timer.order
    return sorted((tm for tm in s.timers if tm.when <= s.now), key=_deadline)


def _deadline(tm: Timer) -> float:
    return tm.when


# spec: prop.contracts
def well_formed(s: State) -> bool:
    """A state the transitions accept: each task's number is its position
    and its pc within its program; the run queue, waiters, timers and the
    idle and posted tasks name existing tasks; a socket waiter names an
    existing socket; names are distinct and the parameters positive."""
    n = len(s.tasks)
    names = [k.name for k in s.sockets]
    return (
        s.budget >= 1
        and s.capacity >= 1
        and len(set(names)) == len(names)
        and all(t.tid == i for i, t in enumerate(s.tasks))
        and all(0 <= t.pc <= len(t.program) and t.offset >= 0 for t in s.tasks)
        and all(0 <= tid < n for tid in s.run_queue)
        and all(
            0 <= tid < n if tid >= 0 else ~tid < len(s.calls)
            for tid in (*s.idle, *s.posted)
        )
        and all(
            0 <= tm.tid < n if tm.call < 0 else 0 <= tm.call < len(s.calls)
            for tm in s.timers
        )
        and all(0 <= w.tid < n for w in s.waiters)
        and all(
            w.target in names
            if w.kind in (READ, WRITE)
            else isinstance(w.target, int)
            if w.kind in (JOIN, THREAD, POOL)
            else isinstance(w.target, str)
            for w in s.waiters
        )
        and all(_scoped(t) for t in s.tasks)
        and _jobs(s)
    )


def _jobs(s: State) -> bool:
    """Each running pool job is numbered below State.jobs and is either
    awaited by one task or an orphan, never both (thread.run-cancel)."""
    awaited = [w.target for w in s.waiters if w.kind == POOL]
    running = [*awaited, *s.orphans]
    return len(set(running)) == len(running) and all(
        isinstance(job, int) and 0 <= job < s.jobs for job in running
    )


def _scoped(t: Task) -> bool:
    """The task's scope blocks (timeouts, cancel scopes) nest in its
    program, its open scopes are the blocks its pc is inside, outermost
    first, and what fired, is pending or is held names an open scope (-1: a
    plain cancel), each holder an open shield, once."""
    stack: list[int] = []
    opened: tuple[int, ...] | None = None
    for i, op in enumerate(t.program):
        if i == t.pc:
            opened = tuple(stack)
        if isinstance(op, MoveOnAfter | OpenCancelScope):
            stack.append(i)
        elif isinstance(op, EndMoveOnAfter | EndCancelScope):
            if not stack:
                return False
            stack.pop()
    if stack:
        return False
    if t.state in (DONE, FAILED) or t.pc == len(t.program):
        opened = ()
    return (
        t.scopes == opened
        and all(f in t.scopes for f in t.fired)
        and all(c == -1 or c in t.scopes for c in (t.cancel_scope, t.throw_scope))
        and len({h for h, _ in t.held}) == len(t.held)
        and all(h in t.scopes and shielded(t.program, h) for h, _ in t.held)
        and all(c == -1 or c in t.scopes for _, c in t.held)
    )


def _stays_ready(before: State, after: State) -> bool:
    """No waiter ready in `before` is unready in `after`: what the
    environment does only ever adds readiness (the model checker's
    macro-steps rely on it)."""
    return all(
        is_ready(after, w)
        for w in before.waiters
        if w.kind in (READ, WRITE) and w in after.waiters and is_ready(before, w)
    )
