"""Deadlock and liveness over the explored graph.

Liveness is checked under weak fairness (prop.fairness): a run is fair when
every fair process that stays enabled eventually moves. The loop is always
enabled and always fair; scripted peers, pairs and the clock are fair; a
`Free` peer is not. A property "P leads to its exit" fails exactly when
some reachable strongly connected set of states where P holds, joined by
steps that do not exit, is fair: each fair process moves inside it or is
disabled somewhere in it (for weak fairness, one set decides; no nested
search is needed). Its lasso (a shortest stem, then a cycle through it that
moves or disables every fair process) is the counterexample.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from ...model import Timer, Waiter
from ...model import deadlocked as model_deadlocked
from ..search.graph import RAN, Edge, Graph
from ..systems.system import READY_WAKES, RUNNABLE_RUNS, TERMINATES
from .graphs import cycles, sccs

__all__ = ["Lasso", "deadlocked", "fair_cycles", "path_to"]


class Lasso(NamedTuple):
    # (source state, edge) pairs from the initial state to the cycle.
    stem: list[tuple[int, Edge]]
    cycle: list[tuple[int, Edge]]
    text: str


def path_to(g: Graph, j: int) -> list[tuple[int, Edge]]:
    """The BFS tree path to state j: a shortest one."""
    path = []
    while g.parent[j] >= 0:
        i = g.parent[j]
        path.append((i, g.edges[i][g.entry[j]]))
        j = i
    path.reverse()
    return path


def deadlocked(g: Graph) -> list[bool]:
    """The deadlocks: states where `refloop.model.deadlocked` holds, given
    what this closed system's environment can still resume there. The
    environment is finite, so that is read off the graph: from a state where
    no run ever reaches a step in which a task runs, the environment resumes
    nothing (states not expanded count as able to run: nothing is known of
    them)."""
    n = len(g.codes)
    edges, expanded = g.edges, g.expanded
    can = [True] * n
    stuck: list[int] = []
    for i, out in enumerate(edges):
        if expanded[i]:
            for e in out:
                if e.movers & RAN:
                    break
            else:
                stuck.append(i)
                can[i] = False
    # Most edges point forward, to states found later: one pass backwards
    # settles most states; predecessors are kept only for the rest.
    rest: list[int] = []
    for i in reversed(stuck):
        for e in edges[i]:
            if can[e.target]:
                can[i] = True
                break
        else:
            rest.append(i)
    back: dict[int, list[int]] = {}
    for i in rest:
        for e in edges[i]:
            back.setdefault(e.target, []).append(i)
    todo = [j for j in back if can[j]]
    while todo:
        for i in back[todo.pop()]:
            if not can[i]:
                can[i] = True
                if i in back:
                    todo.append(i)
    dead = [False] * n
    worlds = g.worlds
    for i in rest:
        if not can[i]:
            # No run from here resumes a task, whatever the environment
            # does: the closed environment can resume nothing parked here.
            # The model's definition says whether that is a deadlock (a
            # state where a task could still run is none: every unfinished
            # task is parked somewhere, inv.one-place).
            # spec: prop.no-deadlock
            dead[i] = model_deadlocked(worlds[i].state, _resumes_nothing)
    return dead


def _resumes_nothing(entry: Waiter | Timer) -> bool:
    return False


def _describe(g: Graph, bit: int) -> tuple[str, str]:
    n = len(g.system.tasks)
    if bit == 2 * n:
        return TERMINATES, "the system runs for ever and never finishes"
    tid, kind = divmod(bit, 2)
    if kind == 0:
        return RUNNABLE_RUNS, f"task {tid} stays runnable and never runs"
    return READY_WAKES, f"task {tid} waits on a ready socket and is never woken"


# spec: prop.fairness
def fair_cycles(g: Graph, dead: list[bool]) -> dict[str, Lasso]:
    """The first fair violating cycle found for each liveness property."""
    found: dict[str, tuple[int, Lasso]] = {}
    components = cycles(g)
    for bit in range(2 * len(g.system.tasks) + 1):
        rule, text = _describe(g, bit)
        for whole in components:
            if len(whole) == 1:
                # A self-loop, the commonest cycle: no search needed.
                i = whole[0]
                if g.pmask[i] >> bit & 1:
                    loops = [
                        e
                        for e in g.edges[i]
                        if e.target == i and not e.exits >> bit & 1
                    ]
                    if loops:
                        _record(g, bit, rule, text, whole, {i: loops}, dead, found)
                continue
            nodes = [i for i in whole if g.pmask[i] >> bit & 1]
            inside = set(nodes)
            succ = {
                i: [
                    e
                    for e in g.edges[i]
                    if e.target in inside and not e.exits >> bit & 1
                ]
                for i in nodes
            }
            targets = {i: [e.target for e in succ[i]] for i in nodes}
            for component in sccs(nodes, targets, len(g.codes)):
                _record(g, bit, rule, text, component, succ, dead, found)
    return {rule: lasso for rule, (_, lasso) in found.items()}


def _record(
    g: Graph,
    bit: int,
    rule: str,
    text: str,
    component: list[int],
    succ: dict[int, list[Edge]],
    dead: list[bool],
    found: dict[str, tuple[int, Lasso]],
) -> None:
    """Record the component's lasso if it is a fair cycle that never exits
    the property's instance, and the first found for the property."""
    fair = g.fair_mask()
    members = set(component)
    edges = [(i, e) for i in component for e in succ[i] if e.target in members]
    if not edges:
        return
    if bit == 2 * len(g.system.tasks) and all(dead[i] for i in component):
        return  # a deadlock, reported as prop.no-deadlock
    moved = disabled = 0
    for _, e in edges:
        moved |= e.movers
        disabled |= e.disabled
    for i in component:
        disabled |= fair & ~g.emask_of(i)
    if fair & ~(moved | disabled):
        return
    entry = min(component)
    if rule in found and found[rule][0] <= entry:
        return
    cycle = _cycle(g, entry, members, succ, fair, disabled)
    found[rule] = (entry, Lasso(path_to(g, entry), cycle, text))


def _cycle(
    g: Graph,
    entry: int,
    members: set[int],
    succ: dict[int, list[Edge]],
    fair: int,
    disabled: int,
) -> list[tuple[int, Edge]]:
    """A closed walk from entry inside the component that moves every fair
    process, or passes where it is disabled."""
    route: list[tuple[int, Edge]] = []
    here = entry
    for p in range(fair.bit_length()):
        bit = 1 << p
        if not fair & bit:
            continue
        if disabled & bit:
            leg = _walk(
                here,
                members,
                succ,
                lambda i, b=bit: bool(fair & ~g.emask_of(i) & b),
                lambda e, b=bit: bool(e.disabled & b),
            )
        else:
            leg = _walk(
                here,
                members,
                succ,
                lambda i: False,
                lambda e, b=bit: bool(e.movers & b),
            )
        route += leg
        if leg:
            here = leg[-1][1].target
    if here != entry or not route:
        route += _walk(
            here, members, succ, lambda i: False, lambda e: e.target == entry
        )
    return route


def _walk(
    start: int,
    members: set[int],
    succ: dict[int, list[Edge]],
    at: object,
    over: object,
) -> list[tuple[int, Edge]]:
    """A shortest walk inside the component from start that reaches a state
    satisfying `at` or takes an edge satisfying `over`."""
    assert callable(at) and callable(over)
    if at(start):
        return []
    back: dict[int, tuple[int, Edge]] = {}
    todo: deque[int] = deque([start])
    seen = {start}
    while todo:
        i = todo.popleft()
        for e in succ[i]:
            if e.target not in members:
                continue
            if over(e) or at(e.target):
                walk = [(i, e)]
                while i != start:
                    walk.append(back[i])
                    i = back[i][0]
                walk.reverse()
                return walk
            if e.target not in seen:
                seen.add(e.target)
                back[e.target] = (i, e)
                todo.append(e.target)
    raise AssertionError("the component is strongly connected")
