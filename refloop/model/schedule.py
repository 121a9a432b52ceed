"""The native loop's scheduling decisions as a trace of a real run shows
them: what each decision may be, given the state before it, as pure
functions over immutable values (spec: explore.validate.native).

Rule 1: this module imports nothing outside refloop.model, does no I/O and
reads no clock: time is the clock readings the trace carries.
Rule 2: every check cites the spec rule it carries, and a decision the
rules do not allow is a `Violation` naming that rule, never an exception.

The rules checked, each where its decision shows in the trace:

- the clock never goes back (timer.clock);
- the poll's ready waiters are woken oldest registration first, and join
  the run queue in that order (tick.wake-order);
- a timer fires only once the clock reached its deadline (timer.fire), due
  timers in firing order: by deadline, ties in scheduling order
  (timer.order, `queries.due_timers`, the model's own order);
- a drain runs the queue it began with, front first, each task once,
  nothing queued during it and no finished task (tick.ready-snapshot);
- no task stands in the run queue twice (inv.one-place);
- a task joins the queue only at its back, and the queue does not change
  between iterations (cont.resume-enqueues);
- every task that joins the queue, in an iteration's head, during a drain
  (resumed by another task's step) or in the wind-up, was parked: spawned,
  not finished, not queued already (explore.validate.native.resume);
- the wind-up's iterations (shutdown) are checked as every other; the
  cancellations that begin it resume parked tasks at the queue's back
  (explore.validate.native.shutdown).

Theory of operation. A trace is what the explorer's recorder
(refloop/explore/_native.py) saw: `Spawn` as a task is made; `Begin` before
each iteration (the clock, the run queue, the pending timers, the waiters
oldest registration first); `Wake`, `Fire` and `Idle` as the iteration's
head resumes tasks; `Run` as the drain takes a task (the clock, and the
queue left behind it); `Done` once a task's step finished it; `Report` for
an unjoined failure; `End` after the iteration (the queue it left); and
`WindUp` when the run winds up (the queue then). `step(s, event, names)` is
the next `Trace`, or the `Violation` of the first rule the event breaks
(`names` only names tasks in its message). What the trace does not show
(a thread's post, a timeout scope's or a callback's resumption) is allowed
wherever it may happen: in the head's queue, behind what was queued.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import assert_never

from .queries import due_timers
from .schedule_events import (
    Begin,
    Done,
    End,
    Fire,
    Idle,
    Pending,
    Report,
    Run,
    Spawn,
    Trace,
    TraceEvent,
    Violation,
    Wake,
    WindUp,
)
from .state import State, Timer

__all__ = [
    "Begin",
    "Done",
    "End",
    "Fire",
    "Idle",
    "Report",
    "Run",
    "Spawn",
    "Trace",
    "TraceEvent",
    "Violation",
    "Wake",
    "WindUp",
    "step",
]


def step(s: Trace, e: TraceEvent, names: Mapping[int, str]) -> Trace | Violation:
    """The state after `e`, or the rule it breaks."""
    match e:
        case Run():
            return _run(s, e, names)
        case Begin():
            return _begin(s, e, names)
        case End():
            return _end(s, e.queue, names)
        case Wake():
            return _wake(s, e.tid, names)
        case Fire():
            return _fire(s, e, names)
        case Done():
            return s._replace(done=s.done | {e.tid})
        case Spawn():
            return s._replace(spawned=s.spawned | {e.tid})
        case Idle() | Report():
            return s
        case WindUp():
            return _wind_up(s, e.queue, names)
        case _:
            assert_never(e)


def _who(names: Mapping[int, str], tid: int) -> str:
    return f"task {names.get(tid, '?')!r} (#{tid})"


def _clock(s: Trace, now: float) -> Trace | Violation:
    # spec: timer.clock
    if now < s.now:
        return Violation(
            "timer.clock", f"the clock went back from {s.now:g} to {now:g}", s.now
        )
    return s._replace(now=now)


def _parked(
    s: Trace, queued: tuple[int, ...], joined: tuple[int, ...], names: Mapping[int, str]
) -> Violation | None:
    """The first of `joined` (tasks that joined the run queue behind
    `queued`) that was not parked."""
    # spec: explore.validate.native.resume
    for i, tid in enumerate(joined):
        why = ""
        if tid in queued or tid in joined[:i]:
            why = "which was in the run queue already"
        elif tid in s.done:
            why = "which had finished"
        elif tid not in s.spawned:
            why = "which was never spawned"
        if why:
            message = f"the loop resumed {_who(names, tid)}, {why}"
            return Violation("inv.one-place", message, s.now)
    return None


def _behind(
    s: Trace,
    before: tuple[int, ...],
    queue: tuple[int, ...],
    names: Mapping[int, str],
    moved: str,
) -> Violation | None:
    """`queue` is `before` with parked tasks joined at its back."""
    # spec: cont.resume-enqueues
    if queue[: len(before)] != before:
        return Violation("cont.resume-enqueues", moved, s.now)
    return _parked(s, before, queue[len(before) :], names)


def _begin(s: Trace, e: Begin, names: Mapping[int, str]) -> Trace | Violation:
    t = _clock(s, e.now)
    if isinstance(t, Violation):
        return t
    moved = f"the run queue changed between iterations: {s.queue} became {e.queue}"
    if s.queue is None or t.winding:
        # The first iteration, or the wind-up's first: its cancellations
        # (or the spawn of the main task) queued parked tasks.
        # spec: explore.validate.native.shutdown
        bad = _behind(t, s.queue or (), e.queue, names, moved)
        if bad is not None:
            return bad
    elif e.queue != s.queue:
        return Violation("cont.resume-enqueues", moved, t.now)
    return t._replace(
        queue=e.queue,
        timers=tuple(sorted(e.timers)),
        fired=None,
        waiters=e.waiters,
        woken=(),
        snapshot=None,
        pos=0,
        winding=False,
    )


def _wake(s: Trace, tid: int, names: Mapping[int, str]) -> Trace | Violation:
    # spec: tick.wake-order
    order = s.waiters
    if tid not in order:
        return Violation(
            "tick.wake-order",
            f"the loop woke {_who(names, tid)}, which was not waiting",
            s.now,
        )
    if s.woken and order.index(tid) < order.index(s.woken[-1]):
        return Violation(
            "tick.wake-order",
            f"the loop woke {_who(names, tid)} after {_who(names, s.woken[-1])}, "
            "which registered after it",
            s.now,
        )
    return s._replace(woken=(*s.woken, tid))


def _due(timers: tuple[Pending, ...], now: float) -> list[Pending]:
    """The timers due at `now` in the order the model fires them
    (`queries.due_timers`: by deadline, ties in scheduling order)."""
    by_seq = sorted(timers, key=lambda t: t[1])
    model = State(
        (),
        (),
        (),
        (),
        now=_ticks(now),
        timers=tuple(Timer(_deadline(t[0]), i) for i, t in enumerate(by_seq)),
    )
    return [by_seq[tm.tid] for tm in due_timers(model)]


def _ticks(seconds: float) -> int:
    """A finite reading in whole ticks of 2**-1074 s, exactly, so that
    order is kept (as the asyncio validator's `ticks`)."""
    numerator, denominator = seconds.as_integer_ratio()
    return numerator * (2**1074 // denominator)


def _deadline(seconds: float) -> float:
    """A deadline in ticks; an infinite one never fires (timer.infinite)."""
    return seconds if math.isinf(seconds) else _ticks(seconds)


def _fire(s: Trace, e: Fire, names: Mapping[int, str]) -> Trace | Violation:
    t = _clock(s, e.now)
    if isinstance(t, Violation):
        return t
    tid = e.tid
    mine = [p for p in t.timers if p[2] == tid]
    # spec: timer.fire
    if not mine:
        return Violation(
            "timer.fire",
            f"a timer of {_who(names, tid)} fired, but none was pending",
            t.now,
        )
    timer = mine[0]
    due = _due((*t.timers, *([t.fired] if t.fired else [])), t.now)
    if timer not in due:
        return Violation(
            "timer.fire",
            f"a timer of {_who(names, tid)} fired before its deadline "
            f"{timer[0]:g} by the loop's clock",
            t.now,
        )
    # spec: timer.order
    if t.fired is not None and due.index(timer) < due.index(t.fired):
        return Violation(
            "timer.order",
            f"a timer of {_who(names, tid)} (deadline {timer[0]:g}) fired after "
            "one scheduled after it with a deadline no earlier",
            t.now,
        )
    timers = tuple(p for p in t.timers if p != timer)
    return t._replace(timers=timers, fired=timer)


def _run(s: Trace, e: Run, names: Mapping[int, str]) -> Trace | Violation:
    t = _clock(s, e.now)
    if isinstance(t, Violation):
        return t
    tid, after, now = e.tid, e.after, t.now
    # spec: tick.ready-snapshot
    if tid in t.done:
        return Violation(
            "tick.ready-snapshot",
            f"the loop ran {_who(names, tid)}, which had finished",
            now,
        )
    snapshot = t.snapshot
    if snapshot is None:
        return _drain_begins(t, (tid, *after), names)
    pos = t.pos
    if pos >= len(snapshot):
        return Violation(
            "tick.ready-snapshot",
            f"the loop ran {_who(names, tid)}, queued during the drain, in it",
            now,
        )
    if tid != snapshot[pos]:
        why = "which was not runnable when the drain began"
        if tid in snapshot[:pos]:
            why = "a second time in one drain"
        elif tid in snapshot:
            why = f"before {_who(names, snapshot[pos])}, ahead of it in the queue"
        return Violation(
            "tick.ready-snapshot", f"the loop ran {_who(names, tid)} {why}", now
        )
    rest = snapshot[pos + 1 :]
    # spec: cont.resume-enqueues
    if after[: len(rest)] != rest:
        return Violation(
            "cont.resume-enqueues",
            f"the run queue's front changed during the drain: {rest} became "
            f"{after[: len(rest)]} (a task joined it other than at the back)",
            now,
        )
    queue = t.queue or ()
    moved = (
        f"the run queue changed during the drain: {queue[1:]} became "
        f"{after[: len(queue) - 1]} (a task joined it other than at the back)"
    )
    if after[: len(queue) - 1] != queue[1:]:
        return Violation("cont.resume-enqueues", moved, now)
    # What joined was parked: not the task just taken from the front either.
    bad = _parked(t, queue, after[len(queue) - 1 :], names)
    if bad is not None:
        return bad
    return t._replace(queue=after, pos=pos + 1)


def _drain_begins(
    t: Trace, snapshot: tuple[int, ...], names: Mapping[int, str]
) -> Trace | Violation:
    """The drain's first task ran: the queue it began with is the last
    iteration's, then the tasks the head resumed, woken in wake order."""
    prev = t.queue or ()
    now = t.now
    # spec: tick.ready-snapshot
    if snapshot[: len(prev)] != prev:
        return Violation(
            "tick.ready-snapshot",
            f"the drain began with {_who(names, snapshot[0])}, but the run queue "
            f"left by the last iteration was {prev}",
            now,
        )
    # spec: tick.wake-order
    new = [x for x in snapshot[len(prev) :] if x in t.woken]
    if new != [x for x in t.woken if x in new]:
        return Violation(
            "tick.wake-order",
            f"the woken tasks joined the run queue as {new}, not in the order "
            f"they were woken {list(t.woken)}",
            now,
        )
    # spec: inv.one-place
    if len(set(snapshot)) != len(snapshot):
        return Violation(
            "inv.one-place", f"a task is in the run queue twice: {snapshot}", now
        )
    bad = _parked(t, prev, snapshot[len(prev) :], names)
    if bad is not None:
        return bad
    return t._replace(snapshot=snapshot, pos=1, queue=snapshot[1:])


def _end(
    s: Trace, queue: tuple[int, ...], names: Mapping[int, str]
) -> Trace | Violation:
    snapshot = s.snapshot
    # spec: tick.ready-snapshot
    if snapshot is not None and s.pos < len(snapshot):
        return Violation(
            "tick.ready-snapshot",
            f"the drain ended without running {_who(names, snapshot[s.pos])}, "
            "which was queued when it began",
            s.now,
        )
    before = s.queue or ()
    if snapshot is None:
        moved = "the run queue changed in an iteration that ran nothing"
    else:
        moved = (
            f"the run queue changed during the drain: {before} became "
            f"{queue[: len(before)]} (a task joined it other than at the back)"
        )
    bad = _behind(s, before, queue, names, moved)
    if bad is not None:
        return bad
    return s._replace(queue=queue, snapshot=None, pos=0)


def _wind_up(
    s: Trace, queue: tuple[int, ...], names: Mapping[int, str]
) -> Trace | Violation:
    """The run winds up, between iterations or in one an exception cut
    short (its check ends there: what it had not run stays queued)."""
    before = s.queue or ()
    moved = f"the run queue changed before the wind-up: {before} became {queue}"
    # spec: explore.validate.native.shutdown
    bad = _behind(s, before, queue, names, moved)
    if bad is not None:
        return bad
    return s._replace(queue=queue, snapshot=None, pos=0, winding=True)
