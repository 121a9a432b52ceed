"""Deliberately broken loop policies: each breaks one rule, and the checker
must find each with a short counterexample (tests/test_check.py). They are
the model twins of refloop.testing.broken's real loops.
"""

from __future__ import annotations

from ...model import (
    READ,
    RUNNABLE,
    Event,
    Recv,
    State,
    Waiter,
    begin,
    due_timers,
    event,
    is_ready,
)
from .policy import POLICIES, Policy

__all__ = ["BROKEN"]


class LostWakeup(Policy):
    """When several waiters are ready at once, the last one's registration
    is removed but its task is never resumed (LostWakeupLoop's twin)."""

    name = "lost-wakeup"
    doc = "drops the last of several simultaneous wakeups"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        ready = [w for w in s.waiters if is_ready(s, w)] if phase == 0 else []
        if len(ready) > 1:
            lost = ready[-1]
            s = s._replace(waiters=tuple(w for w in s.waiters if w != lost))
        return super().step(s, phase)


class DoubleResume(Policy):
    """A woken task is queued twice: its continuation would be resumed twice
    (DoubleWakeLoop's twin)."""

    name = "double-resume"
    doc = "queues a woken task twice"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if phase != 0:
            return super().step(s, phase)
        s, events = begin(s)
        woken = [e.tid for e in events if isinstance(e, event.Wake)]
        if woken:
            s = s._replace(run_queue=(*s.run_queue, woken[0]))
        return s, len(s.run_queue), events


class LeftBehind(Policy):
    """Closing a socket wakes its waiters but leaves their registrations
    behind (breaks io.close.unregister-first)."""

    name = "left-behind"
    doc = "leaves a closed socket's registrations behind"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(s, phase)
        was_open = {k.name for k in s.sockets if not k.closed}
        closed = {k.name for k in after.sockets if k.closed and k.name in was_open}
        kept = tuple(w for w in s.waiters if w.target in closed)
        if kept:
            after = after._replace(waiters=(*after.waiters, *kept))
        return after, phase_after, events


class LeakyCancel(Policy):
    """A task cancelled while it waited to receive runs with its socket
    registration back in place (LeakyCancelLoop's twin, whose cancel leaves
    the waiter registered; breaks cancel.waiting and inv.waiter-live). The
    model's cancel is an environment action, so the policy puts the waiter
    back when the task runs: from there on the two are alike."""

    name = "leaky-cancel"
    doc = "leaves a cancelled reader's registration behind"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(s, phase)
        t = s.tasks[s.run_queue[0]] if phase and s.run_queue else None
        if t is not None and t.throw == "Cancelled" and t.pc < len(t.program):
            op = t.program[t.pc]
            if isinstance(op, Recv):
                kept = Waiter(READ, op.sock, t.tid)
                after = after._replace(waiters=(*after.waiters, kept))
        return after, phase_after, events


class LostPost(Policy):
    """A call posted from another thread does not wake a poll that would
    block: the poll leaves the posted calls where they are (LostPostLoop's
    twin; breaks thread.no-lost-wakeup)."""

    name = "lost-post"
    doc = "a post does not wake a blocked poll"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        blocks = not (s.run_queue or s.idle or s.timers) and not any(
            is_ready(s, w) for w in s.waiters
        )
        if phase == 0 and s.posted and blocks:
            return s, 0, (event.Poll(None),)
        return super().step(s, phase)


class LifoPosts(Policy):
    """Posted calls run newest first (breaks thread.post: in the order they
    were posted)."""

    name = "lifo-posts"
    doc = "runs posted calls newest first"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if phase == 0:
            s = s._replace(posted=s.posted[::-1])
        return super().step(s, phase)


class LastCancelWins(Policy):
    """A runnable task keeps only the last cancellation asked for: a timeout
    scope's timer firing after a plain cancel() replaces it, and the scope
    then absorbs it (the model and the loop before cancel.merge, found by
    `cancel-scope-yield`; breaks cancel.scope.nested)."""

    name = "last-cancel-wins"
    doc = "a scope's cancel replaces a pending plain one"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(s, phase)
        if phase != 0:
            return after, phase_after, events
        tasks = list(after.tasks)
        for tm in due_timers(s):
            t = tasks[tm.tid]
            if tm.scope >= 0 and t.state == RUNNABLE and t.cancelling:
                tasks[tm.tid] = t._replace(cancel_scope=tm.scope)
        return after._replace(tasks=tuple(tasks)), phase_after, events


BROKEN: dict[str, Policy] = {
    p.name: p
    for p in (
        LostWakeup(),
        DoubleResume(),
        LeftBehind(),
        LeakyCancel(),
        LostPost(),
        LifoPosts(),
        LastCancelWins(),
    )
}
POLICIES.update(BROKEN)
