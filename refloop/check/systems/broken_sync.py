"""Deliberately broken synchronisation primitives, as loop policies: each
breaks one rule of spec/11-sync.md, and the checker must refute the closed
systems of models/sync.py that use them (tests/test_check_sync.py). They
are the model twins of refloop.testing.broken_sync's real primitives.

A policy sees only the state, so each one changes what the model's
transition did, just after (or before) a task's run.
"""

from __future__ import annotations

from ...model import RUNNABLE, Event, State
from ...model.syncops import LOCK
from .policy import POLICIES, Policy

__all__ = ["BROKEN_SYNC"]


class TwoWakeLock(Policy):
    """A release that hands the lock to the oldest waiter also wakes the
    next one, which goes on as if it held the lock (TwoWakeLock's twin;
    breaks sync.lock.handoff)."""

    name = "two-wake-lock"
    doc = "a lock's release wakes two waiters"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        after, phase_after, events = super().step(s, phase)
        if phase == 0:
            return after, phase_after, events
        for lock, tid in after.locks:
            if (lock, tid) in s.locks:
                continue
            second = next(
                (w for w in after.waiters if w.kind == LOCK and w.target == lock), None
            )
            if second is None or tid == second.tid:
                continue
            t = after.tasks[second.tid]
            t = t._replace(pc=t.pc + 1, state=RUNNABLE)
            after = after._replace(
                tasks=(*after.tasks[: t.tid], t, *after.tasks[t.tid + 1 :]),
                waiters=tuple(w for w in after.waiters if w != second),
                run_queue=(*after.run_queue, t.tid),
            )
        return after, phase_after, events


class LossyChannel(Policy):
    """A receiver handed an item and cancelled before it ran drops the item
    (LossyChannel's twin, as asyncio's Queue getter did; breaks
    chan.cancel)."""

    name = "lossy-channel"
    doc = "a receiver cancelled after the hand-off loses its item"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if phase != 0 and s.run_queue:
            tid = s.run_queue[0]
            if s.tasks[tid].cancelling and any(e[0] == tid for e in s.handed):
                s = s._replace(handed=tuple(e for e in s.handed if e[0] != tid))
        return super().step(s, phase)


class LateEvent(Policy):
    """`set()` wakes the waiters it has but latches the flag only at the next
    poll: a task that waits in between is never woken (LateEvent's twin;
    breaks sync.event.wait). The flag not yet latched is kept as
    "<name>?", which no WaitEvent matches."""

    name = "late-event"
    doc = "an event latches only at the next poll"

    def step(self, s: State, phase: int) -> tuple[State, int, tuple[Event, ...]]:
        if phase == 0:
            s = s._replace(set_events=tuple(e.rstrip("?") for e in s.set_events))
            return super().step(s, phase)
        after, phase_after, events = super().step(s, phase)
        fresh = [e for e in after.set_events if e not in s.set_events]
        if fresh:
            latched = tuple(e for e in after.set_events if e not in fresh)
            after = after._replace(set_events=(*latched, *(e + "?" for e in fresh)))
        return after, phase_after, events


BROKEN_SYNC: dict[str, Policy] = {
    p.name: p for p in (TwoWakeLock(), LossyChannel(), LateEvent())
}
POLICIES.update(BROKEN_SYNC)
