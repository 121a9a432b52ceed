"""A closed system: the programs, the environment and its bounds, and the
properties to check, like a TLC model configuration; and its expected
verdict, so that `refloop check` can tell a regression from a known result.

A system file in `models/` defines `SYSTEMS` (a list) or `SYSTEM`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, assert_never

from ...model import (
    Accept,
    AwaitThread,
    CancelScopes,
    Close,
    EndCancelScope,
    EndMoveOnAfter,
    InThread,
    Join,
    MoveOnAfter,
    OnClose,
    Op,
    OpenCancelScope,
    Program,
    Recv,
    Send,
    SendAll,
    Sleep,
    State,
    Suspend,
    SyncCall,
    WaitIdle,
    YieldNow,
)
from .env import Process

__all__ = [
    "LIVENESS",
    "NO_DEADLOCK",
    "READY_WAKES",
    "RUNNABLE_RUNS",
    "TERMINATES",
    "Forever",
    "Property",
    "System",
    "World",
    "load",
]

TERMINATES = "prop.terminates"
RUNNABLE_RUNS = "prop.fair.runnable-runs"
READY_WAKES = "prop.fair.ready-wakes"
NO_DEADLOCK = "prop.no-deadlock"
LIVENESS = (TERMINATES, RUNNABLE_RUNS, READY_WAKES)


def foldable(op: Op) -> bool:
    """Whether a Forever body may use `op`: whether the task's state keeps
    no pc of it (a timer's or a scope's, say), so that folding the task's
    pc back into its first period loses nothing."""
    match op:
        case Recv() | Send() | SendAll() | Accept() | Close() | YieldNow() | Join():
            return True
        case Sleep():
            return True
        case WaitIdle() | AwaitThread() | InThread() | MoveOnAfter():
            return False
        case EndMoveOnAfter():
            return False
        case OpenCancelScope() | EndCancelScope() | CancelScopes() | Suspend():
            return False
        case OnClose():
            return False
        case SyncCall():
            # The state keeps no pc of them, but a lock's owner and a handed
            # item outlive a period; no system folds them yet.
            return False
        case _:
            assert_never(op)


class World(NamedTuple):
    """What the checker stores: the model's state, how far the loop is into
    its current iteration (`phase`: tasks of the snapshot still to run, 0
    between iterations), and each environment process's own state."""

    state: State
    phase: int
    env: tuple[Hashable, ...]


@dataclass(frozen=True)
class Forever:
    """A task that runs `body` again and again and never finishes.

    Programs cannot loop, and the model stays as it is: the checker gives
    such a task the program `body * 2` and, after every step, takes one
    period off its pc (and drops its log) once the pc passes `body`. The
    rest of the program is then the same infinite word as before, so the
    two states behave alike, and a task that yields forever has finitely
    many states. `body` must contain a `YieldNow`, so one run never reaches
    the end of `body * 2`.
    """

    body: Program


@dataclass(frozen=True)
class Property:
    """A system's own property: `holds(world)` must be true in every state
    (`System.always`) or in every state where the system has finished
    (`System.at_end`).

    An `always` property that reads what the environment changes (bytes on
    sockets, a peer's state, the clock) must say so with `env=True`: the
    macro-step reduction reorders environment steps, which only properties
    blind to them cannot tell (spec: prop.reduce.macro)."""

    id: str
    text: str
    holds: Callable[[World], bool]
    env: bool = False


# spec: prop.closed-system
@dataclass(frozen=True)
class System:
    name: str
    tasks: tuple[Program | Forever, ...]
    env: tuple[Process, ...] = ()
    streams: tuple[str, ...] = ()
    listeners: tuple[str, ...] = ()
    budget: int = 3
    capacity: int = 8
    # Channels by name and capacity (spec/11-sync.md); locks and events need
    # no declaring.
    channels: tuple[tuple[str, int], ...] = ()
    always: tuple[Property, ...] = ()
    at_end: tuple[Property, ...] = ()
    # The liveness properties to check, under weak fairness (prop.fairness).
    liveness: tuple[str, ...] = LIVENESS
    # "refloop" (the model's run_once), "seed" (drain until empty), or a
    # deliberately broken policy from refloop.check.systems.broken.
    policy: str = "refloop"
    # The ids expected to fail; empty: the system is expected to pass.
    expect: tuple[str, ...] = ()
    # Groups of task numbers with identical programs that may be swapped.
    symmetric: tuple[tuple[int, ...], ...] = ()
    max_depth: int | None = None
    max_states: int = 400_000
    doc: str = field(default="", compare=False)

    def variant(self, **changes: object) -> System:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def forever(self) -> dict[int, int]:
        """Task number -> length of the body it repeats."""
        return {
            tid: len(spec.body)
            for tid, spec in enumerate(self.tasks)
            if isinstance(spec, Forever)
        }

    def programs(self, periods: int = 2) -> tuple[Program, ...]:
        return tuple(
            tuple(spec.body) * periods if isinstance(spec, Forever) else spec
            for spec in self.tasks
        )

    def problems(self) -> list[str]:
        found = []
        if self.forever() and TERMINATES in self.liveness:
            found.append(f"{self.name}: a Forever task cannot terminate")
        for tid, spec in enumerate(self.tasks):
            if not isinstance(spec, Forever):
                continue
            if not any(isinstance(op, YieldNow) for op in spec.body):
                found.append(f"{self.name}: task {tid}'s Forever body has no YieldNow")
            odd = sorted({type(op).__name__ for op in spec.body if not foldable(op)})
            if odd:
                found.append(
                    f"{self.name}: task {tid}'s Forever body uses {odd}, whose "
                    "state may remember a pc"
                )
        for group in self.symmetric:
            if len({self.tasks[t] for t in group}) != 1:
                found.append(f"{self.name}: symmetric tasks {group} differ")
            for spec in self.tasks:
                ops = spec.body if isinstance(spec, Forever) else spec
                if any(getattr(op, "tid", None) in group for op in ops):
                    found.append(f"{self.name}: a program joins symmetric {group}")
            for proc in self.env:
                if set(getattr(proc, "tids", ())) & set(group):
                    found.append(f"{self.name}: {proc.name} names symmetric {group}")
        return found


def load(path: Path) -> list[System]:
    """The systems a model file defines."""
    name = f"refloop_models_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a system from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    systems = getattr(module, "SYSTEMS", None)
    if systems is None:
        systems = [module.SYSTEM]
    for system in systems:
        if not isinstance(system, System):
            raise TypeError(f"{path}: {system!r} is not a System")
    return list(systems)
