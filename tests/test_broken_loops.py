"""The stateful test bites: every deliberately broken loop is caught, and the
shrunk counterexample is short enough to read."""

from __future__ import annotations

import pytest
from conftest import (
    CALLBACK_RULES,
    CHURN_RULES,
    FOREIGN_RULES,
    IDLE_RULES,
    LIFECYCLE_RULES,
    RUN_RULES,
    SOCKET_RULES,
    THREAD_CALL_RULES,
    TIMER_CALLBACK_RULES,
    printed_steps,
    without,
)
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from refloop.testing import machine_for
from refloop.testing.broken import BROKEN_LOOPS

pytestmark = pytest.mark.usefixtures("machine_strategies_only")

# What each hunt leaves out of the machine: the rules that cannot reach its
# defect (conftest.py). A defect of the run queue or of socket waiters needs
# neither callbacks, nor other threads' calls, nor run(); one of timers or
# idle calls needs no sockets; and so on.
ELSEWHERE = FOREIGN_RULES + RUN_RULES + LIFECYCLE_RULES + CHURN_RULES
ELSEWHERE += ("thread_post",)
QUEUE = CALLBACK_RULES + ELSEWHERE + ("advance",)
WAKE = (*QUEUE, "cancel")
CANCEL = QUEUE + SOCKET_RULES  # cancelling a task that waits needs no peer
CLOSE = (*CANCEL, "cancel")  # nor closing a socket that a task waits on
TIMERS = SOCKET_RULES + IDLE_RULES + THREAD_CALL_RULES + ELSEWHERE + ("cancel",)
IDLE = SOCKET_RULES + TIMER_CALLBACK_RULES + THREAD_CALL_RULES + ELSEWHERE
IDLE += ("cancel", "advance")
POSTS = SOCKET_RULES + TIMER_CALLBACK_RULES + IDLE_RULES + FOREIGN_RULES + RUN_RULES
POSTS += LIFECYCLE_RULES
FOREIGN = CALLBACK_RULES + RUN_RULES + LIFECYCLE_RULES
RUN = SOCKET_RULES + CALLBACK_RULES + FOREIGN_RULES + LIFECYCLE_RULES
# The lifecycle's doors: each hunt keeps the door it breaks.
NOT_LIFECYCLE = SOCKET_RULES + FOREIGN_RULES + RUN_RULES
SHUTDOWN = NOT_LIFECYCLE + CALLBACK_RULES + ("run_forever", "stop", "close")
STOP = (*NOT_LIFECYCLE, "shutdown", "close")  # a stop made by a callback
CLOSING = NOT_LIFECYCLE + CALLBACK_RULES + ("run_forever", "stop", "shutdown")
HANDLER = NOT_LIFECYCLE + CALLBACK_RULES + LIFECYCLE_RULES
# A job whose task was cancelled (thread.run-cancel): its post must resume
# nobody and be counted out; run() must not wait for it.
POOL = SOCKET_RULES + CALLBACK_RULES + FOREIGN_RULES + LIFECYCLE_RULES
POOL += (*CHURN_RULES, "thread_post")
# The heap's bookkeeping after a rebuild shows in run()'s verdict.
CHURN = SOCKET_RULES + CALLBACK_RULES + FOREIGN_RULES + LIFECYCLE_RULES
CHURN += ("thread_post",)
# Ctrl-C in run() needs a task waiting on a socket, nothing else.
SIGINT = CALLBACK_RULES + FOREIGN_RULES + LIFECYCLE_RULES + CHURN_RULES + ("run",)


def case(name: str, rule: str, left_out: tuple[str, ...]) -> object:
    """A broken loop, the rules its hunt leaves out, marked with the rule
    it breaks."""
    return pytest.param(name, left_out, marks=pytest.mark.spec(rule), id=name)


CASES = [
    case("LifoLoop", "cont.resume-enqueues", QUEUE),
    case("LostWakeupLoop", "tick.wake-order", WAKE),
    case("DeafCloseLoop", "io.close.wakes", CLOSE),
    case("GreedyLoop", "tick.ready-snapshot", QUEUE),
    case("NewestFirstLoop", "tick.wake-order", QUEUE),
    case("DoubleWakeLoop", "inv.one-resume", WAKE),
    case("LifoTimersLoop", "timer.order", TIMERS),
    case("EarlyTimerLoop", "timer.fire", TIMERS),
    case("LeakyCancelLoop", "cancel.waiting", CANCEL),
    case("StaleInterestLoop", "io.interest", CANCEL),
    case("LostPostLoop", "thread.no-lost-wakeup", POSTS),
    case("EagerIdleLoop", "idle", IDLE),
    case("DroppingTimersLoop", "timer.callback-base-exception", TIMERS),
    case("UnclampedPollLoop", "tick.poll-clamp", TIMERS),
    case("GreedyIdleLoop", "idle.snapshot", IDLE),
    case("CloseThenRefuseLoop", "thread.refused-unchanged", FOREIGN),
    case("HastyDeadlockLoop", "loop.run.deadlock", RUN),
    case("AbruptShutdownLoop", "loop.shutdown", SHUTDOWN),
    case("EarlyStopLoop", "loop.stop", STOP),
    case("LeakyCloseLoop", "loop.close", CLOSING),
    case("SwallowingHandlerLoop", "cont.handler-raises", HANDLER),
    case("SwallowResetLoop", "op.error", QUEUE),
    case("WaitOnEintrLoop", "op.eintr", QUEUE),
    case("StaleCountTimersLoop", "timer.cancel.memory", CHURN),
    case("KeepsSocketsLoop", "loop.sigint", SIGINT),
    # Only a Ctrl-C that arrives while there is work to do shows it.
    case("PostponedInterruptLoop", "loop.sigint", SIGINT),
    case("HalfClosedLoop", "loop.close.raises", CLOSING),
    case("UncountedDropLoop", "thread.run.orphan", (*POOL, "run")),
    # An orphan's post resumes its task's next wait: a job under a timeout
    # that fired, then the task waits again (finish_orphan).
    case("ResumingOrphanLoop", "thread.run-cancel", (*POOL, *RUN_RULES)),
]


def test_every_broken_loop_is_listed() -> None:
    assert {case.values[0] for case in CASES} == set(BROKEN_LOOPS)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "left_out"), CASES)
def test_stateful_test_catches(
    name: str, left_out: tuple[str, ...], hunt: settings
) -> None:
    machine = without(machine_for(BROKEN_LOOPS[name]), left_out)
    with pytest.raises(BaseException) as caught:
        run_state_machine_as_test(machine, settings=hunt)
    assert not isinstance(caught.value, KeyboardInterrupt)
    steps = printed_steps(caught.value)
    assert steps, f"no failing program was printed for {name}"
    assert len(steps) <= 8, "\n".join(steps)
