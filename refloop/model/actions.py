"""Actions as data, and `step(state, action)`, for tools that explore or
replay the model (the model checker, traces, the stateful test's printout).

Each action is named as its transition is named everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never, get_args

from .callbacks import call_later, call_when_idle, thread_call
from .entry import run
from .environment import (
    advance,
    inject_fault,
    peer_close,
    peer_connect,
    peer_recv,
    peer_send,
    pool_finish,
    thread_post,
)
from .events import Event, event
from .faults import Fault
from .foreign import foreign_call
from .lifecycle import close, run_forever, shutdown, stop
from .programs import Program
from .state import Callback, State
from .transitions import cancel, run_once, spawn

__all__ = [
    "Action",
    "Advance",
    "CallLater",
    "CallWhenIdle",
    "Cancel",
    "Close",
    "ForeignCall",
    "InjectFault",
    "PeerClose",
    "PeerConnect",
    "PeerRecv",
    "PeerSend",
    "PoolFinish",
    "Run",
    "RunForever",
    "RunOnce",
    "Shutdown",
    "Spawn",
    "Stop",
    "ThreadCall",
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


@dataclass(frozen=True, slots=True)
class PoolFinish:
    job: int


@dataclass(frozen=True, slots=True)
class ForeignCall:
    call: str
    target: int | str


@dataclass(frozen=True, slots=True)
class CallLater:
    ticks: float
    callback: Callback


@dataclass(frozen=True, slots=True)
class CallWhenIdle:
    callback: Callback


@dataclass(frozen=True, slots=True)
class ThreadCall:
    callback: Callback


@dataclass(frozen=True, slots=True)
class Run:
    program: Program


@dataclass(frozen=True, slots=True)
class RunForever:
    pass


@dataclass(frozen=True, slots=True)
class Stop:
    pass


@dataclass(frozen=True, slots=True)
class Shutdown:
    grace: float


@dataclass(frozen=True, slots=True)
class Close:
    pass


@dataclass(frozen=True, slots=True)
class InjectFault:
    sock: str
    fault: Fault


# The spec's transitions (spec/README.md lists them by these names, in
# snake_case; tests/test_spec_tables.py compares).
Action = (
    Spawn
    | RunOnce
    | Run
    | RunForever
    | Stop
    | Shutdown
    | Close
    | Cancel
    | PeerSend
    | PeerClose
    | PeerRecv
    | PeerConnect
    | Advance
    | ThreadPost
    | PoolFinish
    | CallLater
    | CallWhenIdle
    | ThreadCall
    | ForeignCall
    | InjectFault
)


def step(s: State, action: Action) -> tuple[State, tuple[Event, ...]]:
    """Apply `action`; return the new state and the events it produced.
    Anything but an Action is refused with a TypeError."""
    match action:
        case RunOnce():
            return run_once(s)
        case Spawn():
            s, tid = spawn(s, action.program)
            return s, (event.Spawn(tid),)
        case Cancel():
            return cancel(s, action.tid), ()
        case PeerSend():
            return peer_send(s, action.sock, action.data), ()
        case PeerClose():
            return peer_close(s, action.sock), ()
        case PeerRecv():
            s, data = peer_recv(s, action.sock, action.n)
            return s, (event.PeerRecv(action.sock, data),)
        case PeerConnect():
            return peer_connect(s, action.sock), ()
        case Advance():
            return advance(s, action.ticks), ()
        case ThreadPost():
            return thread_post(s, action.tid), ()
        case PoolFinish():
            return pool_finish(s, action.job), ()
        case CallLater():
            return call_later(s, action.ticks, action.callback)[0], ()
        case ForeignCall():
            return foreign_call(s, action.call, action.target)[0], ()
        case CallWhenIdle():
            return call_when_idle(s, action.callback)[0], ()
        case ThreadCall():
            return thread_call(s, action.callback)[0], ()
        case Run():
            return run(s, action.program)[:2]
        case RunForever():
            return run_forever(s)[:2]
        case Stop():
            return stop(s), ()
        case Shutdown():
            return shutdown(s, action.grace)[:2]
        case Close():
            return close(s), ()
        case InjectFault():
            return inject_fault(s, action.sock, action.fault), ()
        case _:
            if not isinstance(action, Action):
                raise TypeError(
                    f"{action!r} is not a model action; an action is one of "
                    f"{', '.join(kind.__name__ for kind in get_args(Action))}"
                )
            assert_never(action)
