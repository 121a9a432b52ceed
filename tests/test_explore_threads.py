"""The virtual executor: thread work on the loop's side, its posting back
a decision (spec: explore.thread.*)."""

from __future__ import annotations

import asyncio
import threading

import pytest

import refloop
from refloop.explore import explore, run_one
from refloop.explore._decide import Decider, FixedDecider, Point
from refloop.explore._executor import VirtualExecutor


class Hold(Decider):
    """Holds the job of the given submission number back `polls` polls."""

    def __init__(self, job: int, polls: int) -> None:
        super().__init__()
        self.job, self.polls = job, polls

    def pick(self, index: int, point: Point) -> int:
        if point.kind == "post" and point.source == (-self.job, 0):
            return min(self.polls, point.options - 1)
        return 0


@pytest.mark.spec("explore.thread.virtual")
def test_thread_work_runs_in_the_loops_thread_without_threads() -> None:
    where: list[int] = []
    before = threading.active_count()

    def work(x: int) -> int:
        where.append(threading.get_ident())
        return x * 2

    async def aio_test() -> None:
        loop = asyncio.get_running_loop()
        assert await asyncio.to_thread(work, 1) == 2
        assert await loop.run_in_executor(None, work, 2) == 4
        with pytest.raises(ZeroDivisionError):
            await asyncio.to_thread(lambda: 1 // 0)

    async def native_test() -> None:
        assert await refloop.run_in_thread(work, 3) == 6
        with pytest.raises(KeyError):
            await refloop.run_in_thread({}.__getitem__, "k")

    for test in (aio_test, native_test):
        result = explore(test, strategy="random", runs=20)
        assert result.failure is None, result.message()
    assert set(where) == {threading.get_ident()}
    assert threading.active_count() == before


@pytest.mark.spec("explore.thread.post")
def test_when_a_result_is_posted_back_is_a_decision() -> None:
    order: list[str] = []

    async def test() -> None:
        async def fetch(name: str) -> None:
            await asyncio.to_thread(order.append, name)

        await asyncio.gather(fetch("a"), fetch("b"))

    outcome = run_one(test, FixedDecider())
    assert outcome.error is None and order == ["a", "b"]
    assert outcome.decider.options.count(3) >= 2  # a post point per job
    order.clear()
    held = run_one(test, Hold(job=1, polls=1))
    assert held.error is None and order == ["b", "a"]  # the first posted later
    assert [d.kind for d in held.decider.log] == ["post"]
    # The replay string brings the same order back.
    order.clear()
    replayed = explore(test, replay=held.decider.replay())
    assert replayed.failure is None and order == ["b", "a"]


@pytest.mark.spec("explore.thread.post")
def test_a_race_with_a_thread_is_found_by_holding_its_post() -> None:
    async def test() -> None:
        cache: dict[str, str] = {}

        async def refresh() -> None:
            cache["k"] = await asyncio.to_thread(str.upper, "fresh")

        task = asyncio.create_task(refresh())
        await asyncio.sleep(0.01)
        # The bug: assumes a thread's result is back after 10 ms.
        assert cache.get("k") == "FRESH", "read the cache before the refresh"
        await task

    assert explore(test, strategy="default").failure is None
    found = explore(test, strategy="delay", runs=20)
    assert found.failure is not None
    assert [d.kind for d in found.failure.decider.log] == ["post"]
    # Without the freedom (hold=0) every run posts at once: the bug hides.
    assert explore(test, strategy="delay", runs=20, hold=0).failure is None


@pytest.mark.spec("explore.thread.post")
def test_a_test_that_spins_until_a_thread_is_done_sees_it_done() -> None:
    async def test() -> None:
        future = asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])
        spins = 0
        while not future.done():  # no descriptor registered: the loop polls
            spins += 1
            await asyncio.sleep(0)
        assert future.result() == 3 and spins <= 5

    for strategy in ("default", "delay"):
        result = explore(test, strategy=strategy, runs=30, max_polls=200)
        assert result.failure is None, result.message()


@pytest.mark.spec("explore.thread.virtual")
def test_the_executor_refuses_after_shutdown_and_cancels_what_is_left() -> None:
    ex = VirtualExecutor()
    pending = ex.submit(len, "abc")
    with pytest.raises(TypeError, match="callable"):
        ex.submit(42)  # type: ignore[arg-type]
    ex.shutdown()
    assert pending.cancelled() and not ex.pending
    with pytest.raises(RuntimeError, match="shutdown"):
        ex.submit(len, "x")
    assert threading.active_count() >= 1
    with pytest.raises(ValueError, match="executor must be one of"):
        explore(
            test_the_executor_refuses_after_shutdown_and_cancels_what_is_left,
            executor="processes",
        )
