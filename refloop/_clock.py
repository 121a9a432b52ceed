"""The loop's clocks and the times it is given (spec: timer.clock,
timer.validate, timer.infinite).

A clock is any function of no arguments that returns seconds as a float and
never goes backwards: `monotonic` by default, `VirtualClock` for tests and
models. Every time the loop is given (a deadline, a delay, a grace period, a
timeout) goes through `check_time`, so a bad one is refused where it is
given, never found in the timer heap later.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["Clock", "VirtualClock", "check_time", "monotonic"]

Clock = Callable[[], float]


def check_time(value: object, what: str) -> float:
    """`value` as a float, or TypeError/ValueError naming it (spec:
    timer.validate). Infinities pass (spec: timer.infinite); NaN does not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        # spec: timer.validate
        raise TypeError(f"{what} must be a number of seconds, got {value!r}")
    result = float(value)
    # spec: timer.infinite
    if math.isnan(result):
        raise ValueError(
            f"{what} must be a finite number of seconds (or inf: never), got {value!r}"
        )
    return result


def _check_finite(value: object, what: str) -> float:
    result = check_time(value, what)
    if math.isinf(result):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return result


class VirtualClock:
    """A clock that moves only when told: `Loop(clock=VirtualClock())`, then
    `clock.advance(seconds)`. For tests and models (spec: timer.clock)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = _check_finite(start, "start")

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        step = _check_finite(seconds, "seconds")
        if step < 0:
            raise ValueError(f"a clock cannot go backwards: advance({seconds!r})")
        self._now += step


# The loop's default clock: the builtin itself, so reading it costs no
# Python frame (it is read once per sleep and once per iteration with timers).
monotonic: Clock = time.monotonic
