"""The model's run_forever, stop, shutdown and close
(refloop.model.lifecycle), and its suspend handlers that raise
(refloop.model.handlers)."""

from __future__ import annotations

import math

import pytest

from refloop import model
from refloop.model import (
    Callback,
    Recv,
    Sleep,
    Suspend,
    WaitIdle,
    YieldNow,
    event,
)


def _with(*programs: model.Program) -> model.State:
    s = model.initial(("A",))
    for program in programs:
        s, _ = model.spawn(s, program)
    return s


@pytest.mark.spec("loop.stop")
def test_a_stop_callback_ends_run_forever_after_its_iteration() -> None:
    s = _with((YieldNow(), YieldNow()), (Recv("A", 1),))
    s, _ = model.call_later(s, 0, Callback(model.STOP))
    s, events, outcome = model.run_forever(s)
    assert outcome == "stopped" and not s.stopping
    assert [e for e in events if isinstance(e, event.Run)] == [
        event.Run(0),
        event.Run(1),
    ]


@pytest.mark.spec("loop.stop.pending")
def test_a_pending_stop_runs_one_iteration_that_does_not_wait() -> None:
    s = model.run_once(_with((Recv("A", 1),)))[0]
    s, events, outcome = model.run_forever(model.stop(s))
    # The task waits on A: without the request the poll would wait.
    assert outcome == "stopped" and events == (event.Poll(0),)
    # Without one, run_forever goes on until its poll would wait.
    s, events, outcome = model.run_forever(s)
    assert outcome == "blocks" and events == (event.Poll(None),)


@pytest.mark.spec("loop.stop.pending")
def test_a_stop_made_in_run_once_is_kept() -> None:
    s, _ = model.call_later(_with((YieldNow(),)), 0, Callback(model.STOP))
    s, _ = model.run_once(s)
    assert s.stopping
    s, _, outcome = model.run_forever(s)
    assert outcome == "stopped" and not s.stopping


@pytest.mark.spec("loop.stop", "timer.callback-base-exception")
def test_a_base_exception_ends_run_forever_and_the_request() -> None:
    s, _ = model.call_later(model.stop(_with((YieldNow(),))), 0, Callback(model.BASE))
    s, events, outcome = model.run_forever(s)
    assert outcome == "escaped" and not s.stopping
    assert not any(isinstance(e, event.Run) for e in events)


@pytest.mark.spec("loop.close")
def test_close_ends_every_task_and_drops_every_queue() -> None:
    s = _with((Recv("A", 1),), (Sleep(3),), (WaitIdle(),), (YieldNow(),))
    s, _ = model.run_once(s)
    s, _ = model.call_later(s, 1, Callback(model.OK))
    s, _ = model.thread_call(s, Callback(model.OK))
    closed = model.close(s)
    assert closed.closed and not model.violated(closed)
    assert {t.error for t in closed.tasks} == {"LoopError"}
    assert closed.reported == s.reported
    assert not (closed.waiters or closed.timers or closed.idle or closed.posted)
    assert model.close(closed) == closed


@pytest.mark.spec("loop.close.refuses")
def test_a_closed_model_refuses_running() -> None:
    closed = model.close(_with((YieldNow(),)))
    assert model.run_forever(closed) == (closed, (), "LoopError")
    assert model.shutdown(closed, 0) == (closed, (), "LoopError")
    assert model.run(closed, (YieldNow(),)) == (closed, (), "LoopError")
    assert model.stop(closed) == closed
    assert all(model.refuses(closed, door) for door in model.CLOSED_REFUSES)
    assert not model.refuses(closed, "stop") and not model.refuses(closed, "close")
    assert not any(
        model.refuses(closed._replace(closed=False), door)
        for door in model.CLOSED_REFUSES
    )


@pytest.mark.spec("loop.shutdown")
def test_shutdown_cancels_every_task_and_runs_at_least_one_iteration() -> None:
    s = model.run_once(_with((Recv("A", 1),), (YieldNow(), YieldNow())))[0]
    s, events, outcome = model.shutdown(s, 0)
    assert outcome == "done"
    assert [t.error for t in s.tasks] == ["Cancelled", "Cancelled"]
    assert not s.reported  # cancel.not-reported
    assert events == (event.Run(1), event.Run(0))  # the queue's order


@pytest.mark.spec("loop.shutdown")
@pytest.mark.parametrize("grace", [math.nan, -1])
def test_shutdown_refuses_a_bad_grace_and_changes_nothing(grace: float) -> None:
    s = _with((YieldNow(),))
    assert model.shutdown(s, grace) == (s, (), "ValueError")


@pytest.mark.spec("loop.shutdown")
def test_shutdown_with_nothing_left_does_not_iterate() -> None:
    s = model.run_once(_with((YieldNow(),)))[0]
    s = model.run_once(s)[0]
    assert model.shutdown(s, 5) == (s, (), "done")


@pytest.mark.spec("cont.handler-raises", "cont.handler-base-exception")
@pytest.mark.parametrize(
    ("raises", "error"),
    [
        ("error", "HandlerError"),
        ("base", "HandlerBase"),
        ("resumed", "LoopError"),
    ],
)
def test_a_raising_handler_fails_its_task_and_the_iteration_goes_on(
    raises: str, error: str
) -> None:
    s = _with((Suspend(raises),), (YieldNow(),))
    s, events = model.run_once(s)
    assert s.tasks[0].error == error and s.reported == (0,)
    assert event.Run(1) in events and not model.violated(s)


@pytest.mark.spec("cont.handler-base-exception")
def test_a_keyboard_interrupt_ends_the_iteration_the_rest_first_in_line() -> None:
    s = _with((YieldNow(),), (Suspend("interrupt"),), (YieldNow(),), (YieldNow(),))
    before = s
    s, events = model.run_once(s)
    assert (
        model.escaped(before, s) and model.interrupts(before, s) == "HandlerInterrupt"
    )
    assert s.tasks[1].error == "HandlerInterrupt"
    assert s.run_queue == (2, 3, 0)
    assert not any(e == event.Run(2) for e in events)


@pytest.mark.spec("cancel.runnable", "cont.handler-raises")
def test_a_cancelled_task_never_calls_its_handler() -> None:
    s = _with((Suspend("interrupt"),))
    s = model.cancel(s, 0)
    before = s
    s, _ = model.run_once(s)
    assert s.tasks[0].error == "Cancelled" and not model.escaped(before, s)
