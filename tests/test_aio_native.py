"""Native refloop tasks inside a refloop.aio loop: the same run queue, timer
heap and thread bridge as the asyncio tasks beside them (spec: aio.native)."""

from __future__ import annotations

import asyncio
import contextlib
import threading

import pytest

import refloop
import refloop.aio


@pytest.mark.spec("aio.native", "aio.timer.order")
def test_native_sleeps_and_asyncio_sleeps_share_one_heap() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        async def native() -> None:
            await refloop.sleep(0.06)
            seen.append("native 60 ms")

        async def aio() -> None:
            await asyncio.sleep(0.01)
            seen.append("asyncio 10 ms")
            await asyncio.sleep(0.1)
            seen.append("asyncio 110 ms")

        task = loop.spawn(native())  # type: ignore[attr-defined]
        await asyncio.gather(aio(), loop.join(task))  # type: ignore[attr-defined]
        return seen

    # 50 ms between deadlines: a loaded machine stalling 10 ms no longer
    # reorders them.
    assert refloop.aio.run(main()) == [
        "asyncio 10 ms",
        "native 60 ms",
        "asyncio 110 ms",
    ]


@pytest.mark.spec("aio.native")
def test_native_threads_timeouts_and_cancellation_in_an_asyncio_loop() -> None:
    async def main() -> tuple[str, str, bool]:
        loop = asyncio.get_running_loop()

        async def in_thread() -> str:
            return await refloop.run_in_thread(lambda: threading.current_thread().name)

        async def times_out() -> str:
            try:
                with refloop.timeout(0.01):
                    await refloop.sleep(10)
            except TimeoutError:
                return "timed out"
            return "no"

        async def forever() -> None:
            await refloop.sleep(100)

        name = await loop.join(loop.spawn(in_thread()))  # type: ignore[attr-defined]
        timed = await loop.join(loop.spawn(times_out()))  # type: ignore[attr-defined]
        victim = loop.spawn(forever())  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        victim.cancel()  # from asyncio code
        with contextlib.suppress(refloop.Cancelled):
            await loop.join(victim)  # type: ignore[attr-defined]
        return name, timed, victim.cancelled()

    name, timed, cancelled = refloop.aio.run(main())
    assert name.startswith("refloop-worker") and timed == "timed out" and cancelled


@pytest.mark.spec("aio.native")
def test_a_native_task_resolves_an_asyncio_future() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        async def native() -> None:
            await refloop.yield_now()
            future.set_result(7)  # schedules asyncio's done callbacks

        loop.spawn(native())  # type: ignore[attr-defined]
        return await asyncio.wait_for(future, 5)

    assert refloop.aio.run(main()) == 7


@pytest.mark.spec("aio.threadsafe", "thread.no-lost-wakeup")
def test_the_drain_after_an_asyncio_wakeup_keeps_a_native_posts_byte() -> None:
    """asyncio's call_soon_threadsafe only wakes the poll, so the core drains
    the wakeup socket itself; a native call posted just before that drain
    must keep a byte, or the next poll would sleep with it queued."""
    loop = refloop.aio.new_event_loop()
    core = loop._core
    selector = core._selector
    try:
        core.notify()  # asyncio's wakeup, nothing posted
        core._threads.drain()
        assert selector.select(0) == [], "an asyncio wakeup is drained"
        core.notify()
        core.call_soon_threadsafe(print)  # a native post lands before the drain
        core._threads.drain()
        assert [key.data for key, _ in selector.select(0)] == [None], (
            "the posted call lost its wakeup byte"
        )
        seen: list[str] = []
        core.call_soon_threadsafe(seen.append, "native")
        loop.call_soon_threadsafe(loop.stop)
        loop.run_forever()
        assert seen == ["native"]
    finally:
        loop.close()
