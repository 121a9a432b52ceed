"""The broken loops that the stateful machine cannot build yet are each
caught by a focused test of the real loop, run here against the broken one."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import test_failing_callbacks as failing
import test_foreign_threads as foreign
import test_limits as limits
import test_shutdown as shutdown
import test_threads as threads

from refloop import Loop, LoopError
from refloop.testing.broken import FOCUSED_BROKEN_LOOPS

# Each focused broken loop, the rule it breaks, and the test that catches it.
CASES: dict[str, tuple[str, Callable[[type[Loop]], None]]] = {
    "DroppingTimersLoop": (
        "timer.callback-base-exception",
        failing.test_a_base_exception_before_a_sleep_timer_leaves_the_sleeper_due,
    ),
    "UnclampedPollLoop": (
        "tick.poll-clamp",
        partial(limits.test_a_far_deadline_is_clamped_and_polled_again, 30),
    ),
    "CloseThenRefuseLoop": (
        "thread.refused-unchanged",
        foreign.test_a_refused_close_from_another_thread_leaves_the_socket_open,
    ),
    "HastyDeadlockLoop": (
        "loop.run.deadlock",
        threads.test_a_continuation_held_by_a_thread_is_not_a_deadlock,
    ),
    "AbruptShutdownLoop": (
        "loop.shutdown",
        shutdown.test_shutdown_on_a_driven_loop_returns_what_is_left,
    ),
}


def test_every_focused_broken_loop_is_listed() -> None:
    assert set(CASES) == set(FOCUSED_BROKEN_LOOPS)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.spec(r)) for n, (r, _) in CASES.items()]
)
def test_the_focused_test_catches(name: str) -> None:
    _, check = CASES[name]
    check(Loop)  # passes on the real loop
    with pytest.raises((AssertionError, OverflowError, LoopError)):
        check(FOCUSED_BROKEN_LOOPS[name])
