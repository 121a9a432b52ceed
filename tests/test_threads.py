"""Idle calls, calls from other threads, and work in threads."""

from __future__ import annotations

import contextlib
import selectors
import sys
import threading
import time
from typing import Any

import pytest

import refloop
from refloop import Loop, LoopError, VirtualClock


@pytest.mark.spec("idle")
def test_idle_calls_wait_until_nothing_is_runnable_and_keep_their_order() -> None:
    loop = Loop(clock=VirtualClock())
    seen: list[str] = []

    async def busy() -> None:
        for _ in range(2):
            seen.append("busy")
            await refloop.yield_now()

    loop.call_when_idle(seen.append, "idle-1")
    withdrawn = loop.call_when_idle(seen.append, "withdrawn")
    loop.call_when_idle(seen.append, "idle-2")
    withdrawn.cancel()
    loop.spawn(busy())
    for _ in range(4):
        loop.run_once(timeout=0)
    assert seen == ["busy", "busy", "idle-1", "idle-2"]


@pytest.mark.spec("idle")
def test_wait_idle_in_a_task() -> None:
    async def main() -> list[str]:
        order: list[str] = []

        async def chatter() -> None:
            await refloop.yield_now()
            order.append("chatter")

        refloop.spawn(chatter())
        await refloop.wait_idle()
        order.append("idle")
        return order

    assert refloop.run(main()) == ["chatter", "idle"]


@pytest.mark.spec("thread.post", "thread.no-lost-wakeup")
def test_a_post_from_another_thread_wakes_a_blocked_loop() -> None:
    loop = Loop()
    got: list[str] = []

    def later() -> None:
        time.sleep(0.05)
        loop.call_soon_threadsafe(got.append, "posted")

    poster = threading.Thread(target=later)
    poster.start()
    # Blocks in the kernel until the post arrives (the 5 s cap only guards
    # against a lost wakeup hanging the test run).
    start = time.monotonic()
    loop.run_once(timeout=5)
    poster.join()
    assert got == ["posted"]
    assert time.monotonic() - start < 4
    loop.close()


@pytest.mark.spec("thread.post")
def test_posted_calls_run_in_order_before_socket_wakeups() -> None:
    loop = Loop()
    got: list[int] = []
    threads = [
        threading.Thread(target=loop.call_soon_threadsafe, args=(got.append, n))
        for n in range(5)
    ]
    for t in threads:
        t.start()
        t.join()
    loop.run_once(timeout=0)
    assert got == [0, 1, 2, 3, 4]
    loop.close()


@pytest.mark.spec("thread.wakeup-full")
def test_a_full_wakeup_socket_never_blocks_the_poster() -> None:
    selector = selectors.DefaultSelector()
    loop = Loop(selector=selector)
    got: list[int] = []
    # Far more posts than the socket buffer holds single bytes for.
    for n in range(300_000):
        loop.call_soon_threadsafe(got.append, n)
    loop.run_once(timeout=0)
    assert len(got) == 300_000
    # The wakeup socket was drained in one go: the next poll finds nothing.
    spy: list[Any] = []
    real_select = selector.select

    def record(timeout: float | None = None) -> list[Any]:
        events = real_select(0)
        spy.append(events)
        return events

    selector.select = record  # type: ignore[method-assign]
    # A timeout, so that the loop polls (tick.poll-skip).
    loop.run_once(timeout=0.001)
    assert spy == [[]]
    loop.close()


@pytest.mark.spec("thread.closed")
def test_posting_to_a_closed_loop_is_an_error() -> None:
    loop = Loop()
    loop.close()
    with pytest.raises(LoopError, match="closed"):
        loop.call_soon_threadsafe(print)


@pytest.mark.spec("thread.owner")
def test_other_threads_are_refused() -> None:
    loop = Loop()
    errors: list[BaseException] = []

    async def idle() -> None:
        pass

    def intruder() -> None:
        for attempt in (
            lambda: loop.spawn(idle()),
            lambda: loop.call_later(1, print),
            lambda: loop.call_when_idle(print),
        ):
            try:
                attempt()
            except LoopError as err:
                errors.append(err)

    t = threading.Thread(target=intruder)
    t.start()
    t.join()
    assert len(errors) == 3
    assert all("call_soon_threadsafe" in str(e) for e in errors)
    loop.close()


@pytest.mark.spec("thread.owner")
def test_resuming_a_continuation_from_another_thread_is_refused() -> None:
    loop = Loop()
    held: list[refloop.Continuation] = []

    async def parked() -> object:
        return await refloop.suspend(held.append)

    task = loop.spawn(parked())
    loop.run_once(timeout=0)
    errors: list[BaseException] = []

    def wrong() -> None:
        try:
            held[0]("from a thread")
        except LoopError as err:
            errors.append(err)

    t = threading.Thread(target=wrong)
    t.start()
    t.join()
    assert errors and task.state == "waiting"
    loop.call_soon_threadsafe(held[0], "posted properly")
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert task.result() == "posted properly"
    loop.close()


@pytest.mark.spec("thread.run")
def test_run_in_thread_returns_results_and_raises_errors() -> None:
    def blocking(x: int) -> tuple[int, bool]:
        time.sleep(0.01)
        return x * 2, threading.current_thread() is threading.main_thread()

    def broken() -> None:
        raise KeyError("in the thread")

    async def main() -> tuple[int, bool]:
        with pytest.raises(KeyError, match="in the thread"):
            await refloop.run_in_thread(broken)
        return await refloop.run_in_thread(blocking, 21)

    assert refloop.run(main()) == (42, False)


@pytest.mark.spec("thread.run-cancel", "thread.pool-shutdown")
def test_cancelling_a_thread_wait_drops_the_outcome() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> str:
        release.wait(5)
        finished.set()
        return "too late"

    loop = Loop()

    async def waiter() -> str:
        return await refloop.run_in_thread(slow)

    task = loop.spawn(waiter())
    loop.run_once(timeout=0)
    assert task.cancel()
    loop.run_once(timeout=0)
    assert task.cancelled()
    release.set()
    assert finished.wait(5)
    loop.run_once(timeout=1)
    assert task.cancelled()
    loop.close()
    assert not loop._threads.has_pool()


@pytest.mark.spec("loop.run.deadlock", "thread.run")
def test_waiting_on_a_thread_is_not_a_deadlock() -> None:
    async def main() -> int:
        return await refloop.run_in_thread(sum, [1, 2, 3])

    assert refloop.run(main()) == 6


@pytest.mark.spec("thread.post")
def test_the_wakeup_socket_is_the_loops_own() -> None:
    selector = selectors.DefaultSelector()
    loop = Loop(selector=selector)
    assert loop._threads.wakeup_fileno() in selector.get_map()
    assert loop.waiters() == []
    loop.close()


@pytest.mark.spec("loop.run.deadlock", "thread.post")
def test_a_continuation_held_by_a_thread_is_not_a_deadlock(
    loop_class: type[Loop] = Loop,
) -> None:
    """The program the model says completes (models/threads.py)."""
    loop = loop_class()

    def hand_over(k: refloop.Continuation) -> None:
        def later() -> None:
            time.sleep(0.05)
            with contextlib.suppress(LoopError):  # a broken loop gave up
                loop.call_soon_threadsafe(k, 42)

        threading.Thread(target=later).start()

    async def main() -> object:
        return await refloop.suspend(hand_over)

    try:
        assert loop.run(main()) == 42
    finally:
        loop.close()


@pytest.mark.spec("loop.run.deadlock", "task.join")
def test_a_join_on_a_task_held_by_a_thread_is_not_a_deadlock() -> None:
    held: list[refloop.Continuation] = []

    async def worker() -> str:
        return str(await refloop.suspend(held.append))

    async def main() -> str:
        task = refloop.spawn(worker())
        await refloop.yield_now()
        loop = refloop.current_loop()
        threading.Timer(0.05, loop.call_soon_threadsafe, (held[0], "w")).start()
        return await task.join()

    assert refloop.run(main()) == "w"


@pytest.mark.spec("loop.run.deadlock", "task.join", "loop.close.raises")
def test_a_task_group_whose_child_can_never_resume_is_a_deadlock() -> None:
    """Its shutdown is cut off by a zero grace: closing main's coroutine then
    raises Cancelled from the group's exit, which is logged, not raised."""

    async def stuck() -> None:
        await refloop.suspend(lambda k: None)

    async def main() -> None:
        async with refloop.TaskGroup() as group:
            group.spawn(stuck())

    with pytest.raises(LoopError, match="deadlock"):
        refloop.run(main(), grace=0)


@pytest.mark.spec("loop.run.deadlock")
def test_the_deadlock_count_errs_only_towards_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dropped continuation is not held; one in a list is; without
    reference counts (PyPy) every one is (run() waits instead of reporting)."""
    from refloop._deadlock import held_outside

    held: list[refloop.Continuation] = []

    async def dropped() -> None:
        await refloop.suspend(lambda k: None)

    async def kept() -> None:
        await refloop.suspend(held.append)

    loop = Loop()
    try:
        loop.spawn(dropped())
        loop.run_once(0)
        assert not held_outside(loop.tasks())
        loop.spawn(kept())
        loop.run_once(0)
        assert held_outside(loop.tasks())
        held.clear()
        assert not held_outside(loop.tasks())
        monkeypatch.delattr(sys, "getrefcount")
        assert held_outside(loop.tasks())
    finally:
        monkeypatch.undo()
        loop.close()
