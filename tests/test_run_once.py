"""Unit tests for the core: continuations, tasks, joins, failure reports and
the loop's iterations.

The stateful test (test_stateful.py) explores interleavings; these tests pin
the corners it reaches slowly or not at all: error messages, nesting, closing,
what the selector is asked, and descriptors reused behind the loop's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import selectors
import socket
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import refloop
from refloop import (
    ClosedError,
    Continuation,
    Loop,
    LoopError,
    ResumeError,
    Task,
    current_loop,
    current_task,
    recv,
    suspend,
    yield_now,
)

# ----------------------------------------------------------------- helpers


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class SpySelector(selectors.DefaultSelector):
    """The real selector, recording what the loop asks of it.

    It polls without blocking whatever timeout the loop asks for, so a test
    can see a request to block (None) without hanging. With `reverse`, it
    hands the loop the kernel's events in reverse order.
    """

    def __init__(self, *, reverse: bool = False) -> None:
        super().__init__()
        self.reverse = reverse
        self.timeouts: list[float | None] = []
        self.events: list[list[tuple[selectors.SelectorKey, int]]] = []
        # (fd, whether the descriptor was still open at the call)
        self.unregistered: list[tuple[int, bool]] = []
        self.closed = False

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        events = super().select(0)
        if self.reverse:
            events.reverse()
        self.events.append(events)
        return events

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        self.unregistered.append((fd, _is_open(fd)))
        return super().unregister(fileobj)

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def make_loop() -> Iterator[Callable[..., Loop]]:
    """Loops that are closed when the test ends, so no coroutine is left
    unawaited."""
    loops: list[Loop] = []

    def make(**kwargs: Any) -> Loop:
        loop = Loop(**kwargs)
        loops.append(loop)
        return loop

    yield make
    for loop in loops:
        loop.close()


@pytest.fixture
def loop(make_loop: Callable[..., Loop]) -> Loop:
    return make_loop()


@pytest.fixture
def make_pair() -> Iterator[Callable[[], tuple[socket.socket, socket.socket]]]:
    """Connected non-blocking socket pairs, closed when the test ends."""
    made: list[socket.socket] = []

    def make() -> tuple[socket.socket, socket.socket]:
        a, b = socket.socketpair()
        made.extend((a, b))
        a.setblocking(False)
        b.setblocking(False)
        return a, b

    yield make
    for sock in made:
        sock.close()


def reuse_descriptor(
    fd: int, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> tuple[socket.socket, socket.socket]:
    """A fresh connected pair whose first socket has descriptor number `fd`,
    which must be free. dup2 makes the reuse certain; the kernel's
    lowest-free-number rule would make it only likely."""
    spare, peer = make_pair()
    if spare.fileno() == fd:
        return spare, peer
    os.dup2(spare.fileno(), fd)
    spare.close()
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock, peer


async def park(box: list[Continuation]) -> object:
    """Suspend, leaving the continuation in `box` for the test to resume."""
    return await suspend(box.append)


async def record(log: list[object], item: object) -> None:
    log.append(item)


@types.coroutine
def bare_yield() -> Any:
    yield


# ----------------------------------------------------------- continuations


@pytest.mark.spec("cont.one-shot")
def test_second_resume_raises_and_changes_nothing(loop: Loop) -> None:
    box: list[Continuation] = []
    task = loop.spawn(park(box))
    loop.run_once(0)
    (k,) = box
    assert task.state == "waiting"
    assert not k.resumed
    k("first")
    assert k.resumed
    with pytest.raises(ResumeError, match="already resumed"):
        k("second")
    with pytest.raises(ResumeError, match="already resumed"):
        k.throw(ValueError("second"))
    assert loop.runnable() == [task]
    loop.run_once(0)
    assert task.result() == "first"
    assert loop.runnable() == []


@pytest.mark.spec("cont.one-shot")
def test_throw_of_a_non_exception_is_rejected_and_leaves_k_unused(
    loop: Loop,
) -> None:
    box: list[Continuation] = []
    task = loop.spawn(park(box))
    loop.run_once(0)
    (k,) = box
    with pytest.raises(TypeError, match="exception instance"):
        k.throw("boom")  # type: ignore[arg-type]
    assert not k.resumed
    assert loop.runnable() == []
    k(5)
    loop.run_once(0)
    assert task.result() == 5


@pytest.mark.spec("cont.resume-enqueues")
def test_resume_puts_the_task_at_the_back_without_running_it(loop: Loop) -> None:
    log: list[object] = []
    box: list[Continuation] = []

    async def parked() -> None:
        log.append("a starts")
        log.append(("a resumed with", await suspend(box.append)))

    a = loop.spawn(parked())
    loop.run_once(0)
    b = loop.spawn(record(log, "b"))
    box[0](7)
    assert log == ["a starts"]
    assert a.state == "runnable"
    assert loop.runnable() == [b, a]
    loop.run_once(0)
    assert log == ["a starts", "b", ("a resumed with", 7)]


@pytest.mark.spec("cont.resume-enqueues")
def test_throw_puts_the_task_at_the_back_without_running_it(loop: Loop) -> None:
    log: list[object] = []
    box: list[Continuation] = []

    async def parked() -> None:
        try:
            await suspend(box.append)
        except KeyError as err:
            log.append(("a caught", err.args[0]))

    a = loop.spawn(parked())
    loop.run_once(0)
    b = loop.spawn(record(log, "b"))
    box[0].throw(KeyError("x"))
    assert log == []
    assert loop.runnable() == [b, a]
    loop.run_once(0)
    assert log == ["b", ("a caught", "x")]
    assert a.state == "done"


@pytest.mark.spec("cont.resume-enqueues")
def test_a_handler_that_resumes_at_once_still_goes_to_the_back(loop: Loop) -> None:
    log: list[object] = []

    async def a() -> None:
        log.append("a1")
        log.append(("a2", await suspend(lambda k: k(5))))

    loop.spawn(a())
    loop.spawn(record(log, "b"))
    loop.run_once(0)
    assert log == ["a1", "b"]
    loop.run_once(0)
    assert log == ["a1", "b", ("a2", 5)]


@pytest.mark.spec("cont.handler-raises")
def test_a_handler_that_raises_resumes_the_task_at_once(loop: Loop) -> None:
    log: list[object] = []

    def failing(k: Continuation) -> None:
        raise ZeroDivisionError("handler failed")

    async def a() -> None:
        log.append("a1")
        try:
            await suspend(failing)
        except ZeroDivisionError as err:
            log.append(("a2", str(err)))

    task = loop.spawn(a())
    loop.spawn(record(log, "b"))
    loop.run_once(0)
    # a resumed within its own step, before b ran: not at the back of the queue
    assert log == ["a1", ("a2", "handler failed"), "b"]
    assert task.state == "done"


@pytest.mark.spec("cont.handler-raises")
def test_a_handler_that_resumes_then_raises_fails_the_task_once(loop: Loop) -> None:
    log: list[object] = []

    def resumes_then_raises(k: Continuation) -> None:
        k(1)
        raise RuntimeError("after resuming")

    async def a() -> None:
        await suspend(resumes_then_raises)
        log.append("continued after failing")

    task = loop.spawn(a())
    loop.run_once(0)
    assert task.state == "failed"
    assert isinstance(task.exception(), LoopError)
    loop.run_once(0)
    loop.run_once(0)
    assert log == []
    assert loop.runnable() == []


@pytest.mark.spec("cont.not-a-trap")
def test_a_bare_yield_gets_a_type_error_thrown_in(loop: Loop) -> None:
    async def main() -> str:
        with pytest.raises(TypeError, match="refloop operations") as info:
            await bare_yield()
        await yield_now()
        return str(info.value)

    message = loop.run(main())
    assert "yielded None" in message


@pytest.mark.spec("cont.not-a-trap")
def test_an_asyncio_future_gets_a_type_error_thrown_in(loop: Loop) -> None:
    other = asyncio.new_event_loop()
    try:
        future = other.create_future()

        async def main() -> str:
            await future
            return "not reached"

        with pytest.raises(TypeError, match="asyncio"):
            loop.run(main())
    finally:
        other.close()


# ------------------------------------------------------------------ spawn


@pytest.mark.spec("spawn")
def test_spawn_appends_to_the_back_of_the_run_queue(loop: Loop) -> None:
    log: list[object] = []
    first = loop.spawn(record(log, 1))
    second = loop.spawn(record(log, 2), name="second")
    assert loop.runnable() == [first, second]
    assert loop.tasks() == [first, second]
    assert first.state == second.state == "runnable"
    assert (first.tid, second.tid) == (0, 1)
    assert first.name == "record"
    assert second.name == "second"
    assert log == []
    loop.run_once(0)
    assert log == [1, 2]


@pytest.mark.spec("spawn", "tick.ready-snapshot")
def test_a_task_spawned_during_the_drain_runs_next_iteration(loop: Loop) -> None:
    log: list[object] = []
    children: list[Task[None]] = []

    async def parent() -> None:
        log.append("parent")
        children.append(refloop.spawn(record(log, "child")))

    loop.spawn(parent())
    loop.spawn(record(log, "sibling"))
    loop.run_once(0)
    assert log == ["parent", "sibling"]
    assert loop.runnable() == children
    loop.run_once(0)
    assert log == ["parent", "sibling", "child"]


@pytest.mark.spec("spawn.validate")
def test_spawn_of_a_coroutine_function_names_the_fix(loop: Loop) -> None:
    async def job() -> None:
        pass

    with pytest.raises(TypeError, match=r"spawn\(f\(\)\), not spawn\(f\)"):
        loop.spawn(job)  # type: ignore[arg-type]
    assert loop.runnable() == []
    assert loop.tasks() == []


@pytest.mark.spec("spawn.validate")
@pytest.mark.parametrize(
    "thing",
    [None, 42, (lambda: (yield))(), iter([])],
    ids=["none", "int", "generator", "iterator"],
)
def test_spawn_of_a_non_coroutine_raises_type_error(loop: Loop, thing: Any) -> None:
    with pytest.raises(TypeError, match="needs a coroutine object"):
        loop.spawn(thing)
    assert loop.runnable() == []


@pytest.mark.spec("spawn.validate")
def test_spawn_from_a_task_validates_too(loop: Loop) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="needs a coroutine object"):
            refloop.spawn(main)  # type: ignore[arg-type]

    loop.run(main())
    assert loop.tasks() == []


@pytest.mark.spec("spawn")
def test_spawn_outside_a_loop_raises_loop_error() -> None:
    coro = record([], 1)
    try:
        with pytest.raises(LoopError, match="no refloop loop is running"):
            refloop.spawn(coro)
    finally:
        coro.close()


# ------------------------------------------------------------------ tasks


@pytest.mark.spec("task.finish")
def test_a_finished_task_keeps_its_result(loop: Loop) -> None:
    async def job() -> int:
        return 42

    task = loop.spawn(job())
    assert not task.done()
    with pytest.raises(LoopError, match="has not finished"):
        task.result()
    with pytest.raises(LoopError, match="has not finished"):
        task.exception()
    loop.run_once(0)
    assert task.state == "done"
    assert task.done()
    assert task.result() == 42
    assert task.exception() is None
    assert loop.tasks() == []


@pytest.mark.spec("task.finish")
def test_a_failed_task_keeps_its_exception(make_loop: Callable[..., Loop]) -> None:
    error = ValueError("boom")
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)

    async def job() -> None:
        raise error

    task = loop.spawn(job())
    loop.run_once(0)
    assert task.state == "failed"
    assert task.done()
    assert task.exception() is error
    with pytest.raises(ValueError) as info:
        task.result()
    assert info.value is error
    assert loop.tasks() == []


@pytest.mark.spec("task.finish")
@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_end_the_iteration(
    make_loop: Callable[..., Loop], kind: type[BaseException]
) -> None:
    loop = make_loop(report=lambda task: None)
    log: list[object] = []

    async def interrupted() -> None:
        raise kind()

    task = loop.spawn(interrupted())
    other = loop.spawn(record(log, "other"))
    with pytest.raises(kind):
        loop.run_once(0)
    assert task.state == "failed"
    assert isinstance(task.exception(), kind)
    assert log == []
    assert loop.runnable() == [other]
    loop.run_once(0)
    assert log == ["other"]


@pytest.mark.spec("task.join")
def test_join_waits_and_returns_the_result(loop: Loop) -> None:
    box: list[Continuation] = []

    async def main() -> object:
        worker = refloop.spawn(park(box))
        await yield_now()
        box[0]("answer")
        return await worker.join()

    assert loop.run(main()) == "answer"


@pytest.mark.spec("task.join")
def test_join_raises_the_exception(make_loop: Callable[..., Loop]) -> None:
    error = KeyError("lost")
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)

    async def worker() -> None:
        await yield_now()
        raise error

    async def main() -> BaseException:
        task = refloop.spawn(worker())
        with pytest.raises(KeyError) as info:
            await task.join()
        return info.value

    assert loop.run(main()) is error
    assert reports == []


@pytest.mark.spec("task.join")
def test_join_of_a_finished_task_does_not_suspend(
    make_loop: Callable[..., Loop],
) -> None:
    steps: list[str] = []

    def trace(event: str, task: Task[Any]) -> None:
        if event == "run" and task.name == "main":
            steps.append(event)

    loop = make_loop(trace=trace)

    async def job() -> int:
        return 3

    done = loop.spawn(job())
    loop.run_once(0)

    async def main() -> int:
        return await done.join() + await done.join()

    assert loop.run(main()) == 6
    assert steps == ["run"]


@pytest.mark.spec("task.join.wakes")
def test_joiners_wake_in_join_order(loop: Loop) -> None:
    box: list[Continuation] = []
    woken: list[str] = []
    target = loop.spawn(park(box), name="target")

    async def joiner(name: str, delay: int) -> None:
        for _ in range(delay):
            await yield_now()
        assert await target.join() == "result"
        woken.append(name)

    # spawn order a, b, c; join order b, c, a
    joiners = [
        loop.spawn(joiner("a", 2)),
        loop.spawn(joiner("b", 0)),
        loop.spawn(joiner("c", 1)),
    ]
    for _ in range(4):
        loop.run_once(0)
    assert all(j.state == "waiting" for j in joiners)
    box[0]("result")
    loop.run_once(0)  # the target finishes and resumes its joiners
    assert loop.runnable() == [joiners[1], joiners[2], joiners[0]]
    loop.run_once(0)
    assert woken == ["b", "c", "a"]


@pytest.mark.spec("task.join.self")
def test_joining_yourself_raises_loop_error(loop: Loop) -> None:
    async def main() -> str:
        with pytest.raises(LoopError, match="cannot join itself"):
            await current_task().join()
        return "survived"

    assert loop.run(main()) == "survived"


@pytest.mark.spec("task.fail.report")
def test_an_unjoined_failure_is_reported_and_the_loop_goes_on(
    make_loop: Callable[..., Loop],
) -> None:
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)
    log: list[object] = []

    async def failing() -> None:
        raise ValueError("nobody listens")

    async def survivor() -> str:
        for i in range(3):
            log.append(i)
            await yield_now()
        return "alive"

    async def main() -> str:
        bad = refloop.spawn(failing(), name="bad")
        good = refloop.spawn(survivor())
        await yield_now()
        assert bad.state == "failed"
        return await good.join()

    assert loop.run(main()) == "alive"
    assert log == [0, 1, 2]
    assert len(reports) == 1
    assert reports[0].name == "bad"
    assert isinstance(reports[0].exception(), ValueError)


@pytest.mark.spec("task.fail.report")
def test_a_failure_with_a_joiner_is_not_reported(
    make_loop: Callable[..., Loop],
) -> None:
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)

    async def failing() -> None:
        await yield_now()
        raise ValueError("seen")

    async def main() -> None:
        task = refloop.spawn(failing())
        with pytest.raises(ValueError, match="seen"):
            await task.join()

    loop.run(main())
    assert reports == []


@pytest.mark.spec("task.fail.report", "task.join")
def test_a_failure_joined_later_is_reported_once_and_still_raised(
    make_loop: Callable[..., Loop],
) -> None:
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)

    async def failing() -> None:
        raise ValueError("early")

    async def main() -> None:
        task = refloop.spawn(failing())
        await yield_now()
        assert len(reports) == 1
        with pytest.raises(ValueError, match="early"):
            await task.join()

    loop.run(main())
    assert len(reports) == 1


@pytest.mark.spec("task.fail.report", "loop.run")
def test_a_failing_main_task_is_raised_not_reported(
    make_loop: Callable[..., Loop],
) -> None:
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)

    async def main() -> None:
        raise ValueError("main failed")

    with pytest.raises(ValueError, match="main failed"):
        loop.run(main())
    assert reports == []


def _fails_with_a_traceback() -> None:
    raise ValueError("logged")


@pytest.mark.spec("task.fail.report")
def test_the_default_report_logs_the_traceback_on_the_refloop_logger(
    loop: Loop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="refloop")
    log: list[object] = []

    async def failing() -> None:
        _fails_with_a_traceback()

    task = loop.spawn(failing(), name="doomed")
    loop.spawn(record(log, "other"))
    loop.run_once(0)
    assert log == ["other"]
    (entry,) = caplog.records
    assert entry.name == "refloop"
    assert entry.levelno == logging.ERROR
    assert "'doomed'" in entry.getMessage()
    assert entry.exc_info is not None
    assert entry.exc_info[1] is task.exception()
    assert "Traceback (most recent call last)" in caplog.text
    assert "_fails_with_a_traceback" in caplog.text


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


# ------------------------------------------------------------ iterations


@pytest.mark.spec("tick.poll-timeout")
def test_poll_does_not_wait_when_a_task_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()
    loop.spawn(refloop.recv(a, 1))
    loop.run_once(0)  # the reader parks
    spy.timeouts.clear()
    loop.spawn(record([], 1))
    loop.run_once(5.0)
    loop.spawn(record([], 2))
    loop.run_once(None)
    assert spy.timeouts == [0, 0]


@pytest.mark.spec("tick.poll-skip")
def test_no_poll_when_nothing_waits_and_a_task_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    log: list[object] = []
    loop.spawn(record(log, 1))
    loop.run_once(5.0)
    assert (spy.timeouts, log) == ([], [1])
    # A call posted from another thread is taken without a poll.
    loop.call_soon_threadsafe(log.append, "posted")
    loop.spawn(record(log, 2))
    loop.run_once(None)
    assert (spy.timeouts, log) == ([], [1, "posted", 2])
    # With a reader parked, the same iteration polls without waiting.
    a, _ = make_pair()
    loop.spawn(refloop.recv(a, 1))
    loop.run_once(0)
    spy.timeouts.clear()
    loop.spawn(record(log, 3))
    loop.run_once(5.0)
    assert spy.timeouts == [0]


@pytest.mark.spec("tick.poll-timeout")
def test_poll_uses_the_run_once_timeout_when_nothing_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()
    loop.spawn(recv(a, 1))
    loop.run_once(0.25)  # the task runs and parks
    spy.timeouts.clear()
    loop.run_once(0.25)
    loop.run_once(None)
    loop.run_once()
    assert spy.timeouts == [0.25, None, None]


@pytest.mark.spec("tick.poll-timeout", "tick.ready-snapshot")
def test_a_busy_task_cannot_starve_io(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, b = make_pair()
    spins: list[int] = []

    async def busy() -> None:
        for i in range(1000):
            spins.append(i)
            await yield_now()

    reader = loop.spawn(recv(a, 10))
    loop.spawn(busy())
    loop.run_once(None)  # the reader parks, busy is requeued
    b.send(b"data")
    loop.run_once(None)  # polled without waiting: the reader is woken
    loop.run_once(None)
    assert reader.result() == b"data"
    assert len(spins) == 3
    # Only the second iteration had a waiter to poll for (tick.poll-skip).
    assert spy.timeouts == [0]


@pytest.mark.spec("tick.ready-snapshot")
def test_run_once_runs_exactly_the_tasks_runnable_at_the_drain(loop: Loop) -> None:
    log: list[object] = []
    box: list[Continuation] = []

    async def a() -> None:
        log.append("a1")
        await yield_now()
        log.append("a2")

    async def b() -> None:
        log.append("b1")
        box[0]("woken by b")

    parked = loop.spawn(park(box))
    loop.run_once(0)
    loop.spawn(a())
    loop.spawn(b())
    loop.run_once(0)
    assert log == ["a1", "b1"]
    assert parked.state == "runnable"
    loop.run_once(0)
    assert log == ["a1", "b1", "a2"]
    assert parked.result() == "woken by b"


@pytest.mark.spec("op.yield", "tick.ready-snapshot")
def test_yield_now_goes_to_the_back_of_the_queue(loop: Loop) -> None:
    log: list[object] = []

    async def a() -> None:
        log.append("a1")
        await yield_now()
        log.append("a2")

    loop.spawn(a())
    loop.spawn(record(log, "b"))
    loop.spawn(record(log, "c"))
    loop.run_once(0)
    assert log == ["a1", "b", "c"]
    loop.run_once(0)
    assert log == ["a1", "b", "c", "a2"]


@pytest.mark.spec("op.yield")
def test_yield_now_outside_a_loop_raises_loop_error() -> None:
    coro = yield_now()
    with pytest.raises(LoopError, match="inside a refloop task"):
        coro.send(None)


@pytest.mark.spec("tick.wake-order", "io.ready")
@pytest.mark.parametrize("reverse", [False, True], ids=["kernel", "reversed"])
def test_ready_waiters_wake_oldest_registration_first(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
    reverse: bool,
) -> None:
    spy = SpySelector(reverse=reverse)
    loop = make_loop(selector=spy)
    a1, b1 = make_pair()
    a2, b2 = make_pair()
    woken: list[str] = []

    async def late() -> None:
        await yield_now()
        await recv(a1, 10)
        woken.append("late")

    async def early() -> None:
        await recv(a2, 10)
        woken.append("early")

    # spawned first, registers second
    loop.spawn(late(), name="late")
    loop.spawn(early(), name="early")
    loop.run_once(0)
    loop.run_once(0)
    assert [w.task.name for w in loop.waiters()] == ["early", "late"]
    b1.send(b"x")
    b2.send(b"y")
    loop.run_once(0)
    assert len(spy.events[-1]) == 2, "both sockets must be ready in one poll"
    assert woken == ["early", "late"]


@pytest.mark.spec("tick.wake-order")
def test_both_directions_of_one_socket_wake_oldest_first(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, b = make_pair()
    while True:  # fill a's send buffer so that a writer must wait
        try:
            a.send(b"f" * 65536)
        except BlockingIOError:
            break
    woken: list[str] = []

    async def writer() -> None:
        await refloop.send(a, b"w")
        woken.append("writer")

    async def reader() -> None:
        await recv(a, 10)
        woken.append("reader")

    loop.spawn(writer())
    loop.spawn(reader())
    loop.run_once(0)
    assert [w.direction for w in loop.waiters()] == ["write", "read"]
    while True:  # the peer drains the buffer and answers
        try:
            b.recv(1 << 20)
        except BlockingIOError:
            break
    b.send(b"r")
    loop.run_once(0)
    # one event carries both directions; the loop still orders them
    assert spy.events[-1][0][1] == selectors.EVENT_READ | selectors.EVENT_WRITE
    assert woken == ["writer", "reader"]


@pytest.mark.spec("io.stale-descriptor")
def test_a_descriptor_reused_behind_the_loops_back(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    old, _ = make_pair()
    outcome: dict[str, object] = {}

    async def old_reader() -> None:
        try:
            await recv(old, 10)
        except ClosedError as err:
            outcome["old"] = err

    async def new_reader(sock: socket.socket) -> None:
        outcome["new"] = await recv(sock, 10)

    loop.spawn(old_reader())
    loop.run_once(0)
    loop.run_once(0)  # the old registration reaches the selector
    fd = old.fileno()
    old.close()  # behind the loop's back
    new, peer = reuse_descriptor(fd, make_pair)
    try:
        loop.spawn(new_reader(new))
        loop.run_once(0)
        assert [w.sock for w in loop.waiters()] == [new]
        peer.send(b"fresh")
        for _ in range(3):
            loop.run_once(0)
    finally:
        new.close()
    assert outcome["new"] == b"fresh"
    assert isinstance(outcome["old"], ClosedError)
    assert " was closed without refloop.close() while " in str(outcome["old"])
    assert loop.waiters() == []


@pytest.mark.spec("io.stale-descriptor", "io.interest")
def test_a_waiter_on_a_reused_descriptor_leaves_no_registration(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    """The fresh record made for a reused descriptor is kept under that
    descriptor: once its waiter is woken, the selector stops watching it."""
    spy = SpySelector()
    loop = make_loop(selector=spy)
    old, _ = make_pair()

    async def reader(sock: socket.socket) -> None:
        with contextlib.suppress(ClosedError):
            await recv(sock, 10)

    loop.spawn(reader(old))
    loop.run_once(0)
    loop.run_once(0)
    fd = old.fileno()
    old.close()  # behind the loop's back
    new, peer = reuse_descriptor(fd, make_pair)
    try:
        loop.spawn(reader(new))
        loop.run_once(0)
        loop.run_once(0)
        assert fd in {key.fd for key in spy.get_map().values()}
        peer.send(b"x")
        for _ in range(3):
            loop.run_once(0)
        assert loop.waiters() == []
        assert fd not in {key.fd for key in spy.get_map().values()}
    finally:
        new.close()


@pytest.mark.spec("io.stale-descriptor", "io.close.wakes")
def test_closing_a_socket_that_reuses_a_stale_descriptor(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    old, _ = make_pair()
    outcome: dict[str, object] = {}

    async def old_reader() -> None:
        try:
            await recv(old, 10)
        except ClosedError as err:
            outcome["old"] = err

    loop.spawn(old_reader())
    loop.run_once(0)
    loop.run_once(0)
    fd = old.fileno()
    old.close()  # behind the loop's back
    new, _ = reuse_descriptor(fd, make_pair)

    async def closer() -> None:
        refloop.close(new)
        outcome["closed"] = not _is_open(fd)

    loop.spawn(closer())
    try:
        for _ in range(2):
            loop.run_once(0)
    finally:
        new.close()
    assert outcome["closed"] is True
    assert isinstance(outcome["old"], ClosedError)
    assert " was closed without refloop.close() while " in str(outcome["old"])
    assert loop.waiters() == []


@pytest.mark.spec("cont.one-shot")
def test_a_continuations_repr_names_its_task_and_whether_it_was_resumed(
    loop: Loop,
) -> None:
    """Found by mutation testing: nothing looked at this repr, which is what
    a ResumeError and a debugger show."""
    held: list[Continuation] = []

    async def parked() -> None:
        await suspend(held.append)

    task = loop.spawn(parked(), name="parked")
    loop.run_once(0)
    [k] = held
    assert repr(k) == f"<Continuation of {task!r} pending>"
    k()
    assert repr(k) == f"<Continuation of {task!r} resumed>"
    loop.run_once(0)


@pytest.mark.spec("io.close.unregister-first")
def test_closing_a_watched_socket_leaves_no_record_of_it(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Found by mutation testing: the loop kept the record of a socket closed
    through refloop until its descriptor number was reused. (White-box: the
    table is the waiters part's own, checked for its memory.)"""
    a, _ = make_pair()

    async def reader() -> None:
        with contextlib.suppress(ClosedError):
            await recv(a, 1)

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    for _ in range(3):
        loop.run_once(0)
    assert loop.waiters() == []
    assert loop._waiters._fdmap == {}


@pytest.mark.spec("io.close.wakes", "thread.post")
def test_a_posted_call_may_close_a_socket_the_same_poll_found_ready(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Posted calls run after the poll and before its wakeups: the waiter of
    a socket they close is woken with ClosedError once, and the poll's stale
    event for it is ignored (found by mutation testing)."""
    a, b = make_pair()
    outcome: list[object] = []

    async def reader() -> None:
        try:
            outcome.append(await recv(a, 1))
        except ClosedError as err:
            outcome.append(type(err))

    loop.spawn(reader())
    loop.run_once(0)
    b.send(b"x")
    loop.call_soon_threadsafe(refloop.close, a)
    for _ in range(3):
        loop.run_once(0)
    assert outcome == [ClosedError]
    assert loop.waiters() == []


@pytest.mark.spec("tick.poll-skip", "io.close.wakes")
def test_after_a_close_wakes_the_last_waiter_the_loop_skips_the_poll(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    """Closing counts the woken waiters out (found by mutation testing: a
    miscount made every later iteration poll for nothing)."""
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()

    async def reader() -> None:
        with contextlib.suppress(ClosedError):
            await recv(a, 1)

    async def closer() -> None:
        refloop.close(a)
        for _ in range(5):
            await yield_now()

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    loop.run_once(0)
    polls = len(spy.timeouts)
    for _ in range(3):
        loop.run_once(0)
    assert len(spy.timeouts) == polls


@pytest.mark.spec("io.close.wakes")
def test_a_waiter_woken_by_a_close_is_told_the_socket_was_closed(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Found by mutation testing: nothing read the message, so a close taken
    for a stale descriptor went unnoticed."""
    a, _ = make_pair()
    name = repr(a)
    outcome: list[str] = []

    async def reader() -> None:
        try:
            await recv(a, 1)
        except ClosedError as err:
            outcome.append(str(err))

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    for _ in range(3):
        loop.run_once(0)
    [message] = outcome
    assert message.startswith(f"{name} was closed while <Task ")
