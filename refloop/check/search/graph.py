"""Breadth-first exploration of a closed system's reachable states.

States are stored by their code (refloop.check.search.tables: one int made of
the numbers of the model state and of each process's own state, and the
phase), numbered in the order they are found, so the first state found to
break a property is one of the nearest to the initial state and its parent
pointers give a shortest counterexample. The graph
(edges with what happened on them) is kept for the deadlock and liveness
analysis in `refloop.check.judge.liveness`.

Processes are numbered: 0 is the loop, i + 1 is `system.env[i]`. A move is
(process, choice, chain): the choice-th move that process offers, then
`chain` loop steps merged into it by the macro-step reduction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple, overload

from ...model import Event as ModelEvent
from ...model import State, declare_channels, initial, spawn, step
from ..systems.env import Move
from ..systems.policy import Policy
from ..systems.system import System, World
from .plans import Plan
from .reduce import canonical, normalise
from .tables import MASK, Tables

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
    # Each state's code (refloop.check.search.tables); `worlds` decodes them.
    codes: list[int] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    parent: list[int] = field(default_factory=list)
    # The edge of edges[parent[j]] that first reached state j.
    entry: list[int] = field(default_factory=list)
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
        self._fair = 1
        for i, proc in enumerate(self.system.env):
            if proc.fair:
                self._fair |= 1 << (i + 1)
        # A function of its own, not a method: the tables keep it, and a
        # cycle through the graph would outlive the check until the cycle
        # collector runs.
        self.post = partial(_post, self.forever, self.groups)
        self.tables = Tables(self.system, self.policy, self.post, self.macro)

    @property
    def worlds(self) -> Worlds:
        return Worlds(self.tables, self.codes)

    def finished(self, i: int) -> bool:
        """Whether every task has finished in state i."""
        return self.tables.done[self.codes[i] & MASK]

    # ------------------------------------------------------------ moves
    # One world at a time, for replaying a path (refloop.check.report.trace).

    def start(self) -> World:
        s = initial(
            self.system.streams,
            self.system.listeners,
            budget=self.system.budget,
            capacity=self.system.capacity,
        )
        s = declare_channels(s, self.system.channels)
        for program in self.system.programs():
            s, _ = spawn(s, program)
        env = tuple(p.start() for p in self.system.env)
        return World(self.post(s), 0, env)

    def loop_move(self, w: World) -> tuple[World, tuple[ModelEvent, ...], Plan]:
        """The loop's step from w, and which environment processes must be
        explored beside it (see Plan)."""
        t = self.tables
        code = t.code(w)
        found = t.loop(code)
        return t.world(code + found.delta), found.events, t.plan(code, found)

    def env_moves(self, w: World, i: int) -> list[Move]:
        return self.system.env[i].moves(w.state, w.env[i])

    def apply(self, w: World, i: int, move: Move) -> World:
        s = w.state
        for action in move.actions:
            s, _ = step(s, action)
        s = self.post(s)
        env = (*w.env[:i], move.after, *w.env[i + 1 :])
        return World(s, w.phase, env)

    # ------------------------------------------------------------ fairness

    def emask_of(self, i: int) -> int:
        """Fair processes enabled in state i (computed when first asked)."""
        mask = self.emask[i]
        if mask < 0:
            mask = self.emask[i] = self.tables.enabled(self.codes[i])
        return mask

    def fair_mask(self) -> int:
        """The fair processes, as bits (the loop is)."""
        return self._fair


def _post(
    forever: dict[int, int], groups: tuple[tuple[int, ...], ...], s: State
) -> State:
    """Forever folding, then symmetry, after every step."""
    if forever:
        s = normalise(s, forever)
    if groups:
        s = canonical(s, groups)
    return s


class Worlds(Sequence[World]):
    """Worlds decoded from their codes when asked."""

    def __init__(self, tables: Tables, codes: list[int]) -> None:
        self._tables = tables
        self._codes = codes

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, i: int) -> World: ...
    @overload
    def __getitem__(self, i: slice) -> list[World]: ...
    def __getitem__(self, i: int | slice) -> World | list[World]:
        if isinstance(i, slice):
            return [self._tables.world(c) for c in self._codes[i]]
        return self._tables.world(self._codes[i])

    def __iter__(self) -> Iterator[World]:
        return map(self._tables.world, self._codes)
