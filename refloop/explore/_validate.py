"""Trace validation: the asyncio-level model (refloop/model/aio.py) stepped
beside the trace of a real run, each decision the loop took checked against
what the model allows from the state before it (spec: explore.validate).

Rules this module keeps:

1. The model is driven by the trace's inputs alone: `Soon`, `At`, `Cancel`,
   `Watch` and `Unwatch` are the model's outside calls, `Poll` is the
   environment's readiness, a `Drain`'s clock reading is its time. The
   loop's decisions are then checked: each `Drain`'s queue (what the
   iteration put in the run queue: ready watchers in registration order,
   then due timers by deadline, behind what was there) against
   `model.aio.queue_ready`, and each `Run` against the front of the drain's
   snapshot, cancelled handles skipped.
2. The first decision the model does not allow is the result: a
   `TraceViolation` naming the rule, the event's index and the virtual time.
3. Time is the model's whole ticks: a tick is 2**-1074 s, the resolution of
   a float, so converting a deadline or a clock reading is exact and keeps
   its order (`ticks`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..model import aio as model
from ._events import Aborted, At, Cancel, Drain, Event, Poll, Run, Soon, Unwatch, Watch

__all__ = ["TraceViolation", "Validator", "ticks", "validate"]

_SCALE = 2**1074


class TraceViolation(Exception):
    """The loop took a decision the model does not allow (a bug in the
    loop, not in the test); `rule` is the spec rule it breaks."""

    def __init__(self, message: str, rule: str, index: int) -> None:
        super().__init__(f"{message} [{rule}] (trace event {index})")
        self.rule = rule
        self.index = index
        # The test's own error in the same run, if it failed too.
        self.test_error: BaseException | None = None


def ticks(seconds: float) -> int:
    """`seconds` in the model's ticks (2**-1074 s each), exactly."""
    numerator, denominator = seconds.as_integer_ratio()
    return numerator * (_SCALE // denominator)


def _sock(fd: int) -> str:
    return f"fd{fd}"


class Validator:
    """The model stepped beside a trace, one event at a time."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names
        self.s = model.AioState()
        self.left = 0  # model entries of the current drain not yet taken
        self.snapshot: Sequence[int | None] = ()  # the loop's, this drain
        self.pos = 0
        self.polled: frozenset[tuple[str, str]] | None = None
        self.now = 0.0
        self.deadline: dict[int, float] = {}
        self.watcher: dict[int, tuple[int, str]] = {}
        self.index = -1
        self.violation: TraceViolation | None = None

    def online(self, event: Event) -> None:
        """Step `event` as the run records it: the first violation is
        raised, and raised again at every later drain, so that a loop that
        broke a rule stops (one that never polls would spin forever)."""
        if self.violation is not None:
            if isinstance(event, Drain):
                raise self.violation
            return
        try:
            self.step(event)
        except TraceViolation as violation:
            self.violation = violation
            raise

    def fail(self, message: str, rule: str) -> TraceViolation:
        return TraceViolation(
            f"at virtual time {self.now:g}: {message}", rule, self.index
        )

    def what(self, entry: int) -> str:
        if entry < 0:
            return f"native task {-1 - entry}"
        name = self.names.get(entry, "?")
        if entry in self.deadline:
            return f"timer #{entry} ({name}, deadline {self.deadline[entry]:g})"
        if entry in self.watcher:
            fd, direction = self.watcher[entry]
            return f"{direction} watcher #{entry} of fd {fd} ({name})"
        return f"handle #{entry} ({name})"

    # ------------------------------------------------------------ inputs

    def step(self, event: Event) -> None:
        self.index += 1
        s = self.s
        # The commonest events first: a run, a call_soon, a drain.
        if isinstance(event, Run):
            self.run(event.entry)
        elif isinstance(event, Soon):
            self.s = model.call_soon(s, model.Callback(event.entry))
        elif isinstance(event, Drain):
            self.drain(event)
        elif isinstance(event, At):
            self.deadline[event.entry] = event.when
            if math.isfinite(event.when):  # an infinite deadline never fires
                cb = model.Callback(event.entry)
                self.s = model.call_at(s, ticks(event.when), cb)
        elif isinstance(event, Cancel):
            self.s = model.cancel(s, event.entry)
        elif isinstance(event, Poll):
            self.polled = frozenset((_sock(fd), d) for fd, d in event.ready)
        elif isinstance(event, Watch):
            self.watcher[event.entry] = (event.fd, event.direction)
            cb = model.Callback(event.entry)
            self.s = model.add_watcher(s, _sock(event.fd), event.direction, cb)
        elif isinstance(event, Unwatch):
            self.s = model.remove_watcher(s, _sock(event.fd), event.direction)
        elif isinstance(event, Aborted):
            self.left = 0  # what it had not run stays at the queue's front

    # ------------------------------------------------------------ decisions

    def drain(self, event: Drain) -> None:
        s = self.s
        for cb in s.ready[: self.left]:
            if cb.label not in s.cancelled:
                # spec: explore.validate
                raise self.fail(
                    f"the drain ended without running {self.what(cb.label)}, "
                    "which was queued when it began",
                    "tick.ready-snapshot",
                )
        s = s._replace(ready=s.ready[self.left :])
        if event.now < self.now:
            raise self.fail(
                f"the clock went back from {self.now:g} to {event.now:g}",
                "timer.clock",
            )
        self.now = event.now
        s = model.advance(s, ticks(event.now) - s.now)
        if self.polled is None and any(
            w.callback.label not in s.cancelled for w in s.watchers
        ):
            raise self.fail(
                "the iteration skipped its poll while a watcher was registered",
                "tick.poll-skip",
            )
        if None in event.queue:
            raise self.fail(
                "the run queue holds a handle that no call of the loop "
                "scheduled (call_soon, call_at, a watcher)",
                "aio.run-queue",
            )
        s = model.queue_ready(s, self.polled or frozenset())
        self.s, self.left, self.polled = s, len(s.ready), None
        self.snapshot, self.pos = event.queue, 0
        expected = [cb.label for cb in s.ready if cb.label not in s.cancelled]
        got = [e for e in event.queue if e is not None and e >= 0]
        got = [e for e in got if e not in s.cancelled]
        if expected != got:
            raise self.queue_mismatch(expected, got)

    def queue_mismatch(self, expected: list[int], got: list[int]) -> TraceViolation:
        s = self.s
        i = next(
            (i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
            min(len(expected), len(got)),
        )
        extra = (
            got[i]
            if i < len(got) and got.count(got[i]) > expected.count(got[i])
            else None
        )
        if extra is not None:
            pending = {t.callback.label for t in s.timers}
            if extra in pending:
                return self.fail(
                    f"{self.what(extra)} fired before its deadline", "aio.timer.order"
                )
            if extra in self.watcher:
                return self.fail(
                    f"{self.what(extra)} was queued, but the poll did not report "
                    "its descriptor ready",
                    "aio.watch.level",
                )
            return self.fail(
                f"{self.what(extra)} is in the run queue, but it was not "
                "scheduled (again) since it last ran",
                "aio.run-queue",
            )
        if i < len(expected) and expected[i] not in got:
            missing = expected[i]
            if missing in self.deadline:
                return self.fail(
                    f"{self.what(missing)} was due, but the loop did not fire it",
                    "aio.timer.order",
                )
            if missing in self.watcher:
                return self.fail(
                    f"the poll reported {self.what(missing)} ready, but the loop "
                    "did not queue it",
                    "aio.watch.level",
                )
            return self.fail(
                f"{self.what(missing)} was scheduled, but is not in the run queue",
                "aio.call-soon",
            )
        a, b = got[i], expected[i]
        rule = "aio.iteration"
        if a in self.deadline and b in self.deadline:
            rule = "aio.timer.order"
        elif a in self.watcher and b in self.watcher:
            rule = "aio.watch.order"
        return self.fail(
            f"the loop queued {self.what(a)} where the model queues {self.what(b)}",
            rule,
        )

    def run(self, entry: int) -> None:
        s, snapshot = self.s, self.snapshot
        pos = self.pos
        if pos < len(snapshot) and snapshot[pos] == entry and self.left:
            ready = s.ready
            if ready[0].label == entry and entry not in s.cancelled:
                # The common case: the front ran.
                self.pos, self.left = pos + 1, self.left - 1
                self.s = s._replace(ready=ready[1:])
                return
        while pos < len(snapshot) and snapshot[pos] in s.cancelled:
            pos += 1  # the loop skips what is cancelled
        if pos < len(snapshot) and snapshot[pos] == entry:
            self.pos = pos + 1
            if entry >= 0:
                self.take(entry)
            return
        raise self.run_mismatch(entry, snapshot[pos] if pos < len(snapshot) else None)

    def take(self, entry: int) -> None:
        """Take the model's entries up to `entry`, the next uncancelled one."""
        s = self.s
        ready, left = s.ready, self.left
        while left and ready[0].label != entry:
            ready, left = ready[1:], left - 1
        if left:
            self.s, self.left = s._replace(ready=ready[1:]), left - 1

    def run_mismatch(self, entry: int, front: int | None) -> TraceViolation:
        s = self.s
        # spec: explore.validate
        if entry >= 0 and entry in s.cancelled:
            return self.fail(
                f"the loop ran {self.what(entry)}, which was cancelled",
                "aio.cancelled-skip",
            )
        rest = self.snapshot[self.pos :]
        if entry in rest and front is not None:
            return self.fail(
                f"the loop ran {self.what(entry)} before {self.what(front)}, "
                "which was queued before it",
                "aio.run-queue",
            )
        queued_since = any(cb.label == entry for cb in s.ready[self.left :])
        if queued_since:
            return self.fail(
                f"the loop ran {self.what(entry)} in the drain that queued it",
                "tick.ready-snapshot",
            )
        pending = {t.callback.label for t in s.timers}
        if entry in pending:
            return self.fail(
                f"the loop ran {self.what(entry)} before its deadline",
                "aio.timer.order",
            )
        return self.fail(
            f"the loop ran {self.what(entry)}, which was not in the run queue "
            "(it ran already, or was never scheduled)",
            "aio.run-queue",
        )


def validate(events: Sequence[Event], names: dict[int, str]) -> TraceViolation | None:
    """The first decision in `events` that the model does not allow, if any."""
    checker = Validator(names)
    try:
        for event in events:
            checker.step(event)
    except TraceViolation as violation:
        return violation
    return None
