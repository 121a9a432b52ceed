"""The trace of a native explored run (a `refloop.Loop`), and its check
against the native loop's rules (spec: explore.validate.native).

Rules this module keeps:

1. The loop is not changed: the recorder is the loop's `trace` callback
   (spawn, wake, fire, idle, run, report) and the driver's `begin` and `end`
   around each `run_once`; at those points it reads the run queue, the
   pending timers and the waiters. Any `Loop` subclass is recorded the same
   way, which is how the broken loops (refloop/testing/broken.py) are
   caught from their trace alone.
2. The trace is tuples of ints and floats, nothing of the loop's objects:
   a stored trace validates to the same verdict later (`check`).
3. `NativeChecker` steps the events and raises `TraceViolation` at the first
   decision the loop's rules do not allow, naming the rule.
4. With `steps` (a list), the recorder also collects the run's timeline
   (refloop/explore/_timeline.py): one `Step` per task step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._errors import Cancelled
from .._loop import Loop
from .._task import Task
from ..model import schedule
from ..model.schedule import TraceEvent
from ._timeline import Step
from ._validate import TraceViolation

__all__ = ["NativeChecker", "NativeRecorder", "check"]

NEvent = tuple[Any, ...]


class NativeRecorder:
    """Records one native run's trace; `loop_class` is the loop to run
    (a broken one, to show the checker catches it)."""

    def __init__(self, loop_class: type[Loop] = Loop) -> None:
        if not (isinstance(loop_class, type) and issubclass(loop_class, Loop)):
            raise TypeError(
                f"NativeRecorder(loop_class=...) needs a refloop.Loop subclass, "
                f"got {loop_class!r}"
            )
        self.loop_class = loop_class
        self.events: list[NEvent] = []
        self.names: dict[int, str] = {}
        self.loop: Loop | None = None
        self.clock: Callable[[], float] = lambda: 0.0
        self.steps: list[Step] | None = None
        # Called with each event as it is recorded; what it raises stops
        # the run (the online checker).
        self.check: Callable[[NEvent], None] | None = None
        self._last: Task[Any] | None = None
        self._cancel = False

    def _add(self, event: NEvent) -> None:
        self.events.append(event)
        if self.check is not None:
            self.check(event)

    def __call__(self, what: str, task: Task[Any]) -> None:
        """The loop's trace callback."""
        loop = self.loop
        assert loop is not None
        if what == "run":
            self._settle()
            self._last = task
            exc = task._throw
            self._cancel = exc is not None and isinstance(exc, Cancelled)
            after = tuple(t.tid for t in loop._ready)
            self._add(("run", task.tid, self.clock(), after))
        elif what == "spawn":
            self.names[task.tid] = task.name
            self._add(("spawn", task.tid))
        elif what == "fire":
            self._add(("fire", task.tid, self.clock()))
        else:  # wake, idle, report
            self._add((what, task.tid))

    def _settle(self) -> None:
        """Note how the task stepped last ended its step."""
        task, self._last = self._last, None
        if task is None:
            return
        if task.done():
            self._add(("done", task.tid))
        if self.steps is not None:
            label = f"{task.name} #{task.tid}"  # one row per task, names repeat
            self.steps.append(Step(label, self.clock(), _then(task), self._cancel))

    def begin(self, loop: Loop) -> None:
        """Before an iteration: the clock, queue, pending timers, waiters."""
        timers = tuple(
            (h.when, h.seq, h.task.tid)
            for h in loop._timers.handles()
            if h.task is not None
        )
        waiters = tuple(w.task.tid for w in loop._waiters.view())
        queue = tuple(t.tid for t in loop._ready)
        self._add(("begin", self.clock(), queue, timers, waiters))

    def end(self, loop: Loop) -> None:
        """After an iteration: the queue it left."""
        self._settle()
        self._add(("end", tuple(t.tid for t in loop._ready)))

    def wind_up(self, loop: Loop) -> None:
        """Before the run winds up (`loop.shutdown`): the queue then; and
        each of shutdown's iterations is bracketed by `begin` and `end` as
        the driver brackets `run_once`, by wrapping this loop's `_iterate`
        (its instance only: the class is not changed)."""
        self._settle()
        # spec: explore.validate.native.shutdown
        self._add(("windup", tuple(t.tid for t in loop._ready)))
        iterate = loop._iterate

        def bracketed(timeout: float | None) -> None:
            self.begin(loop)
            iterate(timeout)
            self.end(loop)

        loop._iterate = bracketed  # type: ignore[method-assign]


def _then(task: Task[Any]) -> str:
    if task.done():
        if task.cancelled():
            return "cancelled"
        exc = task._exception
        return "done" if exc is None else f"failed: {type(exc).__name__}"
    name = "?"  # the innermost coroutine awaited (refloop's operations
    coro: Any = task._coro  # below it are generators: suspend, park)
    while coro is not None and hasattr(coro, "cr_code"):
        name = coro.cr_code.co_name
        coro = coro.cr_await
    return f"wait {name}"


def decode(raw: NEvent) -> TraceEvent:
    """A recorded event (plain numbers) as the model's typed value."""
    match raw:
        case ("run", tid, now, after):
            return schedule.Run(tid, now, after)
        case ("begin", now, queue, timers, waiters):
            return schedule.Begin(now, queue, timers, waiters)
        case ("end", queue):
            return schedule.End(queue)
        case ("wake", tid):
            return schedule.Wake(tid)
        case ("fire", tid, now):
            return schedule.Fire(tid, now)
        case ("done", tid):
            return schedule.Done(tid)
        case ("spawn", tid):
            return schedule.Spawn(tid)
        case ("idle", tid):
            return schedule.Idle(tid)
        case ("report", tid):
            return schedule.Report(tid)
        case ("windup", queue):
            return schedule.WindUp(queue)
    raise ValueError(f"not an event of a native trace: {raw!r}")


class NativeChecker:
    """The model of the native loop's scheduling (refloop/model/schedule.py)
    stepped beside a trace, event by event."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.index = -1
        self.state = schedule.Trace()
        self.violation: TraceViolation | None = None
        self.winding = False

    def online(self, event: NEvent) -> None:
        """Step `event` as the run records it. The first violation is raised
        at the driver's next `begin` or `end` (between iterations, so that
        no task is left half taken from the queue), and at every later one,
        so that the broken loop stops."""
        if self.violation is None:
            try:
                self.step(event)
            except TraceViolation as violation:
                self.violation = violation
        if event[0] == "windup":
            self.winding = True
        # In the wind-up a violation is kept, not raised: shutdown ends
        # the run as it would (bounded by the explorer's poll budget).
        if (
            self.violation is not None
            and not self.winding
            and event[0]
            in (
                "begin",
                "end",
            )
        ):
            raise self.violation

    def step(self, event: NEvent) -> None:
        """Step the model by `event`; raises `TraceViolation` at the first
        decision it does not allow."""
        # spec: explore.validate.native
        self.index += 1
        after = schedule.step(self.state, decode(event), self.names)
        if isinstance(after, schedule.Violation):
            raise TraceViolation(
                f"at virtual time {after.now:g}: {after.message}",
                after.rule,
                self.index,
            )
        self.state = after


def check(events: Sequence[NEvent], names: dict[int, str]) -> TraceViolation | None:
    """The first decision in a stored native trace that the rules do not
    allow, if any."""
    checker = NativeChecker(names)
    try:
        for event in events:
            checker.step(event)
    except TraceViolation as violation:
        return violation
    return None
