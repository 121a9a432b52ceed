"""Callbacks the environment schedules on the loop's thread, between
iterations: `call_later(ticks, fn)` with a callable that returns, raises an
Exception, raises a BaseException, or changes the loop's queues (cancels a
task) while it runs. What becomes of them when they fire is in
`refloop.model.transitions.begin` (timer.callback-error,
timer.callback-base-exception).
"""

from __future__ import annotations

from .queries import ModelError
from .state import BASE, CANCEL, ERROR, OK, Callback, State, Timer

__all__ = ["EFFECTS", "call_later"]

EFFECTS = (OK, ERROR, BASE, CANCEL)


def call_later(s: State, ticks: int | float, callback: Callback) -> tuple[State, int]:
    """`loop.call_later(ticks, fn)` from outside the tasks: a timer at
    `now + max(0, ticks)` that runs `callback`; returns its number.

    raises: ModelError
    post: __return__[0].calls == (*s.calls, callback)
    post: __return__[0].timers[:-1] == s.timers
    post: __return__[0]._replace(timers=s.timers, calls=s.calls) == s
    """
    if callback.effect not in EFFECTS:
        raise ModelError(f"a callback's effect is one of {EFFECTS}, not {callback!r}")
    if ticks != ticks:
        raise ModelError("a callback's delay cannot be NaN (timer.validate)")
    n = len(s.calls)
    # spec: timer.validate
    timer = Timer(s.now + max(0, ticks), -1, call=n)
    return s._replace(timers=(*s.timers, timer), calls=(*s.calls, callback)), n
