"""Callbacks and handlers that fail, or that change the loop's queues while
they run: where each failure goes, and that no other due work is lost.
Written against the public API only."""

from __future__ import annotations

import logging
import threading

import pytest

import refloop
from refloop import Loop, VirtualClock, suspend


class Boom(BaseException):
    """A user's own BaseException."""


BASE = [KeyboardInterrupt, SystemExit, Boom]


def _raise(exc: type[BaseException]) -> None:
    raise exc


def _user_callable() -> None:
    raise ValueError("mine")


@pytest.mark.spec("timer.callback-base-exception")
@pytest.mark.parametrize("exc", BASE)
def test_a_base_exception_from_a_timer_keeps_the_other_due_timers(
    exc: type[BaseException],
) -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    fired: list[str] = []
    woke: list[str] = []

    async def sleeper() -> None:
        await refloop.sleep(1)
        woke.append("sleeper")

    loop.spawn(sleeper())
    loop.run_once(timeout=0)  # the sleeper parks on its timer
    loop.call_later(1, fired.append, "before")
    loop.call_later(1, _raise, exc)
    loop.call_later(1, fired.append, "after-1")
    loop.call_later(1, fired.append, "after-2")
    clock.advance(1)
    with pytest.raises(exc):
        loop.run_once(timeout=0)
    assert fired == ["before"]
    # The sleeper's timer came first and fired; the timers after the failing
    # one are still pending and due.
    assert [h.when for h in loop.timers()] == [1.0, 1.0]
    loop.run_once(timeout=0)
    assert fired == ["before", "after-1", "after-2"]
    loop.run_once(timeout=0)
    assert woke == ["sleeper"]
    assert loop.tasks() == [] and loop.timers() == []
    loop.close()


@pytest.mark.spec("timer.callback-base-exception")
def test_a_base_exception_before_a_sleep_timer_leaves_the_sleeper_due(
    loop_class: type[Loop] = Loop,
) -> None:
    clock = VirtualClock()
    loop = loop_class(clock=clock)
    woke: list[str] = []

    async def sleeper() -> None:
        await refloop.sleep(1)
        woke.append("sleeper")

    loop.call_later(1, _raise, Boom)
    loop.spawn(sleeper())
    loop.run_once(timeout=0)
    clock.advance(1)
    with pytest.raises(Boom):
        loop.run_once(timeout=0)
    assert len(loop.timers()) == 1
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert woke == ["sleeper"] and loop.tasks() == []
    loop.close()


@pytest.mark.spec("timer.callback-base-exception", "loop.run")
def test_a_base_exception_from_a_timer_leaves_run() -> None:
    async def main() -> None:
        refloop.current_loop().call_later(0, _raise, Boom)
        await refloop.sleep(5)

    with pytest.raises(Boom):
        refloop.run(main())


@pytest.mark.spec("timer.callback-error")
def test_a_failing_timer_is_logged_under_the_users_callable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop(clock=VirtualClock())
    loop.call_later(0, _user_callable)
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    (record,) = caplog.records
    assert "_user_callable" in record.getMessage()
    assert "_released" not in record.getMessage()
    loop.close()


@pytest.mark.spec("timer.fire", "timer.cancel.memory")
def test_a_timer_that_cancels_and_adds_timers_due_in_the_same_iteration() -> None:
    loop = Loop(clock=VirtualClock())
    fired: list[str] = []

    def first() -> None:
        fired.append("first")
        victim.cancel()
        loop.call_later(0, fired.append, "added")

    loop.call_later(0, first)
    victim = loop.call_later(0, fired.append, "victim")
    loop.call_later(0, fired.append, "last")
    loop.run_once(timeout=0)
    assert fired == ["first", "last"]
    loop.run_once(timeout=0)
    assert fired == ["first", "last", "added"]
    loop.close()


@pytest.mark.spec("timer.fire", "cancel.waiting")
def test_a_timer_that_cancels_a_sleeping_task_due_in_the_same_iteration() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    outcome: list[str] = []

    async def sleeper() -> None:
        try:
            await refloop.sleep(1)
        except refloop.Cancelled:
            outcome.append("cancelled")
            raise
        outcome.append("slept")

    loop.call_later(1, lambda: task.cancel())
    task = loop.spawn(sleeper())
    loop.run_once(timeout=0)  # the sleeper's timer is due with ours, after it
    clock.advance(1)
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert outcome == ["cancelled"]
    assert task.cancelled() and loop.timers() == [] and loop.tasks() == []
    loop.close()


@pytest.mark.spec("idle.snapshot")
def test_an_idle_call_that_withdraws_a_pending_one() -> None:
    loop = Loop()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        second.cancel()

    loop.call_when_idle(first)
    second = loop.call_when_idle(ran.append, "second")
    loop.call_when_idle(ran.append, "third")
    loop.run_once(timeout=0)
    assert ran == ["first", "third"]
    loop.close()


@pytest.mark.spec("idle.snapshot")
def test_an_idle_call_made_during_the_batch_waits_for_the_next() -> None:
    loop = Loop()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        other.cancel()
        loop.call_when_idle(ran.append, "new")

    loop.call_when_idle(first)
    other = loop.call_when_idle(ran.append, "other")
    loop.run_once(timeout=0)
    assert ran == ["first"]
    loop.run_once(timeout=0)
    assert ran == ["first", "new"]
    loop.close()


@pytest.mark.spec("idle.callback-error")
@pytest.mark.parametrize("exc", BASE)
def test_a_base_exception_from_an_idle_call_keeps_the_rest_first_in_line(
    exc: type[BaseException],
) -> None:
    loop = Loop()
    ran: list[str] = []
    loop.call_when_idle(ran.append, "a")
    loop.call_when_idle(_raise, exc)
    loop.call_when_idle(ran.append, "b")
    with pytest.raises(exc):
        loop.run_once(timeout=0)
    loop.call_when_idle(ran.append, "later")
    loop.run_once(timeout=0)
    assert ran == ["a", "b", "later"]
    loop.close()


@pytest.mark.spec("idle.callback-error")
def test_a_failing_idle_call_is_logged_and_the_batch_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    ran: list[str] = []
    loop.call_when_idle(_user_callable)
    loop.call_when_idle(ran.append, "b")
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    assert ran == ["b"]
    assert "_user_callable" in caplog.records[0].getMessage()
    loop.close()


@pytest.mark.spec("thread.post.callback-error")
@pytest.mark.parametrize("exc", BASE)
def test_a_base_exception_from_a_posted_call_keeps_the_rest_queued(
    exc: type[BaseException],
) -> None:
    loop = Loop()
    ran: list[str] = []

    def post() -> None:
        loop.call_soon_threadsafe(ran.append, "a")
        loop.call_soon_threadsafe(_raise, exc)
        loop.call_soon_threadsafe(ran.append, "b")

    thread = threading.Thread(target=post)
    thread.start()
    thread.join()
    with pytest.raises(exc):
        loop.run_once(timeout=5)
    # The poll must not wait for a wakeup that was already drained.
    waiter = threading.Timer(5, loop.call_soon_threadsafe, (ran.append, "late"))
    waiter.start()
    try:
        loop.run_once(timeout=None)
    finally:
        waiter.cancel()
    assert ran == ["a", "b"]
    loop.close()


@pytest.mark.spec("thread.post.callback-error")
def test_a_failing_posted_call_is_logged_and_the_others_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    ran: list[str] = []
    loop.call_soon_threadsafe(_user_callable)
    loop.call_soon_threadsafe(ran.append, "b")
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    assert ran == ["b"]
    assert "_user_callable" in caplog.records[0].getMessage()
    loop.close()


@pytest.mark.spec("cont.handler-base-exception")
def test_a_handler_raising_a_users_base_exception_fails_only_its_task() -> None:
    loop = Loop(report=lambda task: None)
    ran: list[str] = []

    def handler(k: refloop.Continuation) -> None:
        raise Boom

    async def bad() -> None:
        await suspend(handler)

    async def good() -> None:
        await refloop.yield_now()
        ran.append("good")

    task = loop.spawn(bad())
    loop.spawn(good())
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert isinstance(task.exception(), Boom)
    assert ran == ["good"] and loop.tasks() == []
    loop.close()


@pytest.mark.spec("cont.handler-base-exception", "task.finish")
def test_a_handler_raising_keyboard_interrupt_ends_the_iteration_only() -> None:
    loop = Loop()
    ran: list[str] = []

    def handler(k: refloop.Continuation) -> None:
        raise KeyboardInterrupt

    async def bad() -> None:
        await suspend(handler)

    async def good() -> None:
        ran.append("good")

    task = loop.spawn(bad())
    loop.spawn(good())
    with pytest.raises(KeyboardInterrupt):
        loop.run_once(timeout=0)
    assert task.state == "failed"
    assert ran == []
    loop.run_once(timeout=0)
    assert ran == ["good"] and loop.tasks() == []
    loop.close()


@pytest.mark.spec("cancel.waiting")
def test_an_idle_call_that_cancels_a_task_waiting_idle() -> None:
    loop = Loop()

    async def waiter() -> None:
        await refloop.wait_idle()

    loop.call_when_idle(lambda: task.cancel())
    task = loop.spawn(waiter())
    loop.run_once(timeout=0)  # waiter parks on an idle call behind ours
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert task.cancelled() and loop.tasks() == []
    with pytest.raises(refloop.Cancelled):
        task.result()
    loop.close()
