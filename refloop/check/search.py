"""The breadth-first search itself, over a `Graph` (refloop.check.explore).

Safety is checked in every state found, including the states a macro-step
passes through without storing them; a state that breaks a property is
stored (so its path can be printed) and not expanded.
"""

from __future__ import annotations

import time

from .explore import CHAIN_LIMIT, RAN, Edge, Graph, Options
from .judge import instances
from .policy import POLICIES
from .system import System
from .tables import MASK, WIDTH

__all__ = ["bfs", "explore"]

new_edge = tuple.__new__


def bfs(g: Graph, options: Options) -> None:
    system = g.system
    t = g.tables
    max_states = options.max_states or system.max_states
    max_depth = options.max_depth if options.max_depth is not None else system.max_depth
    fair = g.fair_mask()
    every_instance = (1 << instances(system)) - 1
    nenv = len(system.env)
    bad: set[int] = set()
    live = bool(system.liveness)
    macro = g.macro
    codes, index, depth, edges, parent, via = (
        g.codes,
        g.index,
        g.depth,
        g.edges,
        g.parent,
        g.via,
    )
    pmasks, rules, steps, succs, keep = t.pmasks, t.rules, t.steps, t.succs, t.keep
    always = bool(system.always)
    low = MASK | MASK << WIDTH

    def add(code: int, i: int, proc: int, choice: int, chain: int) -> int:
        j = len(codes)
        index[code] = j
        codes.append(code)
        parent.append(i)
        via.append((proc, choice, chain))
        depth.append(0 if i < 0 else depth[i] + 1)
        edges.append([])
        broken = t.broken(code) if always else rules[code & MASK]
        if broken:
            for rule in broken:
                g.broken.setdefault(rule, j)
            bad.add(j)
        return j

    def link(i: int, proc: int, choice: int, code: int, exits: int, ran: bool) -> int:
        """Store the move from state i (after any merged loop steps)."""
        chain = disabled = 0
        if macro and code not in index:
            seen: set[int] = set()
            while code not in index and chain < CHAIN_LIMIT:
                if code in seen or t.broken(code):
                    break
                step = t.loop(code)
                if not t.plan(code, step).alone:
                    break
                seen.add(code)
                if live:
                    exits |= every_instance & ~pmasks[code & MASK]
                    disabled |= fair & ~t.enabled(code)
                exits |= step.exits
                ran = ran or step.ran
                code += step.delta
                chain += 1
        j = index.get(code)
        if j is None:
            j = add(code, i, proc, choice, chain)
        movers = (1 << proc) | (1 if chain else 0) | (RAN if ran else 0)
        edges[i].append(
            new_edge(Edge, (j, exits, movers, disabled, proc, choice, chain))
        )
        g.generated += 1
        return j

    def expand_env(i: int, code: int, procs: range | tuple[int, ...]) -> int:
        """Explore the moves of the given processes; the least depth reached."""
        least = depth[i] + 1
        out = edges[i]
        for e in procs:
            deltas = succs[e].get(code & keep[e])
            if deltas is None:
                deltas = t.succ(e, code)
            for choice, delta in enumerate(deltas):
                j = index.get(code + delta)
                if j is None:
                    j = link(i, e + 1, choice, code + delta, 0, False)
                else:
                    # A step to a stored state: no merged loop steps.
                    out.append(new_edge(Edge, (j, 0, 2 << e, 0, e + 1, choice, 0)))
                    g.generated += 1
                if depth[j] < least:
                    least = depth[j]
        return least

    skipped: set[int] = set()
    add(t.code(g.start()), -1, 0, 0, 0)
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
        step = steps.get(code & low) or t.loop(code)
        least = depth[link(i, 0, 0, code + step.delta, step.exits, step.ran)]
        plan = t.plan(code, step)
        if options.atomic and code >> WIDTH & MASK:
            pass
        elif plan.procs is None:
            expand_env(i, code, range(nenv))
        else:
            least = min(least, expand_env(i, code, plan.procs))
            # The BFS cycle proviso: every cycle has a step that does not go
            # deeper; its source explores the whole environment.
            if least <= depth[i]:
                rest = tuple(e for e in range(nenv) if e not in plan.procs)
                expand_env(i, code, rest)
        i += 1
        if options.progress is not None and i % 64 == 0:
            now = time.monotonic()
            if now - last >= options.every:
                last = now
                rate = len(codes) / max(now - started, 1e-9)
                options.progress(
                    f"{len(codes):,} states, depth {depth[i - 1]}, "
                    f"{len(codes) - i:,} queued, {rate:,.0f} states/s"
                )
    # Filled in at the end, not state by state.
    g.expanded = [
        k < i and k not in bad and k not in skipped for k in range(len(codes))
    ]
    g.pmask = [pmasks[code & MASK] for code in codes]
    g.emask = [-1] * len(codes)


def explore(system: System, options: Options | None = None) -> Graph:
    options = options or Options()
    policy = POLICIES[system.policy]
    symmetric = bool(system.symmetric) and options.symmetry and not system.liveness
    # spec: prop.reduce.macro
    macro = options.macro and not options.atomic
    macro = macro and not any(p.env for p in system.always)
    g = Graph(system, policy, symmetry=symmetric, macro=macro)
    started = time.monotonic()
    bfs(g, options)
    g.seconds = time.monotonic() - started
    return g
