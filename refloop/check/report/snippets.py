"""Counterexamples as Python: a snippet that replays the same schedule on
the model, and, where the schedule allows, on the real loop through
`refloop.testing.Harness`, checking after every iteration that the two agree.

The real loop can replay a schedule only when the environment acted between
iterations (the harness runs whole iterations) under refloop's own policy.
Every environment action has a harness twin: peers, the clock, cancels
(`Harness.cancel`) and posts from a real thread (`Harness.thread_post`).
Forever tasks are given their body repeated as often as the replay needs.
"""

from __future__ import annotations

from typing import assert_never

from ...model import (
    DONE,
    FAILED,
    INVARIANTS,
    Action,
    Advance,
    CallLater,
    CallWhenIdle,
    Cancel,
    ForeignCall,
    InjectFault,
    PeerClose,
    PeerConnect,
    PeerRecv,
    PeerSend,
    PoolFinish,
    Run,
    RunForever,
    RunOnce,
    Shutdown,
    Spawn,
    State,
    Stop,
    ThreadCall,
    ThreadPost,
    step,
)
from ...model.actions import Close
from ..systems.policy import POLICIES
from ..systems.system import READY_WAKES, RUNNABLE_RUNS, TERMINATES, System
from .trace import TraceStep

__all__ = ["harness_snippet", "model_snippet"]


def _groups(steps: list[TraceStep]) -> list[list[TraceStep]] | None:
    """The steps as whole iterations and single environment steps, or None
    if the environment acts inside an iteration."""
    out: list[list[TraceStep]] = []
    current: list[TraceStep] = []
    for s in steps:
        if s.proc:
            if current:
                return None
            out.append([s])
            continue
        current.append(s)
        if s.after.phase == 0:
            out.append(current)
            current = []
    return None if current else out


def _programs(system: System, loops: int) -> str:
    programs = system.programs(periods=loops + 2)
    return "(\n" + "".join(f"    {p!r},\n" for p in programs) + ")"


def _head(system: System, steps: int) -> list[str]:
    return [
        "from refloop.model import *",
        "from refloop.check.systems.policy import POLICIES",
        "",
        f"loop = POLICIES[{system.policy!r}]",
        f"PROGRAMS = {_programs(system, steps)}",
        f"s = initial({system.streams!r}, {system.listeners!r}, "
        f"budget={system.budget}, capacity={system.capacity})",
        f"s = declare_channels(s, {system.channels!r})",
        "for program in PROGRAMS:",
        "    s, _ = spawn(s, program)",
        "phase = 0",
    ]


def _lines(system: System, steps: list[TraceStep]) -> list[str]:
    groups = _groups(steps) if system.policy == "refloop" else None
    out = []
    if groups is None:
        groups = [[s] for s in steps]
    for group in groups:
        first = group[0]
        if first.proc:
            out += [f"s, _ = step(s, {a!r})" for a in first.actions]
        elif (
            system.policy == "refloop"
            and first.before.phase == group[-1].after.phase == 0
        ):
            out.append("s, _ = step(s, RunOnce())")
        else:
            out.append("s, phase, _ = loop.step(s, phase)")
    return out


def _holds(rule: str, text: str) -> str:
    """An assertion that the property is still broken at this point."""
    if rule == TERMINATES:
        return "assert not all(t.state in ('done', 'failed') for t in s.tasks)"
    tid = text.split()[1]
    if rule == RUNNABLE_RUNS:
        return f"assert s.tasks[{tid}].state == 'runnable'"
    assert rule == READY_WAKES
    return (
        f"assert any(w.tid == {tid} and w.kind != 'join' and is_ready(s, w) "
        "for w in s.waiters)"
    )


def model_snippet(
    system: System,
    rule: str,
    text: str,
    stem: list[TraceStep],
    cycle: list[TraceStep] | None,
) -> str:
    """Python that replays the counterexample on the model."""
    loops = len(stem) + 3 * len(cycle or [])
    out = [f"# {rule}: {text}", *_head(system, loops), *_lines(system, stem)]
    end = stem[-1].after.state if stem else None
    if cycle:
        out += ["for _ in range(3):"]
        out += [f"    {line}" for line in _lines(system, cycle)]
        out += [f"    {_holds(rule, text)}"]
    elif rule in INVARIANTS:
        out.append(f"assert {rule!r} in violated(s)")
    elif end is not None and _stuck(system, end):
        if system.policy == "refloop":
            out.append("assert step(s, RunOnce())[0] == s  # nothing can run again")
        else:
            out.append("assert loop.step(s, 0)[0] == s  # nothing can run again")
        out.append("assert not all(t.state in ('done', 'failed') for t in s.tasks)")
    else:
        out.append(f"# here the system's property {rule!r} fails")
    return "\n".join(out) + "\n"


def _stuck(system: System, s: State) -> bool:
    """The loop's next iteration (from between two) changes nothing."""
    if system.policy == "refloop":
        after, _ = step(s, RunOnce())
    else:
        after, _, _ = POLICIES[system.policy].step(s, 0)
    return after == s and not all(t.state in (DONE, FAILED) for t in s.tasks)


def harness_snippet(system: System, steps: list[TraceStep]) -> str | None:
    """Python that replays the schedule on the real loop beside the model,
    or None if the real loop cannot take this schedule."""
    if system.policy != "refloop":
        return None
    groups = _groups(steps)
    if groups is None:
        return None
    out = [
        "from refloop.model import *",
        "from refloop.testing import Harness, compare",
        "",
        f"PROGRAMS = {_programs(system, len(steps))}",
        f"h = Harness(streams={system.streams!r}, listeners={system.listeners!r}, "
        f"budget={system.budget}, capacity={system.capacity}, "
        f"channels={system.channels!r})",
        f"s = initial({system.streams!r}, {system.listeners!r}, "
        f"budget={system.budget}, capacity={system.capacity})",
        f"s = declare_channels(s, {system.channels!r})",
        "try:",
        "    for program in PROGRAMS:",
        "        h.spawn(program)",
        "        s, _ = spawn(s, program)",
    ]
    for group in groups:
        if not group[0].proc:
            out.append("    h.run_once()")
            out.append("    s, _ = step(s, RunOnce())")
            out.append("    assert compare(s, h) == []")
            continue
        for a in group[0].actions:
            out += ["    " + line for line in _peer(a)]
    out += ["finally:", "    h.dispose()"]
    return "\n".join(out) + "\n"


def _peer(a: Action) -> list[str]:
    match a:
        case PeerSend():
            inbound = f"len(sock(s, {a.sock!r}).inbound)"
            return [
                f"s, _ = step(s, {a!r})",
                f"h.peer_send({a.sock!r}, {a.data!r}, {inbound})",
            ]
        case PeerRecv():
            return [
                f"s, (read,) = step(s, {a!r})",
                f"assert h.peer_recv({a.sock!r}, {a.n}, len(read.data)) == read.data",
            ]
        case PeerClose():
            return [f"s, _ = step(s, {a!r})", f"h.peer_close({a.sock!r})"]
        case Advance():
            return [f"s, _ = step(s, {a!r})", f"h.advance({a.ticks})"]
        case Cancel():
            return [f"s, _ = step(s, {a!r})", f"h.cancel({a.tid})"]
        case ThreadPost():
            return [f"s, _ = step(s, {a!r})", f"h.thread_post({a.tid})"]
        case PoolFinish():
            return [f"s, _ = step(s, {a!r})", f"h.pool_finish({a.job})"]
        case PeerConnect():
            return [f"s, _ = step(s, {a!r})", f"h.peer_connect({a.sock!r})"]
        case ForeignCall():
            return [
                f"assert h.foreign_call({a.call!r}, {a.target!r}) == "
                f"foreign_call(s, {a.call!r}, {a.target!r})[1]"
            ]
        case CallLater():
            n = "len(s.calls)"
            return [
                f"h.call_later({a.ticks!r}, {n}, {a.callback!r})",
                f"s, _ = step(s, {a!r})",
            ]
        case InjectFault():
            return [
                f"s, _ = step(s, {a!r})",
                f"h.inject_fault({a.sock!r}, {a.fault!r})",
            ]
        case (
            Spawn()
            | RunOnce()
            | Run()
            | RunForever()
            | Stop()
            | Shutdown()
            | Close()
            | CallWhenIdle()
            | ThreadCall()
        ):
            raise ValueError(f"{a!r} is the loop's, not an environment process's")
        case _:
            assert_never(a)
