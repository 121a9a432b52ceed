"""What a loop must offer for `refloop.testing` to drive it and compare it
with the model: `LoopUnderTest`, made by a `LoopFactory`.

`Harness` (and so `LoopMachine` and `machine_for`) needs exactly this of a
loop, and nothing private:

- construction with keyword arguments `selector` (a `selectors.BaseSelector`
  to poll: the harness's shim), `clock` (a callable returning seconds: the
  harness's `VirtualClock`, one model tick per second), `budget` (operations
  a task completes in a row before it yields), `trace` (called as
  `trace(event, task)` for each event the model names: "spawn", "wake",
  "fire", "idle", "run", "report") and `report` (called with a task that
  failed and that nobody observed);
- `spawn(coro, name=...)`: run a model program (a coroutine the harness
  writes with refloop's operations) as a new task, numbered 0, 1, 2, ...;
- `run_once()`: one iteration, which polls the selector;
- the environment's actions: peers act on the sockets and the clock moves
  without the loop; `call_soon_threadsafe(fn, *args)` takes a call posted
  from another thread; `task.cancel()` cancels a task;
- `snapshot()`: the loop's state as a `refloop.Snapshot`;
- `close()`.

The tasks are `refloop.Task` objects and the programs use refloop's
operations (`refloop.recv`, `refloop.sleep`, ...). Those find the running
loop through `refloop._runtime` and need of it what
`refloop._runtime.RunningLoop` lists (a current task, a budget, a clock, ways to
park a continuation and to resume a task): a loop under test offers that
protocol as well, while it runs an iteration. `refloop.Loop` offers both;
tests/independent_loop.py is a loop that is not a subclass and offers both.

A loop whose socket operations differ from refloop's may bring its own as
`operations`, any object with `recv`, `send`, `sendall` and `accept` taking
refloop's arguments: the harness's programs then call those (the broken
loops of refloop.testing.broken that mishandle a fault do).
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from .._clock import Clock
from .._snapshot import Snapshot
from .._task import Task
from .._timers import TimerHandle

__all__ = ["LoopFactory", "LoopUnderTest"]

T = TypeVar("T")


class LoopUnderTest(Protocol):
    """A loop that `refloop.testing` can drive (see the module docstring)."""

    def spawn(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None
    ) -> Task[T]: ...

    def run_once(self, timeout: float | None = None) -> None: ...

    def call_soon_threadsafe(self, fn: Callable[..., object], *args: Any) -> None: ...

    def call_later(
        self, delay: float, fn: Callable[..., object], *args: Any
    ) -> TimerHandle: ...

    def call_when_idle(self, fn: Callable[..., object], *args: Any) -> TimerHandle: ...

    def close_socket(self, sock: socket.socket) -> None: ...

    def snapshot(self) -> Snapshot: ...

    def close(self) -> None: ...


class LoopFactory(Protocol):
    """Makes a loop under test: a class such as `refloop.Loop`, or a function."""

    def __call__(
        self,
        *,
        selector: selectors.BaseSelector,
        clock: Clock,
        budget: int,
        trace: Callable[[str, Task[Any]], None],
        report: Callable[[Task[Any]], None],
    ) -> LoopUnderTest: ...
