"""Deliberately broken cancel scopes, as loop policies: the model twins of
refloop.testing.broken_scopes's LeakyShield and ShallowScope, which the
checker must refute on the systems of models/server.py
(tests/test_check_server.py).

A policy sees only the state: `leaky-shield` delivers every request a
shield holds (Task.held) before and after each of the loop's steps, as if
the shield had let it through (breaks cancel.shield); `shallow-scope-cancel`
undoes, after a step, the wakeup of a waiting task by a Cancelled for a
scope that is not its innermost (breaks cancel.scope.cancel).
"""

from __future__ import annotations

from ...model import RUNNABLE, WAITING, Event, State
from ...model.cancelling import width
from ...model.update import enqueue, put_task
from .policy import POLICIES, Policy

__all__ = ["BROKEN_SCOPES"]


def _leak(s: State) -> State:
    for t in s.tasks:
        if not t.held:
            continue
        scope = min((kept for _, kept in t.held), key=lambda c: width(t, c))
        t = t._replace(held=())
        if t.state == RUNNABLE:
            if not t.cancelling or width(t, scope) < width(t, t.cancel_scope):
                t = t._replace(cancelling=True, cancel_scope=scope)
            s = put_task(s, t)
        elif t.state == WAITING:
            s = s._replace(
                waiters=tuple(w for w in s.waiters if w.tid != t.tid),
                timers=tuple(tm for tm in s.timers if tm.tid != t.tid or tm.scope >= 0),
                idle=tuple(i for i in s.idle if i != t.tid),
                posted=tuple(p for p in s.posted if p != t.tid),
            )
            s = enqueue(s, t._replace(throw_scope=scope), "Cancelled")
    return s


class LeakyShield(Policy):
    """A shield that lets a cancel through."""

    name = "leaky-shield"
    doc = "a shielded CancelScope lets a cancel from outside it through"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(_leak(s), phase)
        return _leak(after), phase_after, events


class ShallowScopeCancel(Policy):
    """`scope.cancel()` that misses a task waiting in a nested scope."""

    name = "shallow-scope-cancel"
    doc = "a scope's cancel() misses a task waiting in a scope inside it"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(s, phase)
        for t in after.tasks:
            was = s.tasks[t.tid] if t.tid < len(s.tasks) else None
            missed = (
                was is not None
                and was.state == WAITING
                and t.throw == "Cancelled"
                and t.throw_scope >= 0
                and t.throw_scope != t.scopes[-1]
            )
            if missed and was is not None:
                # The wakeup is undone: the task waits as it did.
                gone = [w for w in s.waiters if w.tid == t.tid]
                timers = [tm for tm in s.timers if tm.tid == t.tid]
                after = put_task(after, was)._replace(
                    run_queue=tuple(q for q in after.run_queue if q != t.tid),
                    waiters=(*after.waiters, *gone),
                    timers=(
                        *after.timers,
                        *(tm for tm in timers if tm not in after.timers),
                    ),
                )
        return after, phase_after, events


BROKEN_SCOPES: dict[str, Policy] = {
    p.name: p for p in (LeakyShield(), ShallowScopeCancel())
}
POLICIES.update(BROKEN_SCOPES)
