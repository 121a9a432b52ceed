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
        # False once the run winds up (its shutdown is not checked).
        self.recording = True

    def _add(self, event: NEvent) -> None:
        if not self.recording:
            return
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


class NativeChecker:
    """The native loop's scheduling rules, checked event by event."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.index = -1
        self.now = 0.0
        self.queue: tuple[int, ...] | None = None  # left by the last iteration
        self.timers: list[tuple[float, int, int]] = []
        self.waiters: tuple[int, ...] = ()
        self.woken: list[int] = []
        self.fired: tuple[float, int] | None = None
        self.snapshot: tuple[int, ...] | None = None  # this drain's
        self.pos = 0
        self.done: set[int] = set()
        self.violation: TraceViolation | None = None

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
        if self.violation is not None and event[0] in ("begin", "end"):
            raise self.violation

    def fail(self, message: str, rule: str) -> TraceViolation:
        return TraceViolation(
            f"at virtual time {self.now:g}: {message}", rule, self.index
        )

    def who(self, tid: int) -> str:
        return f"task {self.names.get(tid, '?')!r} (#{tid})"

    def clock(self, now: float) -> None:
        # spec: explore.validate.native
        if now < self.now:
            raise self.fail(
                f"the clock went back from {self.now:g} to {now:g}", "timer.clock"
            )
        self.now = now

    def step(self, event: NEvent) -> None:
        self.index += 1
        kind = event[0]
        if kind == "run":
            self.clock(event[2])
            self.run(event[1], event[3])
        elif kind == "begin":
            self.begin(event[1], event[2], event[3], event[4])
        elif kind == "end":
            self.end(event[1])
        elif kind == "wake":
            self.wake(event[1])
        elif kind == "fire":
            self.clock(event[2])
            self.fire(event[1])
        elif kind == "done":
            self.done.add(event[1])

    def begin(
        self,
        now: float,
        queue: tuple[int, ...],
        timers: tuple[tuple[float, int, int], ...],
        waiters: tuple[int, ...],
    ) -> None:
        self.clock(now)
        if self.queue is not None and queue != self.queue:
            raise self.fail(
                f"the run queue changed between iterations: {self.queue} "
                f"became {queue}",
                "cont.resume-enqueues",
            )
        self.queue = queue
        self.timers = sorted(timers)
        self.waiters = waiters
        self.woken, self.fired, self.snapshot, self.pos = [], None, None, 0

    def wake(self, tid: int) -> None:
        # spec: explore.validate.native
        order = self.waiters
        if tid not in order:
            raise self.fail(
                f"the loop woke {self.who(tid)}, which was not waiting",
                "tick.wake-order",
            )
        if self.woken and order.index(tid) < order.index(self.woken[-1]):
            raise self.fail(
                f"the loop woke {self.who(tid)} after {self.who(self.woken[-1])}, "
                "which registered after it",
                "tick.wake-order",
            )
        self.woken.append(tid)

    def fire(self, tid: int) -> None:
        mine = [t for t in self.timers if t[2] == tid]
        if not mine:
            raise self.fail(
                f"a timer of {self.who(tid)} fired, but none was pending", "timer.fire"
            )
        when, seq, _ = mine[0]
        if when > self.now:
            raise self.fail(
                f"a timer of {self.who(tid)} fired before its deadline "
                f"{when:g} by the loop's clock",
                "timer.fire",
            )
        if self.fired is not None and (when, seq) < self.fired:
            raise self.fail(
                f"a timer of {self.who(tid)} (deadline {when:g}) fired after one "
                "scheduled after it with a deadline no earlier",
                "timer.order",
            )
        self.fired = (when, seq)
        self.timers.remove(mine[0])

    def run(self, tid: int, after: tuple[int, ...]) -> None:
        if tid in self.done:
            raise self.fail(
                f"the loop ran {self.who(tid)}, which had finished",
                "tick.ready-snapshot",
            )
        snapshot = self.snapshot
        if snapshot is None:  # the drain begins
            snapshot = self.snapshot = (tid, *after)
            prev = self.queue or ()
            if snapshot[: len(prev)] != prev:
                raise self.fail(
                    f"the drain began with {self.who(tid)}, but the run queue "
                    f"left by the last iteration was {prev}",
                    "tick.ready-snapshot",
                )
            new = [t for t in snapshot[len(prev) :] if t in self.woken]
            if new != [t for t in self.woken if t in new]:
                raise self.fail(
                    f"the woken tasks joined the run queue as {new}, not in the "
                    f"order they were woken {self.woken}",
                    "tick.wake-order",
                )
            if len(set(snapshot)) != len(snapshot):
                raise self.fail(
                    f"a task is in the run queue twice: {snapshot}", "inv.one-place"
                )
            self.pos = 1
            return
        pos = self.pos
        if pos >= len(snapshot):
            raise self.fail(
                f"the loop ran {self.who(tid)}, queued during the drain, in it",
                "tick.ready-snapshot",
            )
        if tid != snapshot[pos]:
            rule = "tick.ready-snapshot"
            why = "which was not runnable when the drain began"
            if tid in snapshot[:pos]:
                why = "a second time in one drain"
            elif tid in snapshot:
                why = f"before {self.who(snapshot[pos])}, ahead of it in the queue"
            raise self.fail(f"the loop ran {self.who(tid)} {why}", rule)
        rest = snapshot[pos + 1 :]
        if after[: len(rest)] != rest:
            raise self.fail(
                f"the run queue's front changed during the drain: {rest} became "
                f"{after[: len(rest)]} (a task joined it other than at the back)",
                "cont.resume-enqueues",
            )
        self.pos = pos + 1

    def end(self, queue: tuple[int, ...]) -> None:
        snapshot = self.snapshot
        if snapshot is not None and self.pos < len(snapshot):
            raise self.fail(
                f"the drain ended without running {self.who(snapshot[self.pos])}, "
                "which was queued when it began",
                "tick.ready-snapshot",
            )
        if snapshot is None and queue[: len(self.queue or ())] != (self.queue or ()):
            raise self.fail(
                "the run queue changed in an iteration that ran nothing",
                "cont.resume-enqueues",
            )
        self.queue = queue


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
