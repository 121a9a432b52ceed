"""The model's callbacks (call_later from outside the tasks) and its far and
infinite deadlines: where a failure goes, what stays due, what the poll
waits."""

from __future__ import annotations

import math

import pytest

from refloop import model
from refloop.model import BASE, CANCEL, ERROR, OK, Callback, Sleep, event


def _sleeper_after(callback: Callback) -> model.State:
    """A callback at 1 scheduled before a task's sleep(1) timer, both due."""
    s = model.initial(("A",))
    s, _ = model.call_later(s, 1, callback)
    s, _ = model.spawn(s, (Sleep(1),))
    s, _ = model.run_once(s)  # the task sleeps
    return model.advance(s, 1)


@pytest.mark.spec("timer.callback-base-exception")
def test_a_base_exception_keeps_the_timers_due_after_it() -> None:
    s = _sleeper_after(Callback(BASE))
    s, events = model.run_once(s)
    assert s.called == (0,)
    assert [tm.tid for tm in s.timers] == [0], "the sleep's timer stays due"
    assert event.Run(0) not in events, "the iteration ended at the callback"
    s, events = model.run_once(s)
    assert event.Fire(0) in events and event.Run(0) in events
    assert not model.violated(s)


@pytest.mark.spec("timer.callback-error")
def test_an_exception_is_logged_and_the_others_fire() -> None:
    s = _sleeper_after(Callback(ERROR))
    s, events = model.run_once(s)
    assert s.called == (0,) and not s.timers
    assert events[-2:] == (event.Fire(0), event.Run(0))
    assert s.tasks[0].state == model.DONE


@pytest.mark.spec("cancel.waiting")
def test_a_callback_that_cancels_a_due_sleeper_withdraws_its_timer() -> None:
    s = _sleeper_after(Callback(CANCEL, 0))
    s, events = model.run_once(s)
    assert event.Fire(0) not in events
    assert s.tasks[0].state == model.FAILED and s.tasks[0].error == "Cancelled"
    assert not model.violated(s)


@pytest.mark.spec("tick.poll-clamp")
@pytest.mark.spec("timer.infinite")
@pytest.mark.parametrize("ticks", [86_401, 10**12, math.inf])
def test_the_poll_waits_at_most_a_day(ticks: float) -> None:
    s = model.initial(("A",))
    s, _ = model.call_later(s, ticks, Callback(OK))
    s, events = model.run_once(s)
    assert events == (event.Poll(model.MAX_POLL),)
    assert s.called == ()


@pytest.mark.spec("timer.infinite")
def test_an_infinite_sleep_waits_until_cancelled() -> None:
    s = model.initial(("A",))
    s, _ = model.spawn(s, (Sleep(math.inf),))
    s, _ = model.run_once(s)
    s = model.advance(s, 10**9)
    s, _ = model.run_once(s)
    assert s.tasks[0].state == model.WAITING
    s = model.cancel(s, 0)
    s, _ = model.run_once(s)
    assert s.tasks[0].error == "Cancelled" and not s.timers
