"""Counterexamples as traces: following a path of moves step by step, and
printing it as numbered steps, each with what it changed.

A path is followed from the system's initial state with no reduction but
Forever folding, so what is printed is the plain schedule, step by step:
merged loop steps are unmerged, and symmetric tasks keep their numbers.
"""

from __future__ import annotations

from typing import NamedTuple, assert_never

from ...model import Action, Event, Sock, State, Task, event
from ..search.graph import Edge, Graph
from ..systems.policy import POLICIES
from ..systems.system import System, World

__all__ = ["TraceStep", "diff", "follow", "moves_of", "render_steps"]


class TraceStep(NamedTuple):
    """One step of a followed path: who moved (0: the loop, i + 1: the
    environment's process i), the actions or events, and the worlds around
    it (not the search's LoopStep, which is a step as numbers)."""

    proc: int
    actions: tuple[Action, ...]
    events: tuple[Event, ...]
    before: World
    after: World


def moves_of(path: list[tuple[int, Edge]]) -> list[tuple[int, int]]:
    """(process, choice) for every single step of a path of edges."""
    moves = []
    for _, e in path:
        moves.append((e.proc, e.choice))
        moves += [(0, 0)] * e.chain
    return moves


def stepper(system: System) -> Graph:
    return Graph(system, POLICIES[system.policy])


def follow(
    system: System, moves: list[tuple[int, int]], start: World | None = None
) -> list[TraceStep]:
    g = stepper(system)
    w = g.start() if start is None else start
    steps = []
    for proc, choice in moves:
        if proc == 0:
            after, events, _ = g.loop_move(w)
            steps.append(TraceStep(0, (), events, w, after))
        else:
            move = g.env_moves(w, proc - 1)[choice]
            after = g.apply(w, proc - 1, move)
            steps.append(TraceStep(proc, move.actions, (), w, after))
        w = after
    return steps


def _action(a: Action) -> str:
    fields = ", ".join(repr(getattr(a, f)) for f in a.__dataclass_fields__)
    name = type(a).__name__
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name)[1:]
    return f"{snake}({fields})"


def _event(e: Event) -> str:
    match e:
        case event.Poll(timeout):
            return "poll" if timeout is None else f"poll({timeout})"
        case (
            event.Spawn(tid)
            | event.Wake(tid)
            | event.Fire(tid)
            | event.Idle(tid)
            | event.Run(tid)
            | event.Report(tid)
        ):
            return f"{e.name} t{tid}"
        case event.PeerRecv(sock, data):
            return f"peer_recv {sock} {data!r}"
        case _:
            assert_never(e)


def label(system: System, step: TraceStep) -> str:
    if step.proc:
        who = system.env[step.proc - 1].name
        return f"{who}: " + ", ".join(_action(a) for a in step.actions)
    parts = [_event(e) for e in step.events]
    first = step.events[0] if step.events else None
    if isinstance(first, event.Poll) and step.after.phase:
        parts.append(f"then run the {step.after.phase} queued")
    text = "loop: " + ", ".join(parts)
    if isinstance(first, event.Run) and step.before == step.after:
        text += " (a Forever task, back where it was)"
    return text


def _task(before: Task, after: Task) -> list[str]:
    out = []
    if before.state != after.state:
        out.append(f"{before.state} -> {after.state}")
    if before.pc != after.pc:
        op = after.program[after.pc] if after.pc < len(after.program) else "end"
        out.append(f"pc {before.pc} -> {after.pc} (next: {op})")
    if after.log[: len(before.log)] == before.log and len(after.log) > len(before.log):
        out.append("log + " + ", ".join(map(repr, after.log[len(before.log) :])))
    for field in ("offset", "throw", "error"):
        a, b = getattr(before, field), getattr(after, field)
        if a != b:
            out.append(f"{field} {a!r} -> {b!r}")
    return out


def _sock(before: Sock | None, after: Sock) -> list[str]:
    if before is None:
        return ["new"]
    return [
        f"{f} {getattr(before, f)!r} -> {getattr(after, f)!r}"
        for f in ("inbound", "outbound", "peer_closed", "closed", "backlog")
        if getattr(before, f) != getattr(after, f)
    ]


def diff(system: System, before: World, after: World) -> list[str]:
    """What changed, one short line per thing."""
    a, b = before.state, after.state
    out = []
    for t0, t1 in zip(a.tasks, b.tasks, strict=True):
        changes = _task(t0, t1)
        if changes:
            out.append(f"t{t1.tid}: " + "; ".join(changes))
    if a.run_queue != b.run_queue:
        out.append(f"run queue {list(a.run_queue)} -> {list(b.run_queue)}")
    for w in b.waiters:
        if w not in a.waiters:
            out.append(f"waiter + t{w.tid} on {w.kind} {w.target}")
    for w in a.waiters:
        if w not in b.waiters:
            out.append(f"waiter - t{w.tid} on {w.kind} {w.target}")
    old = {k.name: k for k in a.sockets}
    for k in b.sockets:
        changes = _sock(old.get(k.name), k)
        if changes:
            out.append(f"{k.name}: " + "; ".join(changes))
    out += _rest(system, a, b, before, after)
    return out


def _rest(system: System, a: State, b: State, before: World, after: World) -> list[str]:
    out = []
    if a.now != b.now:
        out.append(f"now {a.now} -> {b.now}")
    if a.timers != b.timers:
        out.append(f"timers {list(a.timers)} -> {list(b.timers)}")
    if a.reported != b.reported:
        out.append(f"reported {list(a.reported)} -> {list(b.reported)}")
    for proc, x, y in zip(system.env, before.env, after.env, strict=True):
        if x != y:
            out.append(f"{proc.name}: {x!r} -> {y!r}")
    return out


def render_steps(system: System, steps: list[TraceStep], first: int = 1) -> list[str]:
    lines = []
    for n, s in enumerate(steps, first):
        lines.append(f"{n:4}. {label(system, s)}")
        changes = diff(system, s.before, s.after) or ["(no change)"]
        lines += [f"        {c}" for c in changes]
    return lines


def render_start(system: System, w: World) -> list[str]:
    lines = ["   0. initial state"]
    for t, spec in zip(w.state.tasks, system.tasks, strict=True):
        lines.append(f"        t{t.tid} {t.state}: {spec!r}")
    for k in w.state.sockets:
        lines.append(f"        socket {k.name}{' (listener)' if k.listener else ''}")
    for proc in system.env:
        lines.append(f"        environment: {proc!r}")
    return lines
