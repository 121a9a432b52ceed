"""The properties as the search evaluates them: the safety checks of a
world, and the liveness instances that hold in it or that a step ends."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ..model import DONE, FAILED, INVARIANTS, RUNNABLE, WAITING, State, is_ready
from ..model import Event as ModelEvent
from .system import READY_WAKES, RUNNABLE_RUNS, TERMINATES, System, World

__all__ = ["exits_of", "finished", "instances", "predicates", "safety"]


def instances(system: System) -> int:
    """How many liveness instance bits there are: two per task, then one."""
    return 2 * len(system.tasks) + 1


def predicates(
    system: System, skey: Callable[[State], Hashable]
) -> Callable[[World], int]:
    """The liveness instances that hold in a world, as bits: task t's
    `runnable` at bit 2t, `waits on a ready socket` at 2t+1, and `some task
    has not finished` at the last bit."""
    runs = RUNNABLE_RUNS in system.liveness
    wakes = READY_WAKES in system.liveness
    ends = TERMINATES in system.liveness
    last = 1 << (2 * len(system.tasks))

    seen: dict[Hashable, int] = {}

    def pmask(w: World) -> int:
        s = w.state
        k = skey(s)
        found = seen.get(k)
        if found is None:
            found = seen[k] = _pmask(s)
        return found

    def _pmask(s: State) -> int:
        mask = 0
        unfinished = False
        for t in s.tasks:
            if t.status == RUNNABLE:
                unfinished = True
                # spec: prop.fair.runnable-runs
                if runs:
                    mask |= 1 << (2 * t.tid)
            elif t.status == WAITING:
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

    return pmask


def exits_of(events: tuple[ModelEvent, ...]) -> tuple[int, bool]:
    """The instances these events end, and whether a task ran."""
    mask = 0
    ran = False
    for e in events:
        if e[0] == "run":
            ran = True
            tid = e[1]
            assert isinstance(tid, int)
            mask |= 3 << (2 * tid)
        elif e[0] == "wake":
            tid = e[1]
            assert isinstance(tid, int)
            mask |= 1 << (2 * tid + 1)
    return mask, ran


def safety(
    system: System, skey: Callable[[State], Hashable]
) -> Callable[[World], list[str]]:
    """The invariants and `always` properties a world breaks. The model's
    invariants read only the model's state: remembered per state."""
    seen: dict[Hashable, list[str]] = {}
    # spec: prop.system
    always = [(p.id, p.holds) for p in system.always]

    def broken(w: World) -> list[str]:
        s = w.state
        k = skey(s)
        rules = seen.get(k)
        if rules is None:
            rules = seen[k] = [r for r, holds in INVARIANTS.items() if not holds(s)]
        if always:
            return rules + [r for r, holds in always if not holds(w)]
        return rules

    return broken


def finished(w: World) -> bool:
    return all(t.status in (DONE, FAILED) for t in w.state.tasks)
