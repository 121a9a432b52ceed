"""refloop.aio's scheduling rules: the run queue, timers, stop, threads,
errors (spec/13-asyncio.md)."""

from __future__ import annotations

import asyncio
import math
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import refloop
import refloop.aio
from refloop import VirtualClock
from refloop.aio import RefloopEventLoop


@pytest.fixture
def loop() -> Iterator[RefloopEventLoop]:
    made = refloop.aio.new_event_loop()
    yield made
    made.close()


def one_iteration(loop: asyncio.AbstractEventLoop) -> None:
    """stop() then run_forever(): exactly one iteration whose poll does not wait."""
    loop.stop()
    loop.run_forever()


@pytest.mark.spec("aio.call-soon", "aio.run-queue")
def test_call_soon_runs_fifo_and_a_callback_made_in_the_drain_waits(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        loop.call_soon(seen.append, "made-in-drain")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    one_iteration(loop)
    assert seen == ["first", "second"]
    one_iteration(loop)
    assert seen == ["first", "second", "made-in-drain"]


@pytest.mark.spec("aio.run-queue", "aio.native")
def test_native_tasks_and_asyncio_handles_share_one_fifo(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []

    async def native(name: str) -> None:
        seen.append(name)
        await refloop.yield_now()
        seen.append(name + "-again")

    loop.call_soon(seen.append, "a1")
    loop.spawn(native("n1"))
    loop.call_soon(seen.append, "a2")
    loop.spawn(native("n2"))
    one_iteration(loop)
    assert seen == ["a1", "n1", "a2", "n2"]
    one_iteration(loop)
    assert seen[4:] == ["n1-again", "n2-again"]


@pytest.mark.spec("aio.native")
def test_asyncio_code_joins_a_native_task(loop: RefloopEventLoop) -> None:
    async def native() -> int:
        await refloop.sleep(0.001)
        return 42

    async def failing() -> None:
        raise KeyError("native")

    async def main() -> tuple[int, str]:
        value = await loop.join(loop.spawn(native()))
        try:
            await loop.join(loop.spawn(failing()))
        except KeyError as err:
            return value, str(err)
        return value, ""

    assert loop.run_until_complete(main()) == (42, "'native'")


@pytest.mark.spec("aio.cancelled-skip")
def test_a_cancelled_handle_never_runs(loop: RefloopEventLoop) -> None:
    seen: list[str] = []
    handle = loop.call_soon(seen.append, "cancelled")
    loop.call_soon(seen.append, "kept")
    handle.cancel()
    one_iteration(loop)
    assert seen == ["kept"]
    handle.cancel()  # twice: harmless
    ran = loop.call_soon(seen.append, "ran")
    one_iteration(loop)
    ran.cancel()  # after it ran: harmless
    assert seen == ["kept", "ran"]


@pytest.mark.spec("aio.cancelled-skip")
def test_a_handle_cancelled_by_an_earlier_callback_in_the_same_drain_is_skipped(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []
    holder: list[asyncio.Handle] = []
    loop.call_soon(lambda: holder[0].cancel())
    holder.append(loop.call_soon(seen.append, "must not run"))
    one_iteration(loop)
    assert seen == []


@pytest.mark.spec("aio.cancelled-skip")
def test_a_cancelled_timer_leaves_the_heap(loop: RefloopEventLoop) -> None:
    timer = loop.call_later(5, print)
    assert len(loop._core.timers()) == 1
    timer.cancel()
    assert loop._core.timers() == []


@pytest.mark.spec("aio.timer.order")
def test_timers_fire_by_deadline_then_creation_order_never_early() -> None:
    clock = VirtualClock(100.0)
    loop = refloop.aio.new_event_loop(clock=clock)
    try:
        seen: list[str] = []
        loop.call_at(110.0, seen.append, "b1")
        loop.call_at(105.0, seen.append, "a")
        loop.call_at(110.0, seen.append, "b2")
        loop.call_later(10.0, seen.append, "b3")  # 100 + 10: ties with b1, b2
        clock.advance(9.999999)
        one_iteration(loop)
        assert seen == ["a"]
        clock.advance(0.000001)
        one_iteration(loop)
        assert seen == ["a", "b1", "b2", "b3"]
    finally:
        loop.close()


@pytest.mark.spec("aio.timer.order")
def test_asyncio_sleep_sleeps_at_least_its_delay(loop: RefloopEventLoop) -> None:
    async def main() -> float:
        start = loop.time()
        await asyncio.sleep(0.02)
        return loop.time() - start

    assert loop.run_until_complete(main()) >= 0.02


@pytest.mark.spec("aio.timer.validate")
def test_call_at_refuses_bad_times_and_changes_nothing(loop: RefloopEventLoop) -> None:
    with pytest.raises(TypeError, match="when cannot be None"):
        loop.call_at(None, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a number"):
        loop.call_at("soon", print)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        loop.call_at(math.nan, print)
    with pytest.raises(TypeError, match="delay must not be None"):
        loop.call_later(None, print)  # type: ignore[arg-type]
    assert loop._core.timers() == []


@pytest.mark.spec("aio.timer.validate")
def test_an_infinite_deadline_never_fires_and_a_negative_delay_is_due_now(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []
    never = loop.call_at(math.inf, seen.append, "never")
    loop.call_later(-5, seen.append, "now")
    assert never.when() == math.inf
    one_iteration(loop)
    assert seen == ["now"]
    never.cancel()  # harmless
    assert never.cancelled()


@pytest.mark.spec("aio.stop")
def test_stop_before_run_forever_runs_one_iteration(loop: RefloopEventLoop) -> None:
    seen: list[int] = []

    def again(n: int) -> None:
        seen.append(n)
        loop.call_soon(again, n + 1)

    loop.call_soon(again, 0)
    one_iteration(loop)
    assert seen == [0]


@pytest.mark.spec("aio.stop")
def test_stop_from_a_callback_returns_after_that_iterations_callbacks(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []
    loop.call_soon(loop.stop)
    loop.call_soon(seen.append, "same iteration")
    loop.call_later(0.5, seen.append, "later")
    loop.run_forever()
    assert seen == ["same iteration"]
    assert len(loop._core.timers()) == 1  # still pending for the next run


@pytest.mark.spec("aio.threadsafe")
def test_call_soon_threadsafe_wakes_a_blocked_poll(loop: RefloopEventLoop) -> None:
    seen: list[str] = []

    def from_thread() -> None:
        loop.call_soon_threadsafe(seen.append, "from thread")
        loop.call_soon_threadsafe(loop.stop)

    timer = threading.Timer(0.05, from_thread)
    guard = loop.call_later(5.0, loop.stop)  # fails the test instead of hanging
    timer.start()
    started = loop.time()
    loop.run_forever()
    timer.join()
    guard.cancel()
    assert seen == ["from thread"]
    assert loop.time() - started < 2.0


@pytest.mark.spec("aio.threadsafe")
def test_call_soon_threadsafe_keeps_call_order_with_call_soon(
    loop: RefloopEventLoop,
) -> None:
    seen: list[str] = []
    worker = threading.Thread(target=loop.call_soon_threadsafe, args=(seen.append, "t"))
    worker.start()
    worker.join()
    loop.call_soon(seen.append, "s")
    one_iteration(loop)
    assert seen == ["t", "s"]
    # The wakeup byte is drained: a poll that may wait now waits for the timer.
    loop.call_later(0.05, loop.stop)
    started = loop.time()
    loop.run_forever()
    assert loop.time() - started >= 0.05


@pytest.mark.spec("aio.threadsafe")
def test_many_threads_posting_lose_no_call(loop: RefloopEventLoop) -> None:
    seen: list[int] = []
    count = 8 * 200

    def post(base: int) -> None:
        for i in range(200):
            loop.call_soon_threadsafe(seen.append, base + i)

    def check() -> None:
        if len(seen) == count:
            loop.stop()
        else:
            loop.call_later(0.001, check)

    threads = [threading.Thread(target=post, args=(n * 1000,)) for n in range(8)]
    loop.call_soon(check)
    guard = loop.call_later(10, loop.stop)
    for t in threads:
        t.start()
    loop.run_forever()
    for t in threads:
        t.join()
    guard.cancel()
    assert sorted(seen) == sorted(n * 1000 + i for n in range(8) for i in range(200))


@pytest.mark.spec("aio.exception-handler")
def test_a_raising_callback_goes_to_the_handler_and_the_loop_goes_on(
    loop: RefloopEventLoop,
) -> None:
    caught: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: caught.append(context))
    seen: list[str] = []

    def boom() -> None:
        raise ValueError("boom")

    loop.call_soon(boom)
    loop.call_soon(seen.append, "after")
    one_iteration(loop)
    assert seen == ["after"]
    assert isinstance(caught[0]["exception"], ValueError)
    assert caught[0]["message"].startswith("Exception in callback")
    assert "boom" in caught[0]["message"] and caught[0]["handle"] is not None


@pytest.mark.spec("aio.exception-handler")
def test_a_base_exception_propagates_out_of_run_forever(loop: RefloopEventLoop) -> None:
    def stop_now() -> None:
        raise KeyboardInterrupt

    loop.call_soon(stop_now)
    with pytest.raises(KeyboardInterrupt):
        loop.run_forever()
    assert not loop.is_running()
    loop.call_soon(loop.stop)
    loop.run_forever()  # the loop is usable afterwards


@pytest.mark.spec("aio.exception-handler")
def test_an_unjoined_native_failure_is_reported_through_the_handler(
    loop: RefloopEventLoop,
) -> None:
    caught: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: caught.append(context))

    async def fails() -> None:
        raise OSError("native failure")

    task = loop.spawn(fails())
    one_iteration(loop)
    assert caught[0]["refloop_task"] is task
    assert isinstance(caught[0]["exception"], OSError)


@pytest.mark.spec("aio.closed")
def test_a_closed_loop_refuses_with_asyncio_s_message(loop: RefloopEventLoop) -> None:
    coro = asyncio.sleep(0)
    loop.close()
    loop.close()  # harmless
    for call in (
        lambda: loop.call_soon(print),
        lambda: loop.call_later(1, print),
        lambda: loop.call_at(1, print),
        lambda: loop.call_soon_threadsafe(print),
        lambda: loop.add_reader(0, print),
        lambda: loop.run_forever(),
        lambda: loop.create_task(coro),
        lambda: loop.spawn(coro),
    ):
        with pytest.raises(
            RuntimeError, match=r"^Event loop is closed: .*new_event_loop"
        ):
            call()
    coro.close()


@pytest.mark.spec("aio.not-callable")
def test_a_non_callable_or_a_coroutine_is_refused(loop: RefloopEventLoop) -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(TypeError, match=r"got a coroutine; .*create_task"):
        loop.call_soon(coro)  # type: ignore[arg-type]
    coro.close()
    with pytest.raises(TypeError, match="call_later"):
        loop.call_later(1, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="call_soon_threadsafe"):
        loop.call_soon_threadsafe(None)  # type: ignore[arg-type]
    loop.set_debug(True)

    async def coroutine_function() -> None:
        pass

    with pytest.raises(TypeError):
        loop.call_soon(coroutine_function)
    assert len(loop._ready) == 0 and loop._core.timers() == []


@pytest.mark.spec("aio.wrong-thread")
def test_call_soon_from_another_thread_while_running_is_refused(
    loop: RefloopEventLoop,
) -> None:
    errors: list[BaseException] = []

    def other() -> None:
        for call in (lambda: loop.call_soon(print), lambda: loop.call_later(1, print)):
            try:
                call()
            except RuntimeError as err:
                errors.append(err)
        loop.call_soon_threadsafe(loop.stop)

    loop.call_soon(threading.Thread(target=other).start)
    loop.run_forever()
    assert len(errors) == 2
    assert "call_soon_threadsafe" in str(errors[0])
    assert loop._core.timers() == []


@pytest.mark.spec("aio.close")
def test_close_ends_native_tasks_and_refuses_while_running(
    loop: RefloopEventLoop,
) -> None:
    finished: list[str] = []

    async def native() -> None:
        try:
            await refloop.sleep(100)
        finally:
            finished.append("finally")

    async def try_close() -> None:
        with pytest.raises(RuntimeError, match="running"):
            loop.close()

    loop.spawn(native())
    loop.run_until_complete(try_close())
    loop.close()
    assert finished == ["finally"]
    assert loop._core.is_closed()


@pytest.mark.spec("aio.entry")
def test_the_entry_points_run_on_refloop() -> None:
    async def which() -> type:
        return type(asyncio.get_running_loop())

    assert refloop.aio.run(which()) is RefloopEventLoop
    with asyncio.Runner(loop_factory=refloop.aio.new_event_loop) as runner:
        assert runner.run(which()) is RefloopEventLoop
    if sys.version_info >= (3, 12):
        assert asyncio.run(which(), loop_factory=refloop.aio.new_event_loop) is (
            RefloopEventLoop
        )
    if sys.version_info < (3, 14):
        old = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(refloop.aio.EventLoopPolicy())
        try:
            assert asyncio.run(which()) is RefloopEventLoop
        finally:
            asyncio.set_event_loop_policy(old)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
@pytest.mark.spec("aio.run-queue")
def test_an_eager_task_starts_inside_create_task(loop: RefloopEventLoop) -> None:
    loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
    seen: list[str] = []

    async def child() -> str:
        seen.append("child started")
        await asyncio.sleep(0)
        return "done"

    async def main() -> str:
        task = asyncio.create_task(child())
        seen.append("after create_task")
        return await task

    assert loop.run_until_complete(main()) == "done"
    assert seen == ["child started", "after create_task"]


@pytest.mark.spec("aio.stop")
def test_debug_mode_logs_a_slow_callback(
    loop: RefloopEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    loop.call_soon(time.sleep, 0.02)
    with caplog.at_level("WARNING", logger="asyncio"):
        one_iteration(loop)
    assert any("took" in r.getMessage() for r in caplog.records)
