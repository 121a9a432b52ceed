"""Shutdown that lets cleanup finish: when refloop.run's main returns while
other tasks run, they are cancelled and may await in their cleanup, within a
grace period (spec: loop.shutdown). Written against the public API only."""

from __future__ import annotations

import logging
import math
import socket
import time
from typing import Any

import pytest

import refloop
from refloop import Cancelled, Loop, VirtualClock


@pytest.mark.spec("loop.shutdown")
def test_cleanup_that_awaits_finishes_after_main_returns() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    log: list[str] = []

    async def worker() -> None:
        try:
            await refloop.sleep(60)
        except Cancelled:
            log.append("cancelled")
            raise
        finally:
            await refloop.sleep(0.02)
            await refloop.sendall(a, b"bye")
            log.append("cleaned")

    async def joiner(task: refloop.Task[None]) -> None:
        try:
            await task.join()
        finally:
            await refloop.yield_now()
            log.append("joiner")

    async def main() -> str:
        task = refloop.spawn(worker())
        refloop.spawn(joiner(task))
        await refloop.yield_now()
        return "main"

    assert refloop.run(main()) == "main"
    # The joiner is cancelled too: its cleanup runs beside the worker's.
    assert log == ["cancelled", "joiner", "cleaned"]
    assert b.recv(10) == b"bye"
    a.close()
    b.close()


@pytest.mark.spec("loop.shutdown", "loop.run")
def test_main_failing_still_lets_the_others_clean_up() -> None:
    log: list[str] = []

    async def worker() -> None:
        try:
            await refloop.sleep(60)
        finally:
            await refloop.sleep(0)
            log.append("cleaned")

    async def main() -> None:
        refloop.spawn(worker())
        await refloop.yield_now()
        raise ValueError("main")

    with pytest.raises(ValueError, match="main"):
        refloop.run(main())
    assert log == ["cleaned"]


@pytest.mark.spec("loop.shutdown", "loop.shutdown.report")
def test_cleanup_past_the_grace_period_is_reported_and_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []

    async def stubborn() -> None:
        try:
            while True:
                try:
                    await refloop.sleep(0.01)
                except Cancelled:
                    log.append("ignored")
        finally:
            log.append("closed")

    async def main() -> None:
        refloop.spawn(stubborn(), name="stubborn")
        await refloop.yield_now()

    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="refloop"):
        refloop.run(main(), grace=0.1)
    elapsed = time.monotonic() - start
    assert 0.1 <= elapsed < 5
    assert log == ["ignored", "closed"]
    (record,) = [r for r in caplog.records if "grace" in r.getMessage()]
    assert "stubborn" in record.getMessage()


@pytest.mark.spec("loop.shutdown")
def test_a_zero_grace_still_runs_cleanup_that_does_not_await(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []

    async def quick() -> None:
        try:
            await refloop.sleep(60)
        finally:
            log.append("quick")

    async def slow() -> None:
        try:
            await refloop.sleep(60)
        finally:
            log.append("slow started")
            await refloop.sleep(30)
            log.append("slow finished")

    async def main() -> None:
        refloop.spawn(quick())
        refloop.spawn(slow(), name="slow")
        await refloop.yield_now()

    with caplog.at_level(logging.WARNING, logger="refloop"):
        refloop.run(main(), grace=0)
    assert log == ["quick", "slow started"]
    assert any("slow" in r.getMessage() for r in caplog.records)


@pytest.mark.spec("loop.shutdown")
def test_shutdown_on_a_driven_loop_returns_what_is_left(
    loop_class: type[Loop] = Loop,
) -> None:
    clock = VirtualClock()
    loop = loop_class(clock=clock)
    log: list[str] = []

    async def polite() -> None:
        try:
            await refloop.sleep(100)
        finally:
            log.append("polite")

    async def ignores() -> None:
        while True:
            try:
                await refloop.sleep(100)
            except Cancelled:
                log.append("ignores")

    loop.spawn(polite())
    stuck = loop.spawn(ignores(), name="ignores")
    loop.run_once(timeout=0)
    # The grace period is by the loop's clock, and a virtual one moves only
    # when told: a grace of zero runs exactly one iteration.
    assert loop.shutdown(0) == [stuck]
    assert log == ["polite", "ignores"]
    loop.close()
    assert stuck.state == "failed"


@pytest.mark.spec("loop.shutdown")
def test_loop_run_alone_leaves_other_tasks_to_the_caller() -> None:
    loop = Loop()

    async def other() -> None:
        await refloop.sleep(60)

    async def main() -> refloop.Task[None]:
        task = refloop.spawn(other())
        await refloop.yield_now()
        return task

    task = loop.run(main())
    assert task.state == "waiting" and loop.tasks() == [task]
    assert loop.shutdown() == []
    assert task.cancelled()
    start = time.monotonic()
    assert loop.shutdown() == []  # nothing left: returns at once
    assert time.monotonic() - start < 1
    loop.close()


@pytest.mark.spec("loop.shutdown")
@pytest.mark.parametrize("bad", [-1, math.nan, "1", None])
def test_a_bad_grace_is_refused_at_the_call(bad: Any) -> None:
    async def main() -> None:
        pass

    coro = main()
    with pytest.raises((TypeError, ValueError), match="grace"):
        refloop.run(coro, grace=bad)
    assert coro.cr_frame is None  # closed, not left to warn
    loop = Loop()
    with pytest.raises((TypeError, ValueError), match="grace"):
        loop.shutdown(bad)
    coro = main()
    with pytest.raises((TypeError, ValueError), match="grace"):
        loop.run(coro, grace=bad)
    assert loop.tasks() == []
    loop.close()


@pytest.mark.spec("loop.shutdown", "timer.infinite")
def test_an_infinite_grace_waits_for_cleanup() -> None:
    log: list[str] = []

    async def worker() -> None:
        try:
            await refloop.sleep(60)
        finally:
            await refloop.sleep(0.05)
            log.append("cleaned")

    async def main() -> None:
        refloop.spawn(worker())
        await refloop.yield_now()

    refloop.run(main(), grace=math.inf)
    assert log == ["cleaned"]


@pytest.mark.spec("loop.close.raises", "loop.close")
def test_close_goes_on_past_coroutines_that_do_not_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    log: list[str] = []

    async def awaits_in_finally() -> None:
        try:
            await refloop.sleep(60)
        finally:
            await refloop.sleep(1)

    async def raises(exc: BaseException) -> None:
        try:
            await refloop.sleep(60)
        finally:
            log.append(type(exc).__name__)
            raise exc

    tasks = [
        loop.spawn(awaits_in_finally()),
        loop.spawn(raises(Cancelled("in cleanup"))),
        loop.spawn(raises(ValueError("in cleanup"))),
        loop.spawn(raises(KeyboardInterrupt())),
        loop.spawn(raises(SystemExit(3))),
        loop.spawn(raises(ValueError("last"))),
    ]
    loop.run_once(timeout=0)
    with (
        caplog.at_level(logging.ERROR, logger="refloop"),
        pytest.raises(KeyboardInterrupt),
    ):
        loop.close()
    assert loop.is_closed()
    assert log == [
        "Cancelled",
        "ValueError",
        "KeyboardInterrupt",
        "SystemExit",
        "ValueError",
    ]
    assert all(t.state == "failed" for t in tasks)
    # Every one but the KeyboardInterrupt that close() raises is logged.
    assert len([r for r in caplog.records if "did not stop" in r.getMessage()]) == 5
