"""The values of refloop.model.schedule: the typed events of a native run's
trace, the `Trace` state the model keeps between them, and a `Violation`
(spec: explore.validate.native). Pure values; the rules are in schedule.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Begin",
    "Done",
    "End",
    "Fire",
    "Idle",
    "Pending",
    "Report",
    "Run",
    "Spawn",
    "Trace",
    "TraceEvent",
    "Violation",
    "Wake",
    "WindUp",
]

# A pending timer as the trace shows it: (deadline, sequence number, task).
Pending = tuple[float, int, int]


class Spawn(NamedTuple):
    tid: int


class Begin(NamedTuple):
    now: float
    queue: tuple[int, ...]
    timers: tuple[Pending, ...]
    waiters: tuple[int, ...]


class Wake(NamedTuple):
    tid: int


class Fire(NamedTuple):
    tid: int
    now: float


class Idle(NamedTuple):
    tid: int


class Run(NamedTuple):
    tid: int
    now: float
    after: tuple[int, ...]


class Done(NamedTuple):
    tid: int


class Report(NamedTuple):
    tid: int


class End(NamedTuple):
    queue: tuple[int, ...]


class WindUp(NamedTuple):
    queue: tuple[int, ...]


TraceEvent = Spawn | Begin | Wake | Fire | Idle | Run | Done | Report | End | WindUp


class Violation(NamedTuple):
    """A decision the rules do not allow: the rule, what happened, and the
    clock's reading then."""

    rule: str
    message: str
    now: float


class Trace(NamedTuple):
    now: float = 0.0
    # The run queue as last seen: at the iteration's begin, behind each task
    # the drain took, at its end. None before the first iteration.
    queue: tuple[int, ...] | None = None
    # This iteration's pending timers, by (deadline, seq), and the last fired.
    timers: tuple[Pending, ...] = ()
    fired: Pending | None = None
    waiters: tuple[int, ...] = ()
    woken: tuple[int, ...] = ()
    # The queue when the drain began, and how many of it have run.
    snapshot: tuple[int, ...] | None = None
    pos: int = 0
    spawned: frozenset[int] = frozenset()
    done: frozenset[int] = frozenset()
    # The wind-up began: its cancellations resume tasks between iterations.
    winding: bool = False
