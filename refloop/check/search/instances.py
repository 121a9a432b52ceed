"""The liveness properties as the search evaluates them: the instances that
hold in a state, and those that a step ends. (The safety checks of a world
are in refloop.check.search.tables, remembered per state.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_never

from ...model import DONE, FAILED, RUNNABLE, WAITING, State, event, is_ready
from ...model import Event as ModelEvent
from ..systems.system import READY_WAKES, RUNNABLE_RUNS, TERMINATES, System, World

__all__ = ["ended", "exits_of", "finished", "instances", "predicates"]


def instances(system: System) -> int:
    """How many liveness instance bits there are: two per task, then one."""
    return 2 * len(system.tasks) + 1


def predicates(system: System) -> Callable[[State], int]:
    """The liveness instances that hold in a state, as bits: task t's
    `runnable` at bit 2t, `waits on a ready socket` at 2t+1, and `some task
    has not finished` at the last bit. They read only the model's state."""
    runs = RUNNABLE_RUNS in system.liveness
    wakes = READY_WAKES in system.liveness
    ends = TERMINATES in system.liveness
    last = 1 << (2 * len(system.tasks))

    def _pmask(s: State) -> int:
        mask = 0
        unfinished = False
        for t in s.tasks:
            if t.state == RUNNABLE:
                unfinished = True
                # spec: prop.fair.runnable-runs
                if runs:
                    mask |= 1 << (2 * t.tid)
            elif t.state == WAITING:
                unfinished = True
                # spec: prop.fair.ready-wakes
                if wakes and any(
                    w.tid == t.tid and w.kind != "join" and is_ready(s, w)
                    for w in s.waiters
                ):
                    mask |= 1 << (2 * t.tid + 1)
        # spec: prop.terminates
        if ends and unfinished:
            mask |= last
        return mask

    return _pmask


def exits_of(events: tuple[ModelEvent, ...]) -> tuple[int, bool]:
    """The instances these events end, and whether a task ran."""
    mask = 0
    ran = False
    for e in events:
        match e:
            case event.Run(tid):
                ran = True
                mask |= 3 << (2 * tid)
            case event.Wake(tid):
                mask |= 1 << (2 * tid + 1)
            case (
                event.Poll()
                | event.Fire()
                | event.Idle()
                | event.Report()
                | event.Spawn()
                | event.PeerRecv()
            ):
                pass
            case _:
                assert_never(e)
    return mask, ran


def finished(w: World) -> bool:
    """Whether every task has finished in the world."""
    return ended(w.state)


def ended(s: State) -> bool:
    """Whether every task has finished."""
    return all(t.state in (DONE, FAILED) for t in s.tasks)
