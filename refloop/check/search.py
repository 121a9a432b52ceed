"""The breadth-first search itself, over a `Graph` (refloop.check.explore).

Safety is checked in every state found, including the states a macro-step
passes through without storing them; a state that breaks a property is
stored (so its path can be printed) and not expanded.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..model import Event
from .explore import CHAIN_LIMIT, RAN, Edge, Graph, Options
from .judge import exits_of, instances, predicates, safety
from .policy import POLICIES
from .system import System, World

__all__ = ["bfs", "explore"]


def bfs(
    g: Graph,
    options: Options,
    broken: Callable[[World], list[str]],
    pmask: Callable[[World], int],
) -> None:
    system = g.system
    max_states = options.max_states or system.max_states
    max_depth = options.max_depth if options.max_depth is not None else system.max_depth
    fair = g.fair_mask()
    every_instance = (1 << instances(system)) - 1
    nenv = len(system.env)
    bad: set[int] = set()
    live = bool(system.liveness)
    key = g.key

    def add(w: World, k: object, parent: int, via: tuple[int, int, int]) -> int:
        i = len(g.worlds)
        g.index[k] = i
        g.worlds.append(w)
        g.parent.append(parent)
        g.via.append(via)
        g.depth.append(0 if parent < 0 else g.depth[parent] + 1)
        g.edges.append([])
        g.pmask.append(pmask(w))
        g.emask.append(-1)
        g.expanded.append(False)
        rules = broken(w)
        for rule in rules:
            g.broken.setdefault(rule, i)
        if rules:
            bad.add(i)
        return i

    def link(
        i: int, proc: int, choice: int, w: World, events: tuple[Event, ...]
    ) -> int:
        """Store the move from state i (after any merged loop steps)."""
        exits, ran = exits_of(events)
        chain = disabled = 0
        k = key(w)
        seen: set[object] = set()
        while g.macro and k not in g.index and chain < CHAIN_LIMIT:
            if k in seen or broken(w):
                break
            after, more, plan = g.loop_move(w)
            if not plan.alone:
                break
            seen.add(k)
            if live:
                exits |= every_instance & ~pmask(w)
                disabled |= fair & ~g.enabled(w)
            e, r = exits_of(more)
            exits |= e
            ran = ran or r
            w = after
            k = key(w)
            chain += 1
        j = g.index.get(k)
        if j is None:
            j = add(w, k, i, (proc, choice, chain))
        movers = (1 << proc) | (1 if chain else 0) | (RAN if ran else 0)
        g.edges[i].append(Edge(j, exits, movers, disabled, proc, choice, chain))
        g.generated += 1
        return j

    def expand_env(i: int, w: World, procs: range | tuple[int, ...]) -> int:
        """Explore the moves of the given processes; the least depth reached."""
        least = g.depth[i] + 1
        for e in procs:
            for choice, move in enumerate(g.env_moves(w, e)):
                j = link(i, e + 1, choice, g.apply(w, e, move), ())
                least = min(least, g.depth[j])
        return least

    start = g.start()
    add(start, key(start), -1, (0, 0, 0))
    started = last = time.monotonic()
    i = 0
    while i < len(g.worlds):
        if len(g.worlds) >= max_states:
            g.bounded = f"{max_states} states"
            break
        if i in bad:
            i += 1
            continue
        if max_depth is not None and g.depth[i] >= max_depth:
            g.bounded = f"depth {max_depth}"
            i += 1
            continue
        w = g.worlds[i]
        after, events, plan = g.loop_move(w)
        least = g.depth[link(i, 0, 0, after, events)]
        if options.atomic and w.phase:
            pass
        elif plan.procs is None:
            expand_env(i, w, range(nenv))
        else:
            least = min(least, expand_env(i, w, plan.procs))
            # The BFS cycle proviso: every cycle has a step that does not go
            # deeper; its source explores the whole environment.
            if least <= g.depth[i]:
                rest = tuple(e for e in range(nenv) if e not in plan.procs)
                expand_env(i, w, rest)
        g.expanded[i] = True
        i += 1
        if options.progress is not None and i % 64 == 0:
            now = time.monotonic()
            if now - last >= options.every:
                last = now
                rate = len(g.worlds) / max(now - started, 1e-9)
                options.progress(
                    f"{len(g.worlds):,} states, depth {g.depth[i - 1]}, "
                    f"{len(g.worlds) - i:,} queued, {rate:,.0f} states/s"
                )


def explore(system: System, options: Options | None = None) -> Graph:
    options = options or Options()
    policy = POLICIES[system.policy]
    symmetric = bool(system.symmetric) and options.symmetry and not system.liveness
    # spec: prop.reduce.macro
    macro = options.macro and not options.atomic
    macro = macro and not any(p.env for p in system.always)
    g = Graph(system, policy, symmetry=symmetric, macro=macro)
    started = time.monotonic()
    bfs(g, options, safety(system, g.skey), predicates(system, g.skey))
    g.seconds = time.monotonic() - started
    return g
