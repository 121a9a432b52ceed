"""The breadth-first search itself, over a `Graph` (refloop.check.search.graph).

Safety is checked in every state found, including the states a macro-step
passes through without storing them; a state that breaks a property is
stored (so its path can be printed) and not expanded.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..systems.policy import POLICIES
from ..systems.system import System
from .graph import CHAIN_LIMIT, RAN, Edge, Graph, Options
from .instances import instances
from .tables import MASK, PHASED, WIDTH

__all__ = ["bfs", "explore", "no_cycle_collector"]

new_edge = tuple.__new__


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    """The search and the analysis of its graph make millions of long-lived
    objects and no reference cycles; the cycle collector would only scan
    them again and again (a fifth of the time, measured on echo-3). When it
    is back on, what was made meanwhile goes straight to its oldest
    generation (freeze, then unfreeze): a young one would be scanned in
    full at the next allocation (a seventh of the time)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def bfs(g: Graph, options: Options) -> None:
    system = g.system
    t = g.tables
    max_states = options.max_states or system.max_states
    max_depth = options.max_depth if options.max_depth is not None else system.max_depth
    fair_procs = t.fair
    every_instance = (1 << instances(system)) - 1
    everyone = range(len(system.env))
    bad: set[int] = set()
    skipped: set[int] = set()
    live = bool(system.liveness)
    macro = g.macro
    always = bool(system.always)
    atomic, progress = options.atomic, options.progress
    codes, index, depth, edges = g.codes, g.index, g.depth, g.edges
    parent, entry = g.parent, g.entry
    pmasks, rules, steps, succs, shifts = t.pmasks, t.rules, t.steps, t.succs, t.shifts

    def link(i: int, proc: int, choice: int, code: int, exits: int, ran: bool) -> int:
        """Store the move from state i (after any merged loop steps) to a
        state not stored yet (before merging)."""
        chain = disabled = 0
        if macro:
            seen: set[int] = set()
            while code not in index and chain < CHAIN_LIMIT:
                if code in seen or (t.broken(code) if always else rules[code & MASK]):
                    break
                step = steps.get(code & PHASED) or t.loop(code)
                if not t.plan(code, step).alone:
                    break
                seen.add(code)
                if live:
                    exits |= every_instance & ~pmasks[code & MASK]
                    # The fair processes disabled here (Tables.enabled).
                    row = succs[code & MASK]
                    for e in fair_procs:
                        deltas = row[e].get(code >> shifts[e] & MASK)
                        if not (t.succ(e, code) if deltas is None else deltas):
                            disabled |= 2 << e
                exits |= step.exits
                ran = ran or step.ran
                code += step.delta
                chain += 1
        out = edges[i]
        # Not stored yet, unless merged loop steps led to a stored state.
        j = index.get(code) if chain else None
        if j is None:
            j = index[code] = len(codes)
            codes.append(code)
            parent.append(i)
            entry.append(len(out))
            depth.append(depth[i] + 1)
            edges.append([])
            broken = t.broken(code) if always else rules[code & MASK]
            if broken:
                for rule in broken:
                    g.broken.setdefault(rule, j)
                bad.add(j)
        movers = (1 << proc) | (1 if chain else 0) | (RAN if ran else 0)
        out.append(new_edge(Edge, (j, exits, movers, disabled, proc, choice, chain)))
        return j

    def expand_env(i: int, code: int, procs: range | tuple[int, ...]) -> int:
        """Explore the moves of the given processes; the least depth reached."""
        least = depth[i] + 1
        out = edges[i]
        row = succs[code & MASK]
        for e in procs:
            deltas = row[e].get(code >> shifts[e] & MASK)
            if deltas is None:
                deltas = t.succ(e, code)
            for choice, delta in enumerate(deltas):
                j = index.get(code + delta)
                if j is None:
                    j = link(i, e + 1, choice, code + delta, 0, False)
                else:
                    # A step to a stored state: no merged loop steps.
                    out.append(new_edge(Edge, (j, 0, 2 << e, 0, e + 1, choice, 0)))
                if depth[j] < least:
                    least = depth[j]
        return least

    start = t.code(g.start())
    index[start] = 0
    codes.append(start)
    parent.append(-1)
    entry.append(0)
    depth.append(0)
    edges.append([])
    for rule in t.broken(start):
        g.broken.setdefault(rule, 0)
        bad.add(0)
    started = last = time.monotonic()
    i = 0
    while i < len(codes):
        if len(codes) >= max_states:
            g.bounded = f"{max_states} states"
            break
        if i in bad:
            i += 1
            continue
        if max_depth is not None and depth[i] >= max_depth:
            g.bounded = f"depth {max_depth}"
            skipped.add(i)
            i += 1
            continue
        code = codes[i]
        step = steps.get(code & PHASED) or t.loop(code)
        after = code + step.delta
        j = index.get(after)
        if j is None:
            j = link(i, 0, 0, after, step.exits, step.ran)
        else:
            movers = 1 | (RAN if step.ran else 0)
            edges[i].append(new_edge(Edge, (j, step.exits, movers, 0, 0, 0, 0)))
        if atomic and code >> WIDTH & MASK:
            pass
        elif not macro:
            expand_env(i, code, everyone)
        else:
            plan = t.plan(code, step)
            if plan.procs is None:
                expand_env(i, code, everyone)
            else:
                least = min(depth[j], expand_env(i, code, plan.procs))
                # The BFS cycle proviso: every cycle has a step that does not
                # go deeper; its source explores the whole environment.
                if least <= depth[i]:
                    rest = tuple(e for e in everyone if e not in plan.procs)
                    expand_env(i, code, rest)
        i += 1
        if progress is not None and i % 64 == 0:
            now = time.monotonic()
            if now - last >= options.every:
                last = now
                rate = len(codes) / max(now - started, 1e-9)
                progress(
                    f"{len(codes):,} states, depth {depth[i - 1]}, "
                    f"{len(codes) - i:,} queued, {rate:,.0f} states/s"
                )
    # Filled in at the end, not state by state.
    n = len(codes)
    g.expanded = [k < i and k not in bad and k not in skipped for k in range(n)]
    g.pmask = [pmasks[code & MASK] for code in codes]
    g.emask = [-1] * n
    g.generated = sum(map(len, edges))


def explore(system: System, options: Options | None = None) -> Graph:
    options = options or Options()
    policy = POLICIES[system.policy]
    symmetric = bool(system.symmetric) and options.symmetry and not system.liveness
    # spec: prop.reduce.macro
    macro = options.macro and not options.atomic
    macro = macro and not any(p.env for p in system.always)
    g = Graph(system, policy, symmetry=symmetric, macro=macro)
    started = time.monotonic()
    with no_cycle_collector():
        bfs(g, options)
    g.seconds = time.monotonic() - started
    return g
