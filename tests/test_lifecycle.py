"""Unit tests for how a loop runs to an end and closes (refloop/_lifecycle.py):
`run` and `refloop.run`, the deadlock verdict, `run_forever` and `stop`,
`close`, and the refusal to nest.

The stateful test (test_stateful.py) explores interleavings; these tests pin
the corners it reaches slowly or not at all.
"""

from __future__ import annotations

import inspect
import socket
from collections.abc import Callable
from typing import Any

import pytest
from _helpers import SpySelector, record

import refloop
from refloop import (
    Loop,
    LoopError,
    Task,
    current_loop,
    recv,
    suspend,
    yield_now,
)

# --------------------------------------------------------------- the loop


@pytest.mark.spec("loop.run")
def test_run_returns_the_main_result(loop: Loop) -> None:
    async def main() -> list[int]:
        await yield_now()
        return [1, 2]

    assert loop.run(main()) == [1, 2]
    assert loop.tasks() == []


@pytest.mark.spec("loop.run")
def test_run_raises_the_main_exception(loop: Loop) -> None:
    error = OSError(5, "main's own")

    async def main() -> None:
        await yield_now()
        raise error

    with pytest.raises(OSError) as info:
        loop.run(main())
    assert info.value is error


@pytest.mark.spec("loop.run", "loop.shutdown")
def test_refloop_run_closes_the_loop_and_ends_leftover_tasks() -> None:
    seen: dict[str, Any] = {}

    async def background() -> None:
        try:
            await suspend(lambda k: None)
        finally:
            seen["background finally"] = True

    async def main() -> str:
        seen["loop"] = current_loop()
        seen["task"] = refloop.spawn(background())
        await yield_now()
        return "done"

    assert refloop.run(main()) == "done"
    assert seen["loop"].is_closed()
    assert seen["background finally"]
    assert seen["task"].state == "failed"
    # Cancelled by the shutdown (loop.shutdown), no longer closed by
    # loop.close with LoopError: a deliberate change.
    assert seen["task"].cancelled()


@pytest.mark.spec("loop.run")
def test_refloop_run_closes_the_loop_when_main_fails() -> None:
    loops: list[Loop] = []

    async def main() -> None:
        loops.append(current_loop())
        raise ValueError("main")

    with pytest.raises(ValueError, match="main"):
        refloop.run(main())
    assert loops[0].is_closed()


@pytest.mark.spec("loop.run.deadlock")
def test_run_detects_a_main_task_that_can_never_resume(loop: Loop) -> None:
    async def main() -> None:
        await suspend(lambda k: None)

    with pytest.raises(LoopError, match="deadlock"):
        loop.run(main())


@pytest.mark.spec("loop.run.deadlock", "timer.cancel.memory")
def test_a_cancelled_timer_does_not_hide_a_deadlock(
    make_loop: Callable[..., Loop],
) -> None:
    """A cancelled timer still in the heap is nothing that can resume a
    task (found by mutation testing: counting it as pending made `run()`
    block in the poll for ever instead of reporting the deadlock)."""
    spy = SpySelector()
    loop = make_loop(selector=spy)

    async def main() -> None:
        refloop.current_loop().call_later(5, print).cancel()
        await suspend(lambda k: None)

    with pytest.raises(LoopError, match="deadlock"):
        loop.run(main())
    assert None not in spy.timeouts


@pytest.mark.spec("loop.run.deadlock")
def test_run_detects_a_join_on_a_stuck_task(loop: Loop) -> None:
    async def stuck() -> None:
        await suspend(lambda k: None)

    async def main() -> None:
        await refloop.spawn(stuck(), name="stuck").join()

    with pytest.raises(LoopError, match="deadlock") as info:
        loop.run(main())
    assert "'stuck'" in str(info.value)


@pytest.mark.spec("loop.run.deadlock")
def test_a_main_task_waiting_on_a_socket_is_not_a_deadlock(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    a, b = make_pair()

    async def peer() -> None:
        for _ in range(3):
            await yield_now()
        b.send(b"late")

    async def main() -> bytes:
        refloop.spawn(peer())
        return await recv(a, 10)

    assert loop.run(main()) == b"late"


@pytest.mark.spec("loop.stop")
def test_run_forever_returns_after_stop_at_the_end_of_the_iteration(
    loop: Loop,
) -> None:
    log: list[tuple[str, int]] = []

    async def ticker(name: str, stop_at: int | None) -> None:
        for i in range(100):
            log.append((name, i))
            if i == stop_at:
                loop.stop()
            await yield_now()

    loop.spawn(ticker("stopper", 2))
    loop.spawn(ticker("other", None))
    loop.run_forever()
    # the iteration in which stop() was called runs to its end
    assert log == [
        ("stopper", 0),
        ("other", 0),
        ("stopper", 1),
        ("other", 1),
        ("stopper", 2),
        ("other", 2),
    ]
    assert not loop.is_running()


@pytest.mark.spec("loop.stop")
def test_stop_is_consumed_by_the_run_forever_it_ends(loop: Loop) -> None:
    log: list[int] = []

    async def ticker() -> None:
        for i in range(100):
            log.append(i)
            if i in (1, 4):
                loop.stop()
            await yield_now()

    loop.spawn(ticker())
    loop.run_forever()
    assert log == [0, 1]
    loop.run_forever()
    assert log == [0, 1, 2, 3, 4]


@pytest.mark.spec("loop.stop")
def test_stop_before_run_forever_runs_one_iteration(loop: Loop) -> None:
    log: list[int] = []

    async def ticker() -> None:
        for i in range(100):
            log.append(i)
            await yield_now()

    loop.spawn(ticker())
    loop.stop()
    loop.run_forever()
    assert log == [0]


@pytest.mark.spec("loop.stop", "tick.poll-timeout")
def test_stop_before_run_forever_on_an_idle_loop_does_not_wait(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()  # records the timeout, never blocks
    loop = make_loop(selector=spy)
    a, _ = make_pair()
    reader = loop.spawn(recv(a, 1))
    loop.run_once(0)
    assert reader.state == "waiting"
    spy.timeouts.clear()
    loop.stop()
    loop.run_forever()
    assert spy.timeouts == [0]


@pytest.mark.spec("loop.close")
def test_close_ends_every_task_and_forgets_every_waiter(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    reports: list[Task[Any]] = []
    loop = make_loop(selector=spy, report=reports.append)
    a, _ = make_pair()
    finally_ran: list[str] = []

    async def reader() -> None:
        try:
            await recv(a, 1)
        finally:
            finally_ran.append("reader")

    async def parked() -> None:
        try:
            await suspend(lambda k: None)
        finally:
            finally_ran.append("parked")

    waiting = loop.spawn(reader())
    stuck = loop.spawn(parked())
    loop.run_once(0)
    loop.run_once(0)  # the reader's registration reaches the selector
    assert spy.get_map() is not None
    assert a.fileno() in spy.get_map()
    never_started_coro = record([], "never")
    never_started = loop.spawn(never_started_coro)

    loop.close()

    assert loop.is_closed()
    assert loop.tasks() == []
    assert loop.runnable() == []
    assert loop.waiters() == []
    assert (a.fileno(), True) in spy.unregistered
    assert spy.closed
    assert reports == []
    assert sorted(finally_ran) == ["parked", "reader"]
    for task in (waiting, stuck, never_started):
        assert task.state == "failed"
        assert isinstance(task.exception(), LoopError)
    assert inspect.getcoroutinestate(never_started_coro) == inspect.CORO_CLOSED
    assert a.fileno() >= 0, "closing the loop leaves sockets open"


@pytest.mark.spec("loop.close", "spawn.validate")
def test_a_closed_loop_refuses_spawn_and_run_once(loop: Loop) -> None:
    loop.close()
    loop.close()  # twice is harmless
    coro = record([], 1)
    with pytest.raises(LoopError, match="closed"):
        loop.spawn(coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
    with pytest.raises(LoopError, match="closed"):
        loop.run_once(0)
    with pytest.raises(LoopError, match="closed"):
        loop.run(record([], 2))


@pytest.mark.spec("loop.close")
def test_a_running_loop_cannot_close_itself(loop: Loop) -> None:
    async def main() -> None:
        with pytest.raises(LoopError, match="cannot close itself"):
            current_loop().close()

    loop.run(main())
    assert not loop.is_closed()


@pytest.mark.spec("loop.no-nesting")
def test_run_once_inside_a_task_raises_loop_error(loop: Loop) -> None:
    async def main() -> str:
        with pytest.raises(LoopError, match="cannot nest"):
            current_loop().run_once()
        with pytest.raises(LoopError, match="cannot nest"):
            current_loop().run_forever()
        await yield_now()
        assert current_loop() is loop
        return "survived"

    assert loop.run(main()) == "survived"


@pytest.mark.spec("loop.no-nesting")
def test_refloop_run_inside_a_task_raises_loop_error(loop: Loop) -> None:
    inner = record([], "inner")

    async def main() -> str:
        with pytest.raises(LoopError, match="inside a running loop"):
            refloop.run(inner)
        return "survived"

    assert loop.run(main()) == "survived"
    assert inspect.getcoroutinestate(inner) == inspect.CORO_CLOSED


@pytest.mark.spec("loop.no-nesting")
def test_another_loop_cannot_run_inside_a_task(
    loop: Loop, make_loop: Callable[..., Loop]
) -> None:
    other = make_loop()

    async def main() -> str:
        with pytest.raises(LoopError, match="another loop"):
            other.run_once()
        assert current_loop() is loop
        await yield_now()
        return "survived"

    assert loop.run(main()) == "survived"
    assert not other.is_running()


@pytest.mark.spec("loop.no-nesting")
def test_loop_run_inside_its_own_task_runs_nothing(loop: Loop) -> None:
    log: list[object] = []

    async def main() -> None:
        with pytest.raises(LoopError):
            current_loop().run(record(log, "inner ran"))
        for _ in range(3):
            await yield_now()

    loop.run(main())
    assert log == []


@pytest.mark.spec("loop.no-nesting")
def test_another_loops_run_inside_a_task_leaves_nothing_behind(
    loop: Loop, make_loop: Callable[..., Loop]
) -> None:
    other = make_loop()
    inner = record([], "inner")

    async def main() -> None:
        with pytest.raises(LoopError):
            other.run(inner)

    loop.run(main())
    assert other.tasks() == []
    assert inspect.getcoroutinestate(inner) == inspect.CORO_CLOSED
