"""Ctrl-C while `run()` waits in its poll (spec: loop.sigint): the poll
returns at once, the iteration finishes, every task is cancelled and may
clean up as loop.shutdown says, and then the sockets the tasks were waiting
on after that iteration are closed; `run()` raises KeyboardInterrupt."""

from __future__ import annotations

from .events import Event
from .handlers import interrupts
from .lifecycle import shutdown
from .sockops import close_socket
from .state import READ, WRITE, State
from .transitions import run_once

__all__ = ["ctrl_c"]


def waited_sockets(s: State) -> list[str]:
    """The sockets some task waits on, each once, in the order of its first
    waiter."""
    names: list[str] = []
    for w in s.waiters:
        target = w.target
        if w.kind in (READ, WRITE) and isinstance(target, str) and target not in names:
            names.append(target)
    return names


def ctrl_c(s: State, grace: float) -> tuple[State, tuple[Event, ...], str]:
    """Ctrl-C arrives while `run()`'s poll would wait: that iteration runs
    with what is ready now; then every unfinished task is cancelled and
    the loop iterates for `grace` ticks (at least once, as `shutdown`
    does); then the sockets waited on when the first iteration ended are
    closed ("KeyboardInterrupt"). A callback's BaseException or a task's
    KeyboardInterrupt in those iterations ends it first, and no socket is
    closed.

    raises: ModelError
    """
    before = s
    s, events = run_once(s)
    ended = interrupts(before, s)
    if ended is not None:
        return s, events, ended
    # spec: loop.sigint
    names = waited_sockets(s)
    s, more, outcome = shutdown(s, grace)
    if outcome != "done":
        return s, (*events, *more), outcome
    for name in names:
        s = close_socket(s, name)
    return s, (*events, *more), "KeyboardInterrupt"
