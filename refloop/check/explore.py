"""Breadth-first exploration of a closed system's reachable states.

States are stored by hash, numbered in the order they are found, so the
first state found to break a property is one of the nearest to the initial
state and its parent pointers give a shortest counterexample. The graph
(edges with what happened on them) is kept for the deadlock and liveness
analysis in `refloop.check.liveness`.

Processes are numbered: 0 is the loop, i + 1 is `system.env[i]`. A move is
(process, choice, chain): the choice-th move that process offers, then
`chain` loop steps merged into it by the macro-step reduction.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple

from ..model import Event as ModelEvent
from ..model import (
    State,
    initial,
    spawn,
    step,
)
from .env import Facet, Move
from .policy import Policy
from .reduce import canonical, normalise, touches, waited
from .system import READY_WAKES, System, World

__all__ = ["CHAIN_LIMIT", "RAN", "Edge", "Graph", "Options", "Plan"]

# Set in an edge's movers when some task ran on it.
RAN = 1 << 62
# Merged loop steps in one move, at most (a loop that never touches the
# environment could otherwise run on for ever inside one move).
CHAIN_LIMIT = 1000


class Edge(NamedTuple):
    target: int
    # Liveness instances the edge ends (an exit event) or breaks on the way.
    exits: int
    # Processes that moved, and RAN.
    movers: int
    # Fair processes disabled in some state merged into the edge.
    disabled: int
    proc: int
    choice: int
    chain: int


@dataclass
class Options:
    macro: bool = True
    symmetry: bool = True
    max_states: int | None = None
    max_depth: int | None = None
    # The environment acts only between iterations (the model's own
    # granularity, which the real loop's harness can replay).
    atomic: bool = False
    progress: Callable[[str], None] | None = None
    # Seconds between progress lines.
    every: float = 2.0


@dataclass
class Graph:
    system: System
    policy: Policy
    symmetry: bool = False
    macro: bool = False
    worlds: list[World] = field(default_factory=list)
    index: dict[Hashable, int] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    via: list[tuple[int, int, int]] = field(default_factory=list)
    depth: list[int] = field(default_factory=list)
    edges: list[list[Edge]] = field(default_factory=list)
    pmask: list[int] = field(default_factory=list)
    emask: list[int] = field(default_factory=list)
    expanded: list[bool] = field(default_factory=list)
    # Property id -> the first state found to break it.
    broken: dict[str, int] = field(default_factory=dict)
    generated: int = 0
    bounded: str | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.forever = self.system.forever()
        self.groups = self.system.symmetric if self.symmetry else ()
        self.wakes = READY_WAKES in self.system.liveness
        self._facets: dict[tuple[int, Hashable], frozenset[Facet]] = {}
        self._steps: dict[Hashable, Step] = {}
        self._applied: dict[Hashable, State] = {}
        self._plans: dict[tuple[int, Hashable], Plan] = {}
        self._moves: dict[Hashable, list[Move]] = {}
        self._skeys: dict[int, tuple[State, int]] = {}
        self._numbers: dict[Hashable, int] = {}

    # ------------------------------------------------------------ keys

    def skey(self, s: State) -> int:
        """A number for a model state, equal for equal states. A task's
        number and program never change, and hashing programs (tuples of
        dataclasses) is slow, so both are left out of the comparison. The
        number is remembered per state object (kept alive beside it, so that
        its id is not reused), so a state is hashed in full once."""
        found = self._skeys.get(id(s))
        if found is not None and found[0] is s:
            return found[1]
        k = (tuple([t[2:] for t in s.tasks]), s[1:])
        number = self._numbers.setdefault(k, len(self._numbers))
        self._skeys[id(s)] = (s, number)
        return number

    def key(self, w: World) -> Hashable:
        """What identifies a world."""
        return (self.skey(w.state), w.phase, w.env)

    def post(self, s: State) -> State:
        if self.forever:
            s = normalise(s, self.forever)
        if self.groups:
            s = canonical(s, self.groups)
        return s

    # ------------------------------------------------------------ moves

    def start(self) -> World:
        s = initial(
            self.system.streams,
            self.system.listeners,
            budget=self.system.budget,
            capacity=self.system.capacity,
        )
        for program in self.system.programs():
            s, _ = spawn(s, program)
        env = tuple(p.start() for p in self.system.env)
        return World(self.post(s), 0, env)

    def loop_move(self, w: World) -> tuple[World, tuple[ModelEvent, ...], Plan]:
        """The loop's step from w, and which environment processes must be
        explored beside it (see Plan)."""
        k = (self.skey(w.state), w.phase)
        found = self._steps.get(k)
        if found is None:
            s, phase, events = self.policy.step(w.state, w.phase)
            touch = touches(w.state, s, events) if self.macro else None
            found = self._steps[k] = Step(self.post(s), phase, events, touch)
        after = World(found.state, found.phase, w.env)
        pk = (id(found), w.env)
        plan = self._plans.get(pk)
        if plan is None:
            plan = self._plans[pk] = self._plan(w, after, found)
        return after, found.events, plan

    # spec: prop.reduce.macro
    def _plan(self, w: World, after: World, step: Step) -> Plan:
        if step.touch is None:
            return Plan(False, None)
        unstable, every = step.touch
        if self.wakes and step.events[0][0] == "run" and every & waited(w.state):
            return Plan(False, None)
        facets = [self.facets(i, me) for i, me in enumerate(w.env)]
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
            return Plan(False, None)
        return Plan(not chosen and after != w, tuple(sorted(chosen)))

    def facets(self, i: int, me: Hashable) -> frozenset[Facet]:
        found = self._facets.get((i, me))
        if found is None:
            found = self._facets[i, me] = self.system.env[i].facets(me)
        return found

    def env_moves(self, w: World, i: int) -> list[Move]:
        proc = self.system.env[i]
        k = (i, proc.view(w.state, w.env[i]))
        found = self._moves.get(k)
        if found is None:
            found = self._moves[k] = proc.moves(w.state, w.env[i])
        return found

    def apply(self, w: World, i: int, move: Move) -> World:
        k = (self.skey(w.state), move.actions)
        s = self._applied.get(k)
        if s is None:
            s = w.state
            for action in move.actions:
                s, _ = step(s, action)
            s = self._applied[k] = self.post(s)
        env = (*w.env[:i], move.after, *w.env[i + 1 :])
        return World(s, w.phase, env)

    def emask_of(self, i: int) -> int:
        """Fair processes enabled in state i (computed when first asked)."""
        mask = self.emask[i]
        if mask < 0:
            mask = self.emask[i] = self.enabled(self.worlds[i])
        return mask

    def enabled(self, w: World) -> int:
        """Fair processes enabled in w, as bits (the loop always is)."""
        mask = 1
        for i, proc in enumerate(self.system.env):
            if proc.fair and self.env_moves(w, i):
                mask |= 1 << (i + 1)
        return mask

    def fair_mask(self) -> int:
        mask = 1
        for i, proc in enumerate(self.system.env):
            if proc.fair:
                mask |= 1 << (i + 1)
        return mask


class Step(NamedTuple):
    state: State
    phase: int
    events: tuple[ModelEvent, ...]
    touch: tuple[frozenset[Facet], frozenset[Facet]] | None


class Plan(NamedTuple):
    """Whether the loop's step may be taken alone (a macro-step), and the
    environment processes to explore beside it: those that touch what the
    step depends on, closed under touching what they touch; None: all."""

    alone: bool
    procs: tuple[int, ...] | None
