"""asyncio's own primitives, unchanged, on refloop.aio."""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
from typing import Any

import pytest

import refloop.aio

run = refloop.aio.run


@pytest.mark.spec("aio.run-queue")
def test_tasks_futures_gather_and_results() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def main() -> list[int]:
        fut = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, 5)
        first = await fut
        rest = await asyncio.gather(*(double(i) for i in range(4)))
        return [first, *rest]

    assert run(main()) == [5, 0, 2, 4, 6]


@pytest.mark.spec("aio.cancelled-skip")
def test_cancellation_wait_for_and_timeout() -> None:
    async def main() -> list[str]:
        seen = []
        task = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            seen.append("cancelled")
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.01)
        except TimeoutError:
            seen.append("wait_for")
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            seen.append("timeout")
        done, pending = await asyncio.wait(
            [
                asyncio.create_task(asyncio.sleep(0.001)),
                asyncio.create_task(asyncio.sleep(5)),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for p in pending:
            p.cancel()
        seen.append(f"wait {len(done)} {len(pending)}")
        return seen

    assert run(main()) == ["cancelled", "wait_for", "timeout", "wait 1 1"]


def test_task_group_cancels_siblings_on_failure() -> None:
    async def main() -> list[str]:
        seen: list[str] = []

        async def slow() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                seen.append("sibling cancelled")
                raise

        async def fail() -> None:
            await asyncio.sleep(0.001)
            raise ValueError("x")

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(slow())
                tg.create_task(fail())
        except* ValueError:
            seen.append("group failed")
        return seen

    assert run(main()) == ["sibling cancelled", "group failed"]


def test_lock_event_condition_semaphore_queue() -> None:
    async def main() -> list[Any]:
        lock, event, cond = asyncio.Lock(), asyncio.Event(), asyncio.Condition()
        sem, queue = asyncio.Semaphore(2), asyncio.Queue[int](maxsize=2)
        order: list[Any] = []

        async def locked(n: int) -> None:
            async with lock:
                order.append(("in", n))
                await asyncio.sleep(0)
                order.append(("out", n))

        await asyncio.gather(locked(1), locked(2))

        async def waiter() -> None:
            await event.wait()
            order.append("event")

        w = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        event.set()
        await w

        async def cond_waiter() -> None:
            async with cond:
                await cond.wait_for(lambda: bool(order))
                order.append("cond")

        c = asyncio.create_task(cond_waiter())
        await asyncio.sleep(0)
        async with cond:
            cond.notify_all()
        await c

        active = 0
        peak = 0

        async def limited() -> None:
            nonlocal active, peak
            async with sem:
                active += 1
                peak = max(peak, active)
                await asyncio.sleep(0.001)
                active -= 1

        await asyncio.gather(*(limited() for _ in range(5)))
        order.append(("peak", peak))

        async def producer() -> None:
            for i in range(5):
                await queue.put(i)

        got: list[int] = []

        async def consumer() -> None:
            for _ in range(5):
                got.append(await queue.get())
                queue.task_done()

        await asyncio.gather(producer(), consumer())
        await queue.join()
        order.append(got)
        return order

    result = run(main())
    assert result[:4] == [("in", 1), ("out", 1), ("in", 2), ("out", 2)]
    assert result[4:] == ["event", "cond", ("peak", 2), [0, 1, 2, 3, 4]]


@pytest.mark.spec("aio.threadsafe")
def test_run_in_executor_and_run_coroutine_threadsafe() -> None:
    async def main() -> tuple[int, str, int]:
        loop = asyncio.get_running_loop()
        value = await loop.run_in_executor(None, sum, [1, 2, 3])
        name = await asyncio.to_thread(lambda: threading.current_thread().name)

        def in_thread() -> int:
            future = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, 7), loop)
            return future.result(5)

        from_thread = await loop.run_in_executor(None, in_thread)
        await loop.shutdown_default_executor()
        return value, name, from_thread

    value, name, from_thread = run(main())
    assert value == 6 and name != threading.current_thread().name and from_thread == 7


@pytest.mark.spec("aio.call-soon")
def test_callbacks_run_in_their_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="none")

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        seen: list[str] = []
        ctx = contextvars.copy_context()
        ctx.run(var.set, "inside")
        loop.call_soon(lambda: seen.append(var.get()), context=ctx)
        loop.call_later(0, lambda: seen.append(var.get()), context=ctx)
        loop.call_soon(lambda: seen.append(var.get()))
        await asyncio.sleep(0.01)
        return seen

    assert run(main()) == ["inside", "none", "inside"]


def test_async_generators_are_finalized_at_shutdown() -> None:
    closed: list[str] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append("closed")

    async def main() -> int:
        gen = agen()
        return await gen.__anext__()  # left suspended: shutdown_asyncgens closes it

    assert run(main()) == 1
    assert closed == ["closed"]


@pytest.mark.skipif(sys.version_info < (3, 13), reason="loop_factory is 3.13+")
def test_isolated_asyncio_test_case_loop_factory() -> None:
    import unittest

    class Case(unittest.IsolatedAsyncioTestCase):
        # A class, not a function: a function here would bind as a method
        # (CPython's own example uses asyncio.EventLoop the same way).
        loop_factory = refloop.aio.RefloopEventLoop

        async def test_it(self) -> None:
            self.assertIsInstance(
                asyncio.get_running_loop(), refloop.aio.RefloopEventLoop
            )

    result = unittest.TestResult()
    Case("test_it").run(result)
    assert result.wasSuccessful(), result.failures + result.errors
