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
from collections.abc import Iterator
from typing import NamedTuple

from .explore import RAN, Edge, Graph
from .system import READY_WAKES, RUNNABLE_RUNS, TERMINATES

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
        proc, choice, chain = g.via[j]
        edge = next(
            e
            for e in g.edges[i]
            if (e.target, e.proc, e.choice, e.chain) == (j, proc, choice, chain)
        )
        path.append((i, edge))
        j = i
    path.reverse()
    return path


def deadlocked(g: Graph) -> list[bool]:
    """States from which no task can ever run again, with a task unfinished
    (states not expanded count as able to run: nothing is known of them)."""
    n = len(g.worlds)
    back: list[list[int]] = [[] for _ in range(n)]
    can = [False] * n
    todo: deque[int] = deque()
    for i in range(n):
        for e in g.edges[i]:
            back[e.target].append(i)
        if not g.expanded[i] or any(e.movers & RAN for e in g.edges[i]):
            can[i] = True
            todo.append(i)
    while todo:
        j = todo.popleft()
        for i in back[j]:
            if not can[i]:
                can[i] = True
                todo.append(i)
    return [not can[i] and not g.finished(i) for i in range(n)]


def _sccs(nodes: list[int], succ: dict[int, list[Edge]]) -> Iterator[list[int]]:
    """Tarjan's algorithm, iteratively."""
    number: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on: set[int] = set()
    for root in nodes:
        if root in number:
            continue
        work = [(root, 0)]
        while work:
            v, k = work.pop()
            if k == 0:
                number[v] = low[v] = len(number)
                stack.append(v)
                on.add(v)
            edges = succ[v]
            if k < len(edges):
                work.append((v, k + 1))
                u = edges[k].target
                if u not in number:
                    work.append((u, 0))
                elif u in on:
                    low[v] = min(low[v], number[u])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == number[v]:
                component = []
                while True:
                    u = stack.pop()
                    on.discard(u)
                    component.append(u)
                    if u == v:
                        break
                yield component


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
    fair = g.fair_mask()
    found: dict[str, tuple[int, Lasso]] = {}
    cyclic = _cyclic(g)
    for bit in range(2 * len(g.system.tasks) + 1):
        rule, text = _describe(g, bit)
        nodes = [i for i in cyclic if g.pmask[i] >> bit & 1]
        inside = set(nodes)
        succ = {
            i: [e for e in g.edges[i] if e.target in inside and not e.exits >> bit & 1]
            for i in nodes
        }
        for component in _sccs(nodes, succ):
            members = set(component)
            edges = [(i, e) for i in component for e in succ[i] if e.target in members]
            if not edges:
                continue
            if bit == 2 * len(g.system.tasks) and all(dead[i] for i in component):
                continue  # a deadlock, reported as prop.no-deadlock
            moved = disabled = 0
            for _, e in edges:
                moved |= e.movers
                disabled |= e.disabled
            for i in component:
                disabled |= fair & ~g.emask_of(i)
            if fair & ~(moved | disabled):
                continue
            entry = min(component)
            if rule in found and found[rule][0] <= entry:
                continue
            cycle = _cycle(g, entry, members, succ, fair, disabled)
            found[rule] = (entry, Lasso(path_to(g, entry), cycle, text))
    return {rule: lasso for rule, (_, lasso) in found.items()}


def _cyclic(g: Graph) -> list[int]:
    """The expanded states on some cycle of the whole graph: only these can
    be on a cycle of a part of it."""
    nodes = [i for i in range(len(g.worlds)) if g.expanded[i]]
    succ = {i: g.edges[i] for i in nodes}
    inside = set(nodes)
    for i in nodes:
        succ[i] = [e for e in g.edges[i] if e.target in inside]
    found = []
    for component in _sccs(nodes, succ):
        if len(component) > 1 or any(
            e.target == component[0] for e in succ[component[0]]
        ):
            found += component
    return sorted(found)


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
