"""Timers and idle calls as mutation testing found them under-tested
(docs/mutation.md, fourth run; refloop/_timers.py): the count of pending
timers when a cancelled entry leaves the heap with the due ones, the timers
and idle calls put back after a BaseException and then cancelled, and a
timer cancelled after its loop closed. (White-box where the count is the
timers part's own: `len(loop._timers)` is what run()'s deadlock verdict
reads.)"""

from __future__ import annotations

import threading

import pytest
from _helpers import SpySelector

import refloop
from refloop import Loop, VirtualClock


class Boom(BaseException):
    """A user's own BaseException."""


def _boom() -> None:
    raise Boom


def _noop() -> None:
    pass


async def _forgotten() -> None:
    # Nobody keeps the continuation: only a cancel can resume the task.
    await refloop.suspend(lambda k: None)


@pytest.mark.spec("loop.run.deadlock", "timer.cancel.memory")
def test_a_cancelled_timer_due_with_a_live_one_leaves_the_next_timer_counted() -> None:
    """A live and a cancelled timer due in one iteration, then a timer that
    alone can end the wait (it cancels the joined task): it still counts as
    pending, so run() waits for it and reports no deadlock."""
    loop = Loop()

    async def main() -> str:
        other = refloop.spawn(_forgotten())
        await refloop.yield_now()
        now = loop.time()
        loop.call_at(now + 0.001, _noop)
        loop.call_at(now + 0.001, _noop).cancel()  # due behind the live one
        loop.call_later(0.02, other.cancel)
        try:
            await other.join()
        except refloop.Cancelled:
            return "cancelled"
        return "joined"

    try:
        assert loop.run(main()) == "cancelled"
    finally:
        loop.close()


@pytest.mark.spec("timer.cancel.memory")
def test_the_pending_count_is_exact_after_due_and_cancelled_timers_leave() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    loop.call_later(1, _noop)
    loop.call_later(1, _noop).cancel()
    loop.call_later(1, _noop).cancel()
    loop.call_later(5, _noop)
    assert len(loop._timers) == 2
    clock.advance(1)
    loop.run_once(timeout=0)
    # The live due timer fired, both cancelled ones left with it: one pending.
    assert len(loop._timers) == 1
    assert len(loop.timers()) == 1
    loop.close()


@pytest.mark.spec("timer.callback-base-exception", "timer.cancel.memory")
def test_a_timer_put_back_after_a_base_exception_can_still_be_cancelled() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    ran: list[str] = []
    loop.call_later(1, _boom)
    after = loop.call_later(1, ran.append, "after")
    clock.advance(1)
    with pytest.raises(Boom):
        loop.run_once(timeout=0)
    # Still pending and due; cancelled, it is withdrawn like any other.
    assert loop.timers() == [after]
    after.cancel()
    assert loop.timers() == []
    assert len(loop._timers) == 0
    assert after.callback[1] == ()  # it let go of its callback
    loop.run_once(timeout=0)
    assert ran == []
    assert len(loop._timers) == 0
    loop.close()


@pytest.mark.spec("idle.callback-error", "idle", "tick.poll-timeout")
def test_an_idle_call_put_back_after_a_base_exception_can_still_be_withdrawn() -> None:
    spy = SpySelector()
    loop = Loop(clock=VirtualClock(), selector=spy)
    ran: list[str] = []
    loop.call_when_idle(_boom)
    after = loop.call_when_idle(ran.append, "after")
    with pytest.raises(Boom):
        loop.run_once(timeout=0)
    assert loop.snapshot().idle != ()
    after.cancel()
    # Withdrawn at once: nothing is pending and the next poll waits.
    assert loop.snapshot().idle == ()
    assert len(loop._timers) == 0
    loop.run_once(timeout=5)
    assert spy.timeouts[-1] == 5
    assert ran == []
    loop.close()


@pytest.mark.spec("loop.close", "timer.cancel.memory")
def test_cancelling_a_timer_after_the_loop_closed_is_harmless() -> None:
    loop = Loop(clock=VirtualClock())
    handles = [loop.call_later(1, _noop) for _ in range(3)]
    loop.close()
    for handle in handles:
        handle.cancel()
        assert handle.cancelled
    assert loop.timers() == []


@pytest.mark.spec("timer.cancel.memory", "tick.poll-timeout")
def test_a_cancelled_timer_at_the_head_leaves_the_count_exact() -> None:
    spy = SpySelector()
    loop = Loop(clock=VirtualClock(), selector=spy)
    loop.call_later(1, _noop).cancel()
    loop.call_later(2, _noop).cancel()
    loop.call_later(5, _noop)
    loop.run_once(timeout=10)
    # The poll waited for the live timer; the cancelled ones before it left
    # the heap, and the count of pending timers is still one.
    assert spy.timeouts[-1] == 5
    assert len(loop._timers) == 1
    assert len(loop._timers.heap) == 1
    loop.close()


@pytest.mark.spec("timer.order")
def test_timers_are_numbered_one_by_one_in_the_order_made() -> None:
    loop = Loop(clock=VirtualClock())
    handles = [loop.call_later(5, print) for _ in range(3)]
    assert [repr(h).split()[3] for h in handles] == ["#0", "#1", "#2"]
    # `cancelled` is a bool from the start, not merely falsy.
    assert [h.cancelled for h in handles] == [False] * 3
    assert all(h.cancelled is False for h in handles)
    handles[0].cancel()
    assert handles[0].cancelled is True
    loop.close()


@pytest.mark.spec("thread.refused-unchanged")
def test_cancelling_a_timer_from_another_thread_is_refused_with_the_fix() -> None:
    loop = Loop(clock=VirtualClock())
    handle = loop.call_later(5, print)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            handle.cancel()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="intruder")
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], refloop.LoopError)
    assert str(errors[0]) == (
        f"{handle!r} was cancelled from thread 'intruder', but its loop "
        "belongs to another; use call_soon_threadsafe(handle.cancel)"
    )
    # Refused, it changed nothing: still pending, still callable.
    assert not handle.cancelled and loop.timers() == [handle]
    loop.close()
