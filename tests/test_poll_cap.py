"""A poll waits at most one day (spec: tick.poll-clamp), on the native loop
and under refloop.aio."""

from __future__ import annotations

import selectors
import threading

import pytest

import refloop
import refloop.aio


class RecordingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Records each poll's timeout and returns at once."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> list[object]:
        self.timeouts.append(timeout)
        return list(super().select(0))


@pytest.mark.spec("tick.poll-clamp")
@pytest.mark.parametrize("far", [3e6, 1e300])
def test_a_far_timer_caps_the_poll_at_one_day(far: float) -> None:
    selector = RecordingSelector()
    loop = refloop.Loop(selector=selector)
    try:
        fired: list[str] = []
        loop.call_later(far, fired.append, "far")
        loop.run_once()
        loop.run_once(timeout=1e300)
        assert selector.timeouts == [refloop.Loop._max_poll] * 2 and fired == []
        assert len(loop.timers()) == 1  # kept, to fire on time
    finally:
        loop.close()


@pytest.mark.spec("tick.poll-clamp")
def test_an_asyncio_sleep_of_a_month_does_not_break_the_loop() -> None:
    loop = refloop.aio.new_event_loop()
    try:
        loop.call_later(30 * 86400, print)
        poster = threading.Timer(0.05, loop.call_soon_threadsafe, (loop.stop,))
        poster.start()
        loop.run_forever()  # raised OverflowError from the poll before the cap
        poster.join()
    finally:
        loop.close()
