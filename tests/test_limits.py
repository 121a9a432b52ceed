"""The OS's limits: deadlines beyond what a poll accepts, infinite and
negative times. Written against the public API only."""

from __future__ import annotations

import math
import select
import selectors
from typing import Any

import pytest

import refloop
from refloop import Loop, VirtualClock

# What epoll and poll accept, in seconds (a C int of milliseconds).
OS_LIMIT = (2**31 - 1) / 1000


class StrictSelector(selectors.DefaultSelector):
    """The default selector that records each poll's timeout, refuses what
    epoll would refuse, and never blocks (the tests' clock is virtual)."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        if timeout is not None and timeout > OS_LIMIT:
            raise OverflowError("timeout is too large")
        return super().select(0)


@pytest.mark.spec("tick.poll-clamp")
def test_the_os_poll_refuses_a_month() -> None:
    """Why the clamp exists: the real poll raises for a month's timeout."""
    if not hasattr(select, "epoll"):
        pytest.skip("epoll only")
    poller = select.epoll()
    try:
        with pytest.raises(OverflowError):
            poller.poll(40 * 86400.0)
    finally:
        poller.close()


@pytest.mark.spec("tick.poll-clamp")
@pytest.mark.parametrize("days", [25, 30, 365, 10_000])
def test_a_far_deadline_is_clamped_and_polled_again(
    days: int, loop_class: type[Loop] = Loop
) -> None:
    selector = StrictSelector()
    clock = VirtualClock()
    loop = loop_class(selector=selector, clock=clock)
    fired: list[int] = []
    loop.call_later(days * 86400.0, fired.append, days)
    loop.run_once()
    loop.run_once(timeout=days * 86400.0 * 2)
    assert selector.timeouts and all(
        t is not None and 0 < t <= 86400.0 for t in selector.timeouts
    )
    assert fired == []
    clock.advance(days * 86400.0)
    loop.run_once()
    assert fired == [days]
    loop.close()


@pytest.mark.spec("tick.poll-clamp", "timer.infinite")
def test_an_infinite_timer_never_fires_and_the_poll_is_clamped() -> None:
    selector = StrictSelector()
    clock = VirtualClock()
    loop = Loop(selector=selector, clock=clock)
    fired: list[str] = []
    handle = loop.call_later(math.inf, fired.append, "never")
    at = loop.call_at(math.inf, fired.append, "never either")
    loop.run_once()
    clock.advance(1e300)
    loop.run_once()
    assert fired == []
    assert selector.timeouts == [86400.0, 86400.0]
    assert loop.timers() == [handle, at]
    handle.cancel()
    at.cancel()
    assert loop.timers() == []
    loop.close()


@pytest.mark.spec("timer.infinite", "timer.sleep")
def test_sleep_inf_waits_until_cancelled() -> None:
    selector = StrictSelector()
    loop = Loop(selector=selector, clock=VirtualClock())
    outcome: list[str] = []

    async def forever() -> None:
        try:
            await refloop.sleep(math.inf)
        except refloop.Cancelled:
            outcome.append("cancelled")
            raise

    async def main() -> None:
        task = refloop.spawn(forever())
        for _ in range(3):
            await refloop.yield_now()
        assert task.state == "waiting"
        task.cancel()
        await refloop.yield_now()

    loop.run(main())
    assert outcome == ["cancelled"] and loop.timers() == []
    loop.close()


@pytest.mark.spec("timer.infinite", "cancel.scope.timeout")
def test_an_infinite_timeout_never_expires() -> None:
    async def main() -> str:
        with refloop.timeout(math.inf) as scope:
            await refloop.sleep(0)
        assert not scope.fired
        return "done"

    assert refloop.run(main()) == "done"


@pytest.mark.spec("timer.validate", "timer.infinite")
def test_minus_infinity_means_now() -> None:
    clock = VirtualClock(5)
    loop = Loop(clock=clock)
    fired: list[str] = []
    loop.call_later(-math.inf, fired.append, "later")
    loop.call_at(-math.inf, fired.append, "at")
    loop.run_once(timeout=0)
    assert sorted(fired) == ["at", "later"]

    async def main() -> None:
        await refloop.sleep(-math.inf)
        fired.append("slept")

    loop.run(main())
    assert fired[-1] == "slept"
    loop.close()


@pytest.mark.spec("timer.validate")
@pytest.mark.parametrize("bad", [math.nan, "1", None, True])
def test_nan_and_non_numbers_are_refused_by_every_door(bad: object) -> None:
    loop = Loop(clock=VirtualClock())
    error = TypeError if not isinstance(bad, float) else ValueError
    with pytest.raises(error):
        loop.call_later(bad, print)  # type: ignore[arg-type]
    with pytest.raises(error):
        loop.call_at(bad, print)  # type: ignore[arg-type]
    with pytest.raises(error):
        refloop.timeout(bad)  # type: ignore[arg-type]

    async def main() -> None:
        await refloop.sleep(bad)  # type: ignore[arg-type]

    with pytest.raises(error):
        loop.run(main())
    assert loop.timers() == [] and loop.tasks() == []
    loop.close()


@pytest.mark.spec("timer.infinite")
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_a_virtual_clock_stays_finite(bad: float) -> None:
    with pytest.raises(ValueError):
        VirtualClock(bad)
    clock = VirtualClock()
    with pytest.raises(ValueError):
        clock.advance(bad)
    assert clock() == 0.0
