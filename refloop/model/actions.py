"""Actions as data, and `step(state, action)`, for tools that explore or
replay the model (the model checker, traces, the stateful test's printout).

Each action is named as its transition is named everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from .environment import (
    advance,
    peer_close,
    peer_connect,
    peer_recv,
    peer_send,
    thread_post,
)
from .programs import Program
from .state import Event, State
from .transitions import cancel, run_once, spawn

__all__ = [
    "Action",
    "Advance",
    "Cancel",
    "PeerClose",
    "PeerConnect",
    "PeerRecv",
    "PeerSend",
    "RunOnce",
    "Spawn",
    "ThreadPost",
    "step",
]


@dataclass(frozen=True, slots=True)
class Spawn:
    program: Program


@dataclass(frozen=True, slots=True)
class RunOnce:
    pass


@dataclass(frozen=True, slots=True)
class PeerSend:
    sock: str
    data: bytes


@dataclass(frozen=True, slots=True)
class PeerClose:
    sock: str


@dataclass(frozen=True, slots=True)
class PeerRecv:
    sock: str
    n: int


@dataclass(frozen=True, slots=True)
class PeerConnect:
    sock: str


@dataclass(frozen=True, slots=True)
class Advance:
    ticks: int


@dataclass(frozen=True, slots=True)
class Cancel:
    tid: int


@dataclass(frozen=True, slots=True)
class ThreadPost:
    tid: int


Action = (
    Spawn
    | RunOnce
    | Cancel
    | PeerSend
    | PeerClose
    | PeerRecv
    | PeerConnect
    | Advance
    | ThreadPost
)


def step(s: State, action: Action) -> tuple[State, tuple[Event, ...]]:
    """Apply `action`; return the new state and the events it produced."""
    if isinstance(action, RunOnce):
        return run_once(s)
    if isinstance(action, Spawn):
        s, tid = spawn(s, action.program)
        return s, (("spawn", tid),)
    if isinstance(action, PeerSend):
        return peer_send(s, action.sock, action.data), ()
    if isinstance(action, PeerClose):
        return peer_close(s, action.sock), ()
    if isinstance(action, PeerRecv):
        s, data = peer_recv(s, action.sock, action.n)
        return s, (("peer_recv", action.sock, data),)
    if isinstance(action, ThreadPost):
        return thread_post(s, action.tid), ()
    if isinstance(action, Cancel):
        return cancel(s, action.tid), ()
    if isinstance(action, Advance):
        return advance(s, action.ticks), ()
    return peer_connect(s, action.sock), ()
