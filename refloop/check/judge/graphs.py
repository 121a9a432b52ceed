"""Graph algorithms over the explored graph's state numbers, for the
deadlock and liveness analysis (refloop.check.judge.liveness)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from ..search.graph import Graph

__all__ = ["Adjacency", "cycles", "sccs"]

Adjacency = Sequence[list[int]] | Mapping[int, list[int]]


def sccs(nodes: list[int], succ: Adjacency, size: int) -> Iterator[list[int]]:
    """Tarjan's algorithm, iteratively, over states numbered below size."""
    number = [-1] * size
    low = [0] * size
    on = [False] * size
    stack: list[int] = []
    count = 0
    for root in nodes:
        if number[root] >= 0:
            continue
        number[root] = low[root] = count
        count += 1
        stack.append(root)
        on[root] = True
        work = [(root, iter(succ[root]))]
        while work:
            v, targets = work[-1]
            for u in targets:
                if number[u] < 0:
                    number[u] = low[u] = count
                    count += 1
                    stack.append(u)
                    on[u] = True
                    work.append((u, iter(succ[u])))
                    break
                if on[u] and number[u] < low[v]:
                    low[v] = number[u]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[v] < low[parent]:
                        low[parent] = low[v]
                if low[v] == number[v]:
                    component = []
                    while True:
                        u = stack.pop()
                        on[u] = False
                        component.append(u)
                        if u == v:
                            break
                    yield component


def cycles(g: Graph) -> list[list[int]]:
    """The strongly connected sets of expanded states that hold a cycle:
    those of more than one state, and single states with a self-loop. Only
    they can hold a cycle of a part of the graph. (Only expanded states
    have edges.)"""
    n = len(g.codes)
    edges = g.edges
    # Self-loops (a loop with nothing to do polls on in place) are cycles
    # of their own; the rest of the graph is searched without them.
    loops = set()
    indegree = [0] * n
    for i, out in enumerate(edges):
        for e in out:
            if e.target != i:
                indegree[e.target] += 1
            else:
                loops.add(i)
    # Peel off the states no cycle reaches (all, in a graph without cycles
    # but self-loops): Tarjan's algorithm then visits only the rest.
    peel = [i for i in range(n) if not indegree[i]]
    for i in peel:
        for e in edges[i]:
            j = e.target
            if j != i:
                indegree[j] -= 1
                if not indegree[j]:
                    peel.append(j)
    nodes = [i for i in range(n) if indegree[i]]
    succ = {i: [e.target for e in edges[i] if e.target != i] for i in nodes}
    found = [c for c in sccs(nodes, succ, n) if len(c) > 1]
    for component in found:
        loops.difference_update(component)
    return found + [[i] for i in sorted(loops)]
