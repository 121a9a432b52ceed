"""Ctrl-C in `run()`, model and real loop side by side (spec: loop.sigint):
the stateful machine's `run_interrupted` rule raises a real SIGINT in the
poll where run would wait, in this process, while refloop's handler is
installed. Each test checks what the model predicts and that the real loop
agrees, and one shows a broken loop that the rule catches."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from _helpers import machine

from refloop import model
from refloop.model import OpenCancelScope, Recv, Sleep, Suspend, WaitIdle, YieldNow
from refloop.testing import Mismatch, machine_for
from refloop.testing.broken import BROKEN_LOOPS


@pytest.fixture(autouse=True)
def _python_handles_sigint() -> Iterator[None]:
    """The rule needs Python's own SIGINT handler, as loop.sigint does."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.spec("loop.sigint")
def test_ctrl_c_in_the_poll_cancels_the_tasks_and_closes_the_socket_waited_on() -> None:
    with machine((Recv("A", 1),)) as state:
        state.run_interrupted((Sleep(5),))
        state.agrees()
        tasks = state.model.tasks
        assert [t.error for t in tasks] == ["Cancelled", "Cancelled"]
        assert model.sock(state.model, "A").closed
        assert state.model.waiters == () and state.model.timers == ()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.spec("loop.sigint", "io.close.wakes")
def test_a_shielded_waiter_is_woken_by_the_close_after_the_cleanup() -> None:
    # The shielded task is not cancelled: it still waits when the grace
    # ends, and the loop's closing of its socket wakes it with ClosedError.
    with machine((OpenCancelScope(shield=True), Recv("A", 1))) as state:
        state.run_interrupted((YieldNow(), Sleep(5)))
        state.agrees()
        assert model.sock(state.model, "A").closed
        assert state.model.run_queue == (0,)
        assert state.model.tasks[0].throw == "ClosedError"


@pytest.mark.spec("loop.sigint")
def test_a_run_that_never_waits_is_not_interrupted() -> None:
    with machine() as state:
        state.run_interrupted((YieldNow(),))
        state.agrees()
        assert state.model.tasks[0].state == model.DONE


@pytest.mark.spec("loop.sigint")
def test_the_rule_catches_a_loop_that_keeps_the_sockets_open() -> None:
    broken = machine_for(BROKEN_LOOPS["KeepsSocketsLoop"])
    with machine((Recv("A", 1),), kind=broken) as state:
        state.run_interrupted((Sleep(5),))
        with pytest.raises(Mismatch, match="socket A closed: model True, real False"):
            state.agrees()


@pytest.mark.spec("loop.sigint")
def test_a_run_after_ctrl_c_polls_once_instead_of_spinning() -> None:
    # Found by the stateful test: the wakeup the handler wrote was never
    # consumed, so every later poll found the loop ready, for ever.
    with machine((Recv("A", 1),)) as state:
        state.run_interrupted((Sleep(5),))
        state.agrees()
        events, outcome = state.real.run((Recv("B", 1),))
        assert outcome == "blocks"
        assert [e for e in events if isinstance(e, model.event.Poll)] == [
            model.event.Poll(None)
        ]


@pytest.mark.spec("loop.sigint")
@pytest.mark.parametrize("at", [0, 1, 2])
def test_ctrl_c_in_a_task_step_ends_that_iteration_and_cancels_the_rest(
    at: int,
) -> None:
    # A busy main task that never waits: Ctrl-C as step `at` of the run
    # begins (task 0's first step and main's take the first iteration).
    with machine((Recv("A", 1),)) as state:
        state.run_interrupted((YieldNow(),) * 5, at=at)
        state.agrees()
        main = state.model.tasks[1]
        assert main.error == "Cancelled"
        assert main.pc < 5, "main ran to its end: Ctrl-C was put off"
        assert model.sock(state.model, "A").closed


@pytest.mark.spec("loop.sigint")
@pytest.mark.parametrize("wait", [Sleep(0), WaitIdle()], ids=["timer", "idle"])
def test_ctrl_c_in_a_callback_ends_that_iteration_and_cancels_the_rest(
    wait: Sleep | WaitIdle,
) -> None:
    # Step 0 is main's first step; step 1 the timer or idle call that
    # resumes it, where Ctrl-C arrives: main's next step is in the same
    # iteration and runs, the one after is never reached.
    with machine((Recv("A", 1),)) as state:
        state.run_interrupted((wait, YieldNow(), YieldNow(), YieldNow()), at=1)
        state.agrees()
        main = state.model.tasks[1]
        assert main.error == "Cancelled"
        assert 1 <= main.pc < 4, f"main stopped at {main.pc}"


@pytest.mark.spec("loop.sigint")
def test_the_rule_catches_a_loop_that_puts_off_ctrl_c_while_work_is_runnable() -> None:
    broken = machine_for(BROKEN_LOOPS["PostponedInterruptLoop"])
    with (
        machine(kind=broken) as state,
        pytest.raises(Mismatch, match="interrupted run events"),
    ):
        state.run_interrupted((YieldNow(),) * 5, at=0)


@pytest.mark.spec("loop.sigint")
def test_a_ctrl_c_in_an_iteration_a_keyboard_interrupt_ends_leaves_no_wakeup() -> None:
    # Found by the rule's `at`: Ctrl-C as a task step began, in the
    # iteration that task 1's own KeyboardInterrupt (its handler's) ended.
    # run() raised that one, but left the wakeup of the SIGINT handler in
    # the socket, and every later poll of the loop found it: run_forever
    # spun at 100% CPU.
    with machine((Recv("A", 1),), (Suspend(raises="interrupt"),)) as state:
        state.cancel(0)
        state.run_interrupted((Recv("A", 1),), at=0)
        state.agrees()
        state.run_forever(how="none", ticks=0)
        state.agrees()
