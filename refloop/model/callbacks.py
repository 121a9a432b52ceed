"""Callbacks: plain callables the loop runs, as opposed to tasks. Code
outside the tasks schedules them on the loop's thread between iterations
(`call_later`, `call_when_idle`), another thread posts them
(`call_soon_threadsafe`: `thread_call`). Each returns, raises an Exception
or a BaseException, calls `loop.stop()`, or changes the loop's queues
while it runs (cancels a
task, makes a new idle call, withdraws another callback): `Callback.effect`.
Where a failure goes and what stays due is `run_callback`'s verdict, applied
by `refloop.model.transitions._begin` (timer.callback-error,
timer.callback-base-exception, idle.snapshot, idle.callback-error,
thread.post.callback-error).
"""

from __future__ import annotations

from collections.abc import Callable

from .queries import ModelError
from .state import (
    AGAIN,
    BASE,
    CANCEL,
    DROP,
    ERROR,
    OK,
    STOP,
    WITHDRAW,
    Callback,
    State,
    Timer,
)

__all__ = ["EFFECTS", "call_later", "call_when_idle", "run_callback", "thread_call"]

EFFECTS = (OK, ERROR, BASE, CANCEL, AGAIN, WITHDRAW, STOP)


def _numbered(s: State, callback: Callback) -> tuple[State, int]:
    if callback.effect not in EFFECTS:
        raise ModelError(f"a callback's effect is one of {EFFECTS}, not {callback!r}")
    return s._replace(calls=(*s.calls, callback)), len(s.calls)


def call_later(s: State, ticks: float, callback: Callback) -> tuple[State, int]:
    """`loop.call_later(ticks, fn)` from outside the tasks: a timer at
    `now + max(0, ticks)` that runs `callback`; returns its number. (The
    model's clock counts ticks a float adds to exactly: below 2**53.)

    pre: 0 <= s.now < 2**53
    raises: ModelError
    post: __return__[0].calls == (*s.calls, callback)
    post: __return__[0].timers[:-1] == s.timers
    post: __return__[0]._replace(timers=s.timers, calls=s.calls) == s
    """
    if ticks != ticks:
        raise ModelError("a callback's delay cannot be NaN (timer.validate)")
    s, n = _numbered(s, callback)
    # spec: timer.validate
    return s._replace(timers=(*s.timers, Timer(s.now + max(0, ticks), -1, call=n))), n


def call_when_idle(s: State, callback: Callback) -> tuple[State, int]:
    """`loop.call_when_idle(fn)` from outside the tasks (or from a callback).

    raises: ModelError
    post: __return__[0].idle == (*s.idle, ~__return__[1])
    """
    s, n = _numbered(s, callback)
    # spec: idle
    return s._replace(idle=(*s.idle, ~n)), n


def thread_call(s: State, callback: Callback) -> tuple[State, int]:
    """Another thread posts `callback` with `call_soon_threadsafe`.

    raises: ModelError
    post: __return__[0].posted == (*s.posted, ~__return__[1])
    """
    s, n = _numbered(s, callback)
    # spec: thread.post
    return s._replace(posted=(*s.posted, ~n)), n


def run_callback(
    s: State, n: int, cancel: Callable[[State, int], State]
) -> tuple[State, bool, int]:
    """Callback `n` runs (its batch already taken from its queue): the new
    state, whether it raised a BaseException (which ends the iteration), and
    the callback it withdrew (-1: none), which its batch must skip. `cancel`
    is the loop's cancel transition."""
    callback = s.calls[n]
    if callback.effect == DROP:
        # spec: thread.run-cancel
        return s, False, -1  # a dropped job's post: no callback of the user's
    s = s._replace(called=(*s.called, n))
    withdrawn = -1
    match callback.effect:
        case "cancel" if 0 <= callback.target < len(s.tasks):
            # What it cancels is no longer due (cancel.waiting).
            s = cancel(s, callback.target)
        case "stop" if not s.closed:
            # spec: loop.stop.pending
            s = s._replace(stopping=True)
        case "again":
            # spec: idle.snapshot
            s, _ = call_when_idle(s, Callback(OK))
        case "withdraw" if callback.target < len(s.calls) and callback.target != n:
            # A timer's or idle call's handle is cancelled: it never runs.
            withdrawn = callback.target
            s = s._replace(
                timers=tuple(tm for tm in s.timers if tm.call != withdrawn),
                idle=tuple(i for i in s.idle if i != ~withdrawn),
            )
    # spec: timer.callback-error
    return s, callback.effect == BASE, withdrawn
