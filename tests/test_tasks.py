"""Unit tests for tasks: spawning, results and failures, joins, and the
report of a failure nobody joined.

The stateful test (test_stateful.py) explores interleavings; these tests pin
the corners it reaches slowly or not at all: error messages and what is
reported when.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from _helpers import park, record

import refloop
from refloop import (
    Continuation,
    Loop,
    LoopError,
    Task,
    current_task,
    yield_now,
)

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


@pytest.mark.spec("spawn.validate", "thread.owner")
def test_run_refuses_a_non_coroutine_first_naming_run(loop: Loop) -> None:
    async def main() -> None:
        pass

    with pytest.raises(TypeError, match=r"^run\(\) needs a coroutine object"):
        loop.run(main)  # type: ignore[arg-type]
    # From another thread the argument is still refused first, then the
    # thread; neither leaves a task behind.
    outcomes: list[BaseException] = []

    def other(thing: Any) -> None:
        try:
            loop.run(thing)
        except BaseException as err:
            outcomes.append(err)

    for thing in (main, main()):
        worker = threading.Thread(target=other, args=(thing,))
        worker.start()
        worker.join()
    bad, good = outcomes
    assert isinstance(bad, TypeError) and str(bad).startswith("run()")
    assert isinstance(good, LoopError) and str(good).startswith("run() was called")
    assert loop.tasks() == [] and loop.runnable() == []


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
