"""The events the model's transitions emit: what happened, in order, as
typed values, each named as its transition or step is named in the spec,
the loop's trace and the harness.

This is the whole catalogue: `Event` is their union, and every place that
reads events dispatches on it with `match` and `assert_never`, so that
mypy --strict names each place a new kind of event is not handled.

- `event.Spawn(tid)`: `spawn` numbered the new task `tid` (spawn);
- `event.Poll(timeout)`: the iteration polled, waiting at most `timeout`
  ticks (0: did not wait; None: would block) (tick.poll-timeout);
- `event.Wake(tid)`: a waiter of task `tid` was ready (tick.wake-order);
- `event.Fire(tid)`: a timer of task `tid` fired: its sleep ended or a
  timeout scope's deadline passed (timer.fire);
- `event.Idle(tid)`: task `tid`'s wait for idleness was served (idle);
- `event.Run(tid)`: task `tid` ran, until it suspended or finished;
- `event.Report(tid)`: task `tid` failed and nobody joined it
  (task.fail.report);
- `event.PeerRecv(sock, data)`: the peer of `sock` read `data`
  (env.peer-recv).

The loop's trace callback reports the task events as `(name, task)`; the
harness turns them into these values with `TRACED`, so that the stateful
test compares values of one kind. `Poll` comes from the selector's shim,
`PeerRecv` from the harness's own read.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

__all__ = ["TRACED", "Event", "TaskEvent", "event"]


class _Event:
    """A short, exact repr: `event.Run(1)`, pasteable into a test."""

    __slots__ = ()
    name: ClassVar[str]

    def __repr__(self) -> str:
        values = ", ".join(repr(getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return f"event.{type(self).__name__}({values})"


class event:
    """The events, named as their transitions (a namespace, like the
    checker's `peer`: `event.Spawn` is the spawn transition's event, the
    action `Spawn` the transition itself)."""

    @dataclass(frozen=True, slots=True, repr=False)
    class Spawn(_Event):
        name: ClassVar[str] = "spawn"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class Poll(_Event):
        name: ClassVar[str] = "poll"
        # Ticks in the model; seconds (one tick each) on a real loop.
        timeout: float | None

    @dataclass(frozen=True, slots=True, repr=False)
    class Wake(_Event):
        name: ClassVar[str] = "wake"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class Fire(_Event):
        name: ClassVar[str] = "fire"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class Idle(_Event):
        name: ClassVar[str] = "idle"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class Run(_Event):
        name: ClassVar[str] = "run"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class Report(_Event):
        name: ClassVar[str] = "report"
        tid: int

    @dataclass(frozen=True, slots=True, repr=False)
    class PeerRecv(_Event):
        name: ClassVar[str] = "peer_recv"
        sock: str
        data: bytes


# The events that name one task, as the loop's trace callback reports them.
TaskEvent = (
    event.Spawn | event.Wake | event.Fire | event.Idle | event.Run | event.Report
)
Event = TaskEvent | event.Poll | event.PeerRecv

TRACED: dict[str, type[TaskEvent]] = {
    kind.name: kind
    for kind in (
        event.Spawn,
        event.Wake,
        event.Fire,
        event.Idle,
        event.Run,
        event.Report,
    )
}
