"""What `refloop check` prints: a summary of one run with its bounds, each
counterexample as numbered steps and as Python, and the table of systems."""

from __future__ import annotations

from ..checker import Counterexample, Result, check
from ..search.graph import Options
from ..search.tables import MASK
from ..systems.policy import POLICIES
from .snippets import harness_snippet, model_snippet
from .trace import TraceStep, follow, moves_of, render_start, render_steps

__all__ = ["counterexample", "summary", "table"]


def _observed(r: Result) -> str:
    queue = inbound = outbound = 0
    states = r.graph.tables.states
    # Each stored world's model state, once.
    for sid in {code & MASK for code in r.graph.codes}:
        s = states[sid]
        queue = max(queue, len(s.run_queue))
        for k in s.sockets:
            inbound = max(inbound, len(k.inbound))
            outbound = max(outbound, len(k.outbound))
    depth = max(r.graph.depth, default=0)
    return (
        f"largest run queue {queue}; most bytes waiting on a socket: {inbound} in, "
        f"{outbound} out (capacity {r.system.capacity}); depth {depth}"
    )


def summary(r: Result) -> list[str]:
    g, system = r.graph, r.system
    if not system.symmetric:
        symmetry = "n/a"
    elif g.symmetry:
        symmetry = f"on {list(system.symmetric)}"
    elif system.liveness:
        symmetry = "off (liveness is checked)"
    else:
        symmetry = "off"
    rate = r.states / g.seconds if g.seconds else 0.0
    depth = "unbounded" if system.max_depth is None else str(system.max_depth)
    verdict = "as expected" if r.as_expected else "NOT AS EXPECTED"
    return [
        f"system {system.name}: {system.doc}",
        f"  policy: {POLICIES[system.policy].doc}",
        f"  reductions: macro-steps {'on' if g.macro else 'off'}, symmetry {symmetry}",
        f"  bounds: states <= {system.max_states:,}, depth {depth}; run queue <= "
        f"{len(system.tasks)} (inv.one-resume); bytes a socket holds for its peer "
        f"<= {system.capacity} (inv.capacity), for the loop <= what the environment "
        "sends",
        "  environment: " + ("; ".join(repr(p) for p in system.env) or "none"),
        f"  seen: {_observed(r)}",
        f"  explored {r.states:,} states and {g.generated:,} steps in "
        f"{g.seconds:.2f} s ({rate:,.0f} states/s); {r.finals} final states",
        f"  verdict: {r.verdict} (expected {r.expected}): {verdict}",
    ]


# spec: prop.counterexample
def counterexample(r: Result, c: Counterexample, snippets: bool = True) -> list[str]:
    system = r.system
    stem = follow(system, moves_of(c.stem))
    lines = [f"counterexample for {c.rule}: {c.text}"]
    if c.cycle is None:
        lines.append(f"  a shortest run to it, {len(stem)} steps:")
    else:
        lines.append(
            f"  a run of {len(stem)} steps, then a cycle of {len(moves_of(c.cycle))} "
            "step(s) repeated for ever (every fair process moves or is disabled in it):"
        )
    start = r.graph.start()
    lines += render_start(system, stem[0].before if stem else start)
    lines += render_steps(system, stem)
    cycle = []
    if c.cycle is not None:
        cycle = follow(system, moves_of(c.cycle), stem[-1].after if stem else start)
        lines.append("  -- the cycle: --")
        lines += render_steps(system, cycle, len(stem) + 1)
        lines.append(f"  -- back to step {len(stem) + 1}, for ever --")
    if not snippets:
        return lines
    lines += ["", "  replay on the model:", ""]
    looped = cycle if c.cycle is not None else None
    lines += _indent(model_snippet(system, c.rule, c.text, stem, looped))
    real = _real(r, c, stem)
    if real is not None:
        lines += ["", "  replay on the real loop, beside the model:", ""]
        lines += _indent(real)
    return lines


def _real(r: Result, c: Counterexample, stem: list[TraceStep]) -> str | None:
    """A replay on the real loop: of this counterexample if the environment
    acts only between iterations in it, else of a shortest one that does."""
    if c.cycle is not None or r.system.policy != "refloop":
        return None
    real = harness_snippet(r.system, stem)
    if real is not None:
        return real
    again = check(r.system, Options(atomic=True))
    found = again.failures.get(c.rule)
    if found is None:
        return None
    steps = follow(r.system, moves_of(found.stem))
    real = harness_snippet(r.system, steps)
    if real is None:
        return None
    return (
        "# The environment acts inside an iteration above, which the harness\n"
        f"# cannot do; this schedule ({len(steps)} steps) breaks {c.rule} too.\n" + real
    )


def _indent(text: str) -> list[str]:
    return ["    " + line if line else "" for line in text.splitlines()]


def table(results: list[Result]) -> list[str]:
    rows = [("system", "states", "time", "verdict", "expected", "")]
    for r in results:
        rows.append(
            (
                r.system.name,
                f"{r.states:,}",
                f"{r.graph.seconds:.2f}s",
                r.verdict,
                r.expected,
                "ok" if r.as_expected else "UNEXPECTED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in (1, 2) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    bad = sum(not r.as_expected for r in results)
    lines.append(
        f"{len(results)} systems, "
        + ("all as expected" if not bad else f"{bad} not as expected")
    )
    return lines
