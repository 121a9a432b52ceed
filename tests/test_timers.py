"""Timers: the corners the stateful test reaches slowly."""

from __future__ import annotations

import logging
import math
import selectors
from typing import Any

import pytest

import refloop
from refloop import Loop, VirtualClock


class SpySelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    """Records the timeouts the loop asks for and never blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        return super().select(0)


@pytest.mark.spec("timer.validate")
@pytest.mark.parametrize("bad", ["1", None, True, [1]])
def test_non_numbers_are_refused_at_the_call(bad: object) -> None:
    loop = Loop(clock=VirtualClock())
    with pytest.raises(TypeError, match="number of seconds"):
        loop.call_later(bad, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="number of seconds"):
        loop.call_at(bad, print)  # type: ignore[arg-type]
    assert loop.timers() == []


@pytest.mark.spec("timer.validate")
@pytest.mark.parametrize("bad", [math.nan, -math.nan])
def test_nan_is_refused(bad: float) -> None:
    loop = Loop(clock=VirtualClock())
    with pytest.raises(ValueError, match="finite"):
        loop.call_later(bad, print)
    assert loop.timers() == []


@pytest.mark.spec("timer.validate")
def test_negative_delay_means_now_and_fn_must_be_callable() -> None:
    clock = VirtualClock(10)
    loop = Loop(clock=clock)
    fired: list[str] = []
    handle = loop.call_later(-5, fired.append, "now")
    assert handle.when == 10
    with pytest.raises(TypeError, match="callable"):
        loop.call_later(1, "not callable")  # type: ignore[arg-type]
    loop.run_once(timeout=0)
    assert fired == ["now"]


@pytest.mark.spec("timer.fire", "timer.order", "timer.clock")
def test_timers_fire_by_deadline_then_by_scheduling_order() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock, selector=SpySelector())
    fired: list[str] = []
    loop.call_at(2, fired.append, "b1")
    loop.call_at(1, fired.append, "a")
    loop.call_at(2, fired.append, "b2")
    loop.call_at(3, fired.append, "c")
    clock.advance(1.5)
    loop.run_once(timeout=0)
    assert fired == ["a"]
    clock.advance(0.5)
    loop.run_once(timeout=0)
    assert fired == ["a", "b1", "b2"]
    assert loop.time() == 2.0


@pytest.mark.spec("timer.fire")
def test_timers_scheduled_while_firing_wait_for_the_next_iteration() -> None:
    loop = Loop(clock=VirtualClock())
    fired: list[int] = []

    def again(n: int) -> None:
        fired.append(n)
        loop.call_later(0, again, n + 1)

    loop.call_later(0, again, 0)
    loop.run_once(timeout=0)
    assert fired == [0]
    loop.run_once(timeout=0)
    assert fired == [0, 1]


@pytest.mark.spec("timer.poll-timeout")
def test_poll_waits_until_the_nearest_deadline() -> None:
    clock = VirtualClock()
    spy = SpySelector()
    loop = Loop(clock=clock, selector=spy)
    loop.call_later(5, print)
    loop.call_later(3, print)
    loop.run_once()
    clock.advance(2.5)
    loop.run_once()
    clock.advance(10)
    loop.run_once(timeout=1)
    # The last poll would not wait, and nothing waits on a socket: skipped
    # (tick.poll-skip).
    assert spy.timeouts == [3.0, 0.5]
    loop.run_once()
    loop.run_once(timeout=7)
    assert spy.timeouts[-2:] == [None, 7]


@pytest.mark.spec("timer.sleep", "timer.clock")
def test_sleep_resumes_after_the_deadline_on_the_loops_clock() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)

    async def nap() -> float:
        await refloop.sleep(2)
        return loop.time()

    task = loop.spawn(nap())
    loop.run_once(timeout=0)
    assert task.state == "waiting"
    clock.advance(1)
    loop.run_once(timeout=0)
    assert task.state == "waiting"
    clock.advance(1)
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert task.result() == 2.0


@pytest.mark.spec("timer.sleep")
def test_sleep_with_the_real_clock() -> None:
    async def main() -> float:
        loop = refloop.current_loop()
        start = loop.time()
        await refloop.sleep(0.01)
        return loop.time() - start

    assert refloop.run(main()) >= 0.01


@pytest.mark.spec("timer.validate", "timer.sleep")
def test_sleep_refuses_bad_times_in_the_task() -> None:
    async def main() -> None:
        await refloop.sleep(math.nan)

    with pytest.raises(ValueError, match="finite"):
        refloop.run(main())


@pytest.mark.spec("timer.callback-error")
def test_a_failing_callback_is_logged_and_the_others_still_fire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop(clock=VirtualClock())
    fired: list[str] = []
    loop.call_later(0, lambda: 1 / 0)
    loop.call_later(0, fired.append, "after")
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    assert fired == ["after"]
    assert any(
        r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records
    )


@pytest.mark.spec("timer.cancel.memory")
def test_cancelled_timers_do_not_fire_and_do_not_accumulate() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    fired: list[int] = []
    keep = loop.call_later(10, fired.append, -1)
    for i in range(10_000):
        loop.call_later(5, fired.append, i).cancel()
    # Lazy deletion with compaction: the heap holds live timers plus at most
    # as many cancelled ones (and never more than the threshold beyond that).
    # (The heap is the timers part's own: white-box, for its memory.)
    assert len(loop._timers.heap) <= 2 * len(loop.timers()) + 65
    keep.cancel()
    keep.cancel()
    clock.advance(20)
    loop.run_once(timeout=0)
    assert fired == []
    assert loop.timers() == []


@pytest.mark.spec("timer.clock", "env.advance")
def test_virtual_clock_never_goes_backwards() -> None:
    clock = VirtualClock(1)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    clock.advance(0.5)
    assert clock() == 1.5


@pytest.mark.spec("loop.run.deadlock", "timer.sleep")
def test_a_sleeping_main_is_not_a_deadlock() -> None:
    async def main() -> str:
        await refloop.sleep(0)
        return "woke"

    assert refloop.run(main()) == "woke"


# Found by mutation testing (docs/mutation.md): each test below kills
# mutants of refloop/_timers.py that the rest of the suite let through.


@pytest.mark.spec("idle")
def test_an_idle_call_withdrawn_by_an_earlier_one_skips_only_itself() -> None:
    """The calls after a withdrawn one in the same idle iteration still run
    (a `break` in place of `continue` would drop them)."""
    loop = Loop(clock=VirtualClock())
    seen: list[str] = []
    handles: list[Any] = []

    def first() -> None:
        seen.append("first")
        handles[0].cancel()

    loop.call_when_idle(first)
    handles.append(loop.call_when_idle(seen.append, "withdrawn"))
    loop.call_when_idle(seen.append, "last")
    loop.run_once(timeout=0)
    assert seen == ["first", "last"]
    assert loop.snapshot().idle == ()


@pytest.mark.spec("idle", "timer.callback-error")
def test_a_failing_idle_call_is_logged_by_its_name_and_the_rest_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop(clock=VirtualClock())
    seen: list[str] = []

    def broken_idle_call() -> None:
        raise ValueError("boom")

    loop.call_when_idle(broken_idle_call)
    loop.call_when_idle(seen.append, "after")
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    assert seen == ["after"]
    [record] = caplog.records
    assert record.getMessage().startswith("idle callback <function ")
    assert "broken_idle_call" in record.getMessage()
    assert record.getMessage().endswith(" raised")
    assert record.exc_info is not None and record.exc_info[0] is ValueError


@pytest.mark.spec("timer.fire")
def test_a_timer_handles_repr_says_when_which_and_whether_cancelled() -> None:
    loop = Loop(clock=VirtualClock(2))
    timer = loop.call_later(3, print)
    idle = loop.call_when_idle(print)
    assert repr(timer) == f"<TimerHandle at 5 #0 {print!r}>"
    assert repr(idle) == f"<TimerHandle idle #0 {print!r}>"
    second = loop.call_when_idle(print)
    assert repr(second).startswith("<TimerHandle idle #1 ")
    assert repr(loop.call_when_idle(print)).startswith("<TimerHandle idle #2 ")
    timer.cancel()
    assert repr(timer).endswith(" cancelled>")
    assert repr(timer).startswith("<TimerHandle at 5 #0 ")


@pytest.mark.spec("timer.clock", "timer.validate")
def test_a_virtual_clock_names_its_bad_argument_and_may_stand_still() -> None:
    with pytest.raises(TypeError, match=r"^start must be a number of seconds"):
        VirtualClock("0")  # type: ignore[arg-type]
    clock = VirtualClock(1)
    with pytest.raises(ValueError, match=r"^seconds must be a finite number"):
        clock.advance(math.nan)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    clock.advance(0)
    assert clock() == 1


@pytest.mark.spec("timer.cancel.memory")
@pytest.mark.parametrize(
    ("live", "cancelled", "compacted"),
    [
        (1, 2, False),  # they outnumber the live one, but are not > 64
        (1, 64, False),  # 64 is not more than 64
        (1, 65, True),
        (65, 65, False),  # as many as the live ones is not outnumbering
        (100, 65, False),
        (64, 65, True),
    ],
)
def test_the_heap_is_rebuilt_exactly_when_the_spec_says(
    live: int, cancelled: int, compacted: bool
) -> None:
    """Found by mutation testing: the thresholds of timer.cancel.memory were
    only checked as an upper bound. (White-box: the heap is the timers
    part's own.)"""
    loop = Loop(clock=VirtualClock())
    for _ in range(live):
        loop.call_later(10, print)
    for _ in range(cancelled):
        loop.call_later(5, print).cancel()
    assert len(loop._timers.heap) == (live if compacted else live + cancelled)
    assert len(loop.timers()) == live


@pytest.mark.spec("timer.cancel.memory", "loop.run.deadlock")
def test_after_the_heap_is_rebuilt_a_pending_sleep_is_still_counted() -> None:
    """The bookkeeping of cancelled entries starts again from zero when the
    heap is rebuilt; were it off by one, run() would take the last sleep for
    nothing and report a deadlock."""
    loop = Loop()

    async def main() -> str:
        current = refloop.current_loop()
        for _ in range(100):
            current.call_later(10, print).cancel()
        await refloop.sleep(0.001)
        return "slept"

    try:
        assert loop.run(main()) == "slept"
    finally:
        loop.close()


@pytest.mark.spec("idle", "tick.poll-timeout")
def test_a_withdrawn_idle_call_no_longer_keeps_the_poll_from_waiting() -> None:
    spy = SpySelector()
    loop = Loop(clock=VirtualClock(), selector=spy)
    loop.call_when_idle(print).cancel()
    assert loop.snapshot().idle == ()
    loop.run_once(timeout=5)
    assert spy.timeouts == [5]


@pytest.mark.spec("timer.cancel.memory")
def test_cancelling_an_idle_call_after_the_loop_closed_is_harmless() -> None:
    loop = Loop(clock=VirtualClock())
    handle = loop.call_when_idle(print)
    loop.close()
    handle.cancel()
    assert handle.cancelled


@pytest.mark.spec("timer.callback-error")
def test_a_failing_timer_callback_is_logged_with_its_callable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop(clock=VirtualClock())

    def broken_timer_callback() -> None:
        raise ValueError("boom")

    loop.call_later(0, broken_timer_callback)
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    [record] = caplog.records
    message = record.getMessage()
    # The user's callable, not the handle (which no longer holds it once it
    # has fired): issue #14, section 3.
    assert message.startswith("timer callback <function ")
    assert "broken_timer_callback" in message
    assert message.endswith(" raised")
    assert record.exc_info is not None and record.exc_info[0] is ValueError


@pytest.mark.spec("timer.cancel.memory", "loop.run.deadlock")
def test_a_cancelled_timer_due_behind_a_live_one_is_counted_out() -> None:
    """Found by mutation testing: a cancelled entry taken out with the due
    timers (not at the head of the heap) must leave the count right, or
    run() takes the pending sleep for nothing and reports a deadlock."""
    loop = Loop()

    async def main() -> str:
        current = refloop.current_loop()
        when = current.time() + 0.001
        current.call_at(when, print)
        current.call_at(when, print).cancel()
        await refloop.sleep(0.02)
        return "slept"

    try:
        assert loop.run(main()) == "slept"
    finally:
        loop.close()
