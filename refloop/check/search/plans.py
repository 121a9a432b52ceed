"""The macro-step reduction's decision (spec: prop.reduce.macro; the
reasoning is in refloop.check.search.reduce): from a world, whether the loop's
next step may be taken alone, and which environment processes must be
explored beside it."""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple, TypeVar

from ...model import Event as ModelEvent
from ...model import event
from ..systems.env import Facet

__all__ = ["ALL", "Decisions", "LoopStep", "Plan", "decide"]


class LoopStep(NamedTuple):
    """The loop's step from a (state, phase), as the search remembers it
    (not a printed trace's TraceStep): what it adds to a world's
    code (refloop.check.search.tables), its events, the liveness instances they
    end, whether a task ran, and what it depended on and touched (None: it
    cannot be judged, or macro-steps are off)."""

    delta: int
    events: tuple[ModelEvent, ...]
    exits: int
    ran: bool
    touch: tuple[frozenset[Facet], frozenset[Facet]] | None


class Plan(NamedTuple):
    """Whether the loop's step may be taken alone (a macro-step), and the
    environment processes to explore beside it: those that touch what the
    step depends on, closed under touching what they touch; None: all."""

    alone: bool
    procs: tuple[int, ...] | None


ALL = Plan(False, None)

_V = TypeVar("_V", bound=Hashable)


class Decisions:
    """Plans decided once per (what the step touched, what the waiters wait
    on, whether it ran a task, whether it moved, each process's facets).
    Facet sets are numbered, and equal keys kept as one object, so that keys
    compare by identity, not set by set."""

    def __init__(self) -> None:
        self.facets: list[frozenset[Facet]] = []
        self._numbers: dict[frozenset[Facet], int] = {}
        self._decided: dict[Hashable, Plan] = {}
        self._interned: dict[Hashable, Hashable] = {}

    def number(self, facets: frozenset[Facet]) -> int:
        found = self._numbers.get(facets)
        if found is None:
            found = self._numbers[facets] = len(self.facets)
            self.facets.append(facets)
        return found

    def same(self, value: _V) -> _V:
        """One object for equal values."""
        found = self._interned.setdefault(value, value)
        assert isinstance(found, type(value))
        return found

    def plan(
        self, step: LoopStep, waited: frozenset[Facet], facets: tuple[int, ...]
    ) -> Plan:
        """The plan for the step, from a state whose waiters wait on
        `waited`, where the processes' facet sets are numbered `facets`."""
        assert step.touch is not None
        run = isinstance(step.events[0], event.Run)
        why = (step.touch, waited, run, step.delta != 0, facets)
        found = self._decided.get(why)
        if found is None:
            sets = [self.facets[f] for f in facets]
            found = self._decided[why] = decide(step, step.touch, waited, sets)
        return found


# spec: prop.reduce.macro
def decide(
    step: LoopStep,
    touch: tuple[frozenset[Facet], frozenset[Facet]],
    waited: frozenset[Facet],
    facets: list[frozenset[Facet]],
) -> Plan:
    """The plan for a step that depends on and touches `touch`, from a state
    whose waiters wait on `waited` (if prop.fair.ready-wakes is checked;
    else empty), with each process's facets. A run that touches what a
    waiter waits on is not taken alone: it could hide from the liveness
    property a change of readiness."""
    unstable, every = touch
    if isinstance(step.events[0], event.Run) and every & waited:
        return ALL
    depends = set(unstable)
    chosen: list[int] = []
    grew = True
    while grew:
        grew = False
        for i, f in enumerate(facets):
            if i not in chosen and not f.isdisjoint(depends):
                chosen.append(i)
                depends |= f
                grew = True
    if len(chosen) == len(facets):
        return ALL
    return Plan(not chosen and step.delta != 0, tuple(sorted(chosen)))
