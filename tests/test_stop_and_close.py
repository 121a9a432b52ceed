"""run_forever and stop, close and what a closed loop refuses, shutdown on
a driven loop (spec/05-loop.md), and suspend handlers that raise a
KeyboardInterrupt (cont.handler-base-exception), on the real loop."""

from __future__ import annotations

import math
import selectors
import threading
from collections.abc import Callable

import pytest

import refloop
from refloop import Loop, LoopError
from refloop._clock import VirtualClock
from refloop._suspend import Continuation, suspend


class _Recording(selectors.DefaultSelector):
    """A selector that records the timeouts it is polled with."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        return super().select(0)


async def _parks(held: list[Continuation]) -> None:
    await suspend(held.append)


async def _yields(ran: list[str], name: str, times: int = 1) -> None:
    for _ in range(times):
        ran.append(name)
        await refloop.yield_now()


@pytest.mark.spec("loop.stop")
def test_a_stop_from_a_callback_lets_its_iteration_finish() -> None:
    loop = Loop()
    ran: list[str] = []
    try:
        loop.spawn(_yields(ran, "a", 3))
        loop.call_later(0, loop.stop)
        loop.run_forever()
        # The stop came with the first iteration's timers: that iteration's
        # drain ran task a once, and run_forever returned after it.
        assert ran == ["a"]
        assert loop.snapshot().run_queue == (0,)
    finally:
        loop.close()


@pytest.mark.spec("loop.stop.pending")
def test_a_stop_before_run_forever_runs_one_iteration_without_waiting() -> None:
    import socket

    loop = Loop()
    ran: list[str] = []
    mine, theirs = socket.socketpair()
    mine.setblocking(False)

    async def reads() -> None:
        ran.append("r")
        await refloop.recv(mine, 1)
        ran.append("read")

    # Should the pending stop be ignored, the poll would wait for a byte:
    # a thread sends one after a while, so that the test fails, not hangs.
    rescue = threading.Timer(5, theirs.send, (b"x",))
    try:
        loop.spawn(reads())
        loop.run_once(0)
        loop.stop()
        rescue.start()
        loop.run_forever()
        assert ran == ["r"], "the poll waited: the pending stop was ignored"
    finally:
        rescue.cancel()
        loop.close()
        mine.close()
        theirs.close()


@pytest.mark.spec("loop.stop.pending")
def test_a_stop_made_in_run_once_is_kept_for_run_forever() -> None:
    loop = Loop()
    ran: list[str] = []
    try:
        loop.spawn(_yields(ran, "a", 3))
        loop.call_later(0, loop.stop)
        loop.run_once(0)  # the callback stops nothing here
        assert ran == ["a"]
        loop.run_forever()  # one iteration, then the kept request ends it
        assert ran == ["a", "a"]
    finally:
        loop.close()


@pytest.mark.spec("loop.stop", "timer.callback-base-exception")
def test_a_base_exception_ends_run_forever_and_clears_the_request() -> None:
    class Stopper(BaseException):
        pass

    def fail() -> None:
        raise Stopper

    loop = Loop()
    ran: list[str] = []
    try:
        loop.spawn(_yields(ran, "a", 5))
        loop.stop()
        loop.call_later(0, fail)
        with pytest.raises(Stopper):
            loop.run_forever()
        assert ran == []  # the timer's BaseException ended the iteration
        loop.call_later(0, loop.stop)
        loop.run_forever()
        assert ran == ["a"]  # no request was left: this one ran to its stop
    finally:
        loop.close()


@pytest.mark.spec("loop.close")
def test_close_drops_timers_idle_and_posted_calls_and_lets_primitives_go() -> None:
    loop = Loop()
    calls: list[str] = []
    event = refloop.Event()
    held: list[Continuation] = []

    async def waits() -> None:
        await event.wait()

    loop.spawn(waits())
    loop.spawn(_parks(held))
    loop.run_once(0)
    loop.call_later(0, calls.append, "timer")
    loop.call_when_idle(calls.append, "idle")
    poster = threading.Thread(
        target=loop.call_soon_threadsafe, args=(calls.append, "post")
    )
    poster.start()
    poster.join()
    assert "waiters=1" in repr(event) and held
    loop.close()
    snap = loop.snapshot()
    assert snap.closed and not (snap.timers or snap.idle or snap.posted or snap.tasks)
    assert "waiters=0" in repr(event)  # the event's queue let go of the task
    assert calls == []


def _doors(loop: Loop, held: list[Continuation]) -> dict[str, Callable[[], object]]:
    async def main() -> None:
        pass

    return {
        "spawn": lambda: loop.spawn(main()),
        "run_once": lambda: loop.run_once(0),
        "run": lambda: loop.run(main()),
        "run_forever": loop.run_forever,
        "shutdown": lambda: loop.shutdown(0),
        "call_at": lambda: loop.call_at(0, print),
        "call_later": lambda: loop.call_later(0, print),
        "call_when_idle": lambda: loop.call_when_idle(print),
        "call_soon_threadsafe": lambda: loop.call_soon_threadsafe(print),
        "resume": lambda: held[0](),
        "throw": lambda: held[0].throw(ValueError()),
    }


@pytest.mark.spec("loop.close.refuses")
@pytest.mark.parametrize("door", list(_doors(Loop(), [])))
def test_a_closed_loop_refuses_each_door_and_stays_as_it_was(door: str) -> None:
    loop = Loop()
    held: list[Continuation] = []
    task = loop.spawn(_parks(held))
    loop.run_once(0)
    loop.close()
    before = loop.snapshot()
    with pytest.raises(LoopError, match="closed"):
        _doors(loop, held)[door]()
    assert loop.snapshot() == before
    assert task.state == "failed" and task.cancel() is False
    loop.stop()  # does nothing
    loop.close()  # nor does a second close
    assert loop.snapshot() == before


@pytest.mark.spec("loop.shutdown")
def test_shutdown_cancels_oldest_first_and_bounds_the_poll_by_the_grace() -> None:
    selector = _Recording()
    clock = VirtualClock()
    loop = Loop(selector=selector, clock=clock)
    order: list[int] = []

    async def cleans(n: int) -> None:
        try:
            await refloop.sleep(math.inf)
        except refloop.Cancelled:
            order.append(n)
            await refloop.sleep(10)  # cleanup that outlives the grace

    try:
        for n in range(3):
            loop.spawn(cleans(n))
        loop.run_once(0)
        selector.timeouts.clear()
        stopper = threading.Timer(0.05, clock.advance, (2.0,))
        stopper.start()
        left = loop.shutdown(2)
        stopper.join()
        assert order == [0, 1, 2]
        assert [t.tid for t in left] == [0, 1, 2]
        # The polls waited at most until the grace period's end, not until
        # the cleanup's sleeps were due.
        waits = [t for t in selector.timeouts if t is not None]
        assert waits and len(waits) == len(selector.timeouts) and max(waits) <= 2
    finally:
        loop.close()


@pytest.mark.spec("loop.shutdown")
@pytest.mark.parametrize("grace", [math.nan, -1.0])
def test_a_refused_grace_changes_nothing(grace: float) -> None:
    loop = Loop()
    try:
        task = loop.spawn(refloop.sleep(1))
        before = loop.snapshot()
        with pytest.raises(ValueError, match="grace"):
            loop.shutdown(grace)
        assert loop.snapshot() == before and task.state == "runnable"
    finally:
        loop.close()


@pytest.mark.spec("loop.shutdown")
def test_shutdown_with_nothing_left_returns_without_an_iteration() -> None:
    selector = _Recording()
    loop = Loop(selector=selector)
    try:
        assert loop.shutdown(0) == [] and selector.timeouts == []
    finally:
        loop.close()


class _Interrupt(KeyboardInterrupt):
    pass


async def _suspends(handler: Callable[[Continuation], None]) -> None:
    await suspend(handler)


@pytest.mark.spec("cont.handler-base-exception")
def test_a_handlers_keyboard_interrupt_ends_the_iteration_the_rest_first() -> None:
    def interrupt(k: Continuation) -> None:
        raise _Interrupt

    reported: list[int] = []
    loop = Loop(report=lambda task: reported.append(task.tid))
    ran: list[str] = []
    try:
        loop.spawn(_yields(ran, "a"))
        bad = loop.spawn(_suspends(interrupt))
        loop.spawn(_yields(ran, "c"))
        loop.spawn(_yields(ran, "d"))
        with pytest.raises(_Interrupt):
            loop.run_once(0)
        assert bad.state == "failed" and reported == [1]
        assert ran == ["a"]
        # c and d had not run: they stay first in line, then a.
        assert loop.snapshot().run_queue == (2, 3, 0)
        loop.run_once(0)
        assert ran == ["a", "c", "d"] and loop.snapshot().run_queue == (2, 3)
    finally:
        loop.close()
