"""The thread bridge, as mutation testing found it under-tested
(docs/mutation.md, refloop/_threads.py): the refusals' exact words, what a
failing posted call does to the others, the worker pool's life (its
threads, its shutdown, a waiter cancelled while its thread works), and the
loop's own wakeup sockets, closed with the loop or when it is collected."""

from __future__ import annotations

import concurrent.futures
import gc
import logging
import os
import selectors
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import refloop
from refloop import Loop, LoopError


def _in_thread(fn: Callable[[], object]) -> BaseException | object:
    """Run `fn` in a thread named "intruder"; what it returned or raised."""
    out: list[BaseException | object] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as err:
            out.append(err)

    t = threading.Thread(target=body, name="intruder")
    t.start()
    t.join()
    return out[0]


def _closed(fd: int) -> bool:
    try:
        socket.socket(fileno=fd).detach()
    except OSError:
        return True
    return False


@pytest.mark.spec("thread.owner", "thread.refused-unchanged")
def test_another_threads_call_is_refused_naming_the_call_thread_and_loop() -> None:
    loop = Loop()
    refused = _in_thread(lambda: loop.call_when_idle(print))
    assert isinstance(refused, LoopError)
    assert str(refused) == (
        f"call_when_idle() was called from thread 'intruder', but {loop!r} "
        "belongs to another; use call_soon_threadsafe()"
    )
    loop.close()


@pytest.mark.spec("thread.closed")
def test_a_post_to_a_closed_loop_names_the_loop_and_the_call() -> None:
    loop = Loop()
    loop.close()
    with pytest.raises(LoopError) as closed:
        loop.call_soon_threadsafe(print, "late")
    assert str(closed.value) == f"{loop!r} is closed; it cannot run {print!r}"


@pytest.mark.spec("thread.closed", "thread.post")
def test_closing_drops_the_posted_calls_and_may_be_done_twice() -> None:
    loop = Loop()
    ran: list[int] = []
    loop.call_soon_threadsafe(ran.append, 1)
    fd = loop._threads.wakeup_fileno()
    loop.close()
    assert not loop._threads.posted and _closed(fd)
    loop._threads.close()  # a second close is harmless
    assert ran == []


@pytest.mark.spec("thread.post.callback-error")
def test_a_failing_posted_call_is_logged_by_name_and_the_rest_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    ran: list[str] = []

    def broken() -> None:
        raise ValueError("in a posted call")

    loop.call_soon_threadsafe(ran.append, "before")
    loop.call_soon_threadsafe(broken)
    loop.call_soon_threadsafe(ran.append, "after")
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(timeout=0)
    assert ran == ["before", "after"]
    [record] = [r for r in caplog.records if r.name == "refloop"]
    assert record.getMessage() == f"a call posted from a thread, {broken!r}, raised"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "in a posted call"
    loop.close()


@pytest.mark.spec("thread.post.callback-error")
def test_a_base_exception_in_a_posted_call_keeps_the_rest_queued() -> None:
    loop = Loop()
    ran: list[str] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    loop.call_soon_threadsafe(ran.append, "first")
    loop.call_soon_threadsafe(interrupt)
    loop.call_soon_threadsafe(ran.append, "second")
    loop.call_soon_threadsafe(ran.append, "third")
    with pytest.raises(KeyboardInterrupt):
        loop.run_once(timeout=0)
    assert ran == ["first"]
    assert [args for _, args in loop._threads.posted] == [("second",), ("third",)]
    started = time.monotonic()
    loop.run_once(timeout=5)  # the wakeup byte is there: no wait
    assert time.monotonic() - started < 2.5
    assert ran == ["first", "second", "third"]
    loop.close()


@pytest.mark.spec("thread.no-lost-wakeup")
def test_drain_keeps_the_byte_of_a_call_still_posted() -> None:
    """refloop.aio's loop drains the wakeup socket itself; a call posted and
    not yet run keeps its byte, so the next poll does not wait."""
    loop = Loop()
    ran: list[int] = []
    loop.call_soon_threadsafe(ran.append, 1)
    loop._threads.drain()
    started = time.monotonic()
    loop.run_once(timeout=5)
    assert time.monotonic() - started < 2.5 and ran == [1]
    # With nothing posted, drain leaves no byte: the poll waits its timeout.
    loop._threads.notify()
    loop._threads.drain()
    started = time.monotonic()
    loop.run_once(timeout=0.2)
    assert time.monotonic() - started >= 0.15
    loop.close()


@pytest.mark.spec("thread.owner")
def test_claim_makes_the_calling_thread_the_owner() -> None:
    loop = Loop()
    loop._threads.claim()  # the same thread: nothing changes
    loop.call_when_idle(print)
    assert _in_thread(loop._threads.claim) is None
    with pytest.raises(LoopError, match="belongs to another"):
        loop.call_when_idle(print)
    loop._threads.owner = threading.get_ident()
    loop.close()


@pytest.mark.spec("thread.run")
def test_run_in_thread_runs_in_a_named_worker_and_counts_it_until_it_is_back() -> None:
    loop = Loop()
    release = threading.Event()

    def work(a: int, b: int) -> tuple[str, int]:
        release.wait(5)
        return threading.current_thread().name, a + b

    async def main() -> tuple[str, int]:
        return await refloop.run_in_thread(work, 2, 3)

    assert not loop._threads.has_pool()
    task = loop.spawn(main())
    loop.run_once(timeout=0)
    assert loop._threads.in_threads == 1 and loop._threads.has_pool()
    release.set()
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if task.done():
            break
    name, total = task.result()
    assert name.startswith("refloop-worker") and total == 5
    assert loop._threads.in_threads == 0
    pool = loop._threads._pool
    assert isinstance(pool, concurrent.futures.ThreadPoolExecutor)
    assert pool._max_workers == min(32, (os.cpu_count() or 1) + 4)
    loop.close()
    assert not loop._threads.has_pool()


@pytest.mark.spec("thread.run")
def test_an_error_in_the_thread_is_raised_in_the_task() -> None:
    def broken() -> None:
        raise KeyError("in the worker")

    async def main() -> str:
        try:
            await refloop.run_in_thread(broken)
        except KeyError as err:
            return str(err)
        return "no error"

    assert refloop.run(main()) == "'in the worker'"


@pytest.mark.spec("thread.run-cancel")
def test_a_cancelled_thread_wait_drops_the_outcome_and_uncounts_the_thread() -> None:
    loop = Loop()
    release = threading.Event()
    done = threading.Event()

    def slow() -> str:
        release.wait(5)
        done.set()
        return "too late"

    async def waiter() -> str:
        return await refloop.run_in_thread(slow)

    task = loop.spawn(waiter())
    loop.run_once(timeout=0)
    task.cancel()
    loop.run_once(timeout=0)
    assert task.cancelled() and loop._threads.in_threads == 1
    release.set()
    assert done.wait(5)
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if loop._threads.in_threads == 0:
            break
    assert loop._threads.in_threads == 0 and task.cancelled()
    loop.close()


@pytest.mark.spec("thread.pool-shutdown")
def test_closing_the_loop_cancels_work_not_started_and_does_not_wait() -> None:
    loop = Loop()
    release = threading.Event()
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        release.wait(5)
        return i

    async def waiter(i: int) -> int:
        return await refloop.run_in_thread(work, i)

    workers = min(32, (os.cpu_count() or 1) + 4)
    for i in range(workers + 3):
        loop.spawn(waiter(i))
    loop.run_once(timeout=0)
    began = time.monotonic()
    loop.close()
    assert time.monotonic() - began < 2.5  # wait=False
    release.set()
    time.sleep(0.3)
    assert len(started) <= workers  # the queued ones were cancelled


@pytest.mark.spec("explore.thread.virtual")
def test_an_executor_is_accepted_before_the_pool_starts_and_refused_after() -> None:
    loop = Loop()
    mine = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mine")
    loop._threads.use_executor(mine)
    loop._threads.use_executor(mine)  # the same one again: fine

    async def main() -> str:
        return await refloop.run_in_thread(lambda: threading.current_thread().name)

    task = loop.spawn(main())
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if task.done():
            break
    assert task.result().startswith("mine")
    with pytest.raises(LoopError) as late:
        loop._threads.use_executor(concurrent.futures.ThreadPoolExecutor(1))
    assert str(late.value) == "the loop's worker pool has started; set it before"
    loop.close()
    with pytest.raises(RuntimeError):
        mine.submit(print)  # shut down with the loop


@pytest.mark.spec("thread.run")
def test_run_in_thread_refuses_outside_a_task_and_a_non_callable() -> None:
    coro = refloop.run_in_thread(print)
    with pytest.raises(LoopError) as outside:
        coro.send(None)
    assert str(outside.value) == "run_in_thread() must be awaited inside a refloop task"
    loop = Loop()
    seen: list[str] = []

    def in_callback() -> None:
        inner = refloop.run_in_thread(print)
        try:
            inner.send(None)
        except LoopError as err:
            seen.append(str(err))

    loop.call_soon_threadsafe(in_callback)
    loop.run_once(timeout=0)
    assert seen == ["run_in_thread() must be awaited inside a refloop task"]

    async def main() -> str:
        try:
            await refloop.run_in_thread(42)  # type: ignore[arg-type]
        except TypeError as err:
            return str(err)
        return "accepted"

    task = loop.spawn(main())
    loop.run_once(timeout=0)
    assert task.result() == "run_in_thread() needs a callable, got 42"
    assert not loop._threads.has_pool()
    loop.close()


@pytest.mark.spec("thread.post")
def test_an_unclosed_loop_collected_closes_its_wakeup_sockets_quietly() -> None:
    """They are the loop's own: closed, and without the ResourceWarning a
    socket collected open gives."""
    loop = Loop()
    bridge = loop._threads
    reader = bridge._wakeup._reader.fileno()
    writer = bridge._wakeup._writer.fileno()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del loop, bridge
        gc.collect()
    assert _closed(reader) and _closed(writer)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.spec("thread.run")
@pytest.mark.parametrize(("cpus", "workers"), [(64, 32), (None, 5), (2, 6)])
def test_the_pool_has_as_many_workers_as_the_standard_librarys_default(
    monkeypatch: pytest.MonkeyPatch, cpus: int | None, workers: int
) -> None:
    """min(32, cpus + 4), one cpu when the count is unknown: as many
    blocking calls at once as asyncio's default executor allows."""
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    loop = Loop()

    async def main() -> int:
        return await refloop.run_in_thread(int, "7")

    task = loop.spawn(main())
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if task.done():
            break
    assert task.result() == 7
    pool = loop._threads._pool
    assert isinstance(pool, concurrent.futures.ThreadPoolExecutor)
    assert pool._max_workers == workers
    loop.close()


@pytest.mark.spec("loop.run.deadlock", "thread.run")
def test_two_thread_waits_at_once_are_both_counted_until_each_is_back() -> None:
    """The first to come back leaves the second still counted: a main that
    then joins the task waiting on the second is not a deadlock."""
    second = threading.Event()

    def slow() -> str:
        second.wait(5)
        return "slow"

    def fast() -> str:
        return "fast"

    async def waiter() -> str:
        return await refloop.run_in_thread(slow)

    async def main() -> tuple[str, str]:
        child = refloop.spawn(waiter())
        await refloop.yield_now()
        first = await refloop.run_in_thread(fast)
        threading.Timer(0.2, second.set).start()
        return first, await child.join()

    assert refloop.run(main()) == ("fast", "slow")


@pytest.mark.spec("loop.close")
@pytest.mark.parametrize("error", [KeyError, ValueError, OSError])
def test_closing_a_loop_whose_selector_refuses_to_unregister_still_closes(
    error: type[Exception],
) -> None:
    """A selector closed by its owner first (KeyError), or one that refuses
    the descriptor (ValueError, OSError): close() still closes the wakeup
    socket and shuts the pool down."""

    class Refusing(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
        refuse = False

        def unregister(self, fileobj: Any) -> selectors.SelectorKey:
            if self.refuse:
                raise error("refused")
            return super().unregister(fileobj)

    selector = Refusing()
    loop = Loop(selector=selector)

    async def main() -> int:
        return await refloop.run_in_thread(int, "3")

    task = loop.spawn(main())
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if task.done():
            break
    fd = loop._threads.wakeup_fileno()
    selector.refuse = True
    loop.close()
    assert loop.is_closed() and _closed(fd) and not loop._threads.has_pool()


@pytest.mark.spec("loop.close")
def test_a_bridge_whose_wakeup_could_not_be_made_is_collected_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At EMFILE the wakeup socketpair fails in Loop(): the half-made part is
    collected without an error of its own."""
    import refloop._threads as bridge_module

    def no_sockets() -> None:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(bridge_module, "Wakeup", no_sockets)
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    selector = selectors.DefaultSelector()
    with pytest.raises(OSError, match="Too many open files"):
        bridge_module.ThreadBridge(selector)
    gc.collect()
    selector.close()
    assert unraisable == []


@pytest.mark.spec("thread.run")
def test_the_snapshot_counts_every_call_in_a_thread() -> None:
    loop = Loop()
    release = threading.Event()

    def slow(i: int) -> int:
        release.wait(5)
        return i

    async def waiter(i: int) -> int:
        return await refloop.run_in_thread(slow, i)

    tasks = [loop.spawn(waiter(i)) for i in range(3)]
    loop.run_once(timeout=0)
    assert loop.snapshot().in_threads == 3
    release.set()
    for _ in range(50):
        loop.run_once(timeout=0.1)
        if all(t.done() for t in tasks):
            break
    assert [t.result() for t in tasks] == [0, 1, 2]
    assert loop.snapshot().in_threads == 0
    loop.close()
