"""Tasks, as mutation testing found them under-tested (docs/mutation.md,
refloop/_task.py): what a task says when it awaits something foreign or its
handler misbehaves, where a task stands after a failed suspension, when a
failure counts as observed, and the resumption another loop uses."""

from __future__ import annotations

import selectors
import types
from collections.abc import Callable, Generator
from typing import Any

import pytest
from independent_loop import SnapshotSeedLoop

from refloop import (
    Cancelled,
    Continuation,
    Loop,
    LoopError,
    Task,
    VirtualClock,
    current_task,
    suspend,
    yield_now,
)


@types.coroutine
def _yields(value: object) -> Generator[object, Any, None]:
    yield value


@pytest.mark.spec("cont.not-a-trap")
def test_awaiting_a_foreign_value_throws_in_a_type_error_naming_it(
    loop: Loop,
) -> None:
    async def main() -> tuple[str, str]:
        task = current_task()
        try:
            await _yields(42)
        except TypeError as err:
            message = str(err)
        # The task goes on after catching it: the handler its next await
        # yields is the loop's again.
        await yield_now()
        return message, repr(task)

    message, name = loop.run(main())
    assert message == (
        f"{name} awaited something that yielded 42; refloop tasks can await "
        "only refloop operations (asyncio or trio awaitables do not work here)"
    )


@pytest.mark.spec("cont.handler-raises")
def test_a_handler_that_resumes_then_raises_names_the_task_and_its_cause(
    loop: Loop,
) -> None:
    cause = RuntimeError("after resuming")

    def resumes_then_raises(k: Continuation) -> None:
        k(1)
        raise cause

    async def a() -> None:
        await suspend(resumes_then_raises)

    task = loop.spawn(a())
    loop.run_once(0)
    error = task.exception()
    assert isinstance(error, LoopError)
    # The task as it was when it suspended: running again, runnable.
    assert str(error) == (
        f"a suspend handler of <Task 0 {task.name!r} runnable> resumed it and "
        "then raised"
    )
    assert error.__cause__ is cause


def _refuses(k: Continuation) -> None:
    raise OSError("the handler could not park the task")


@pytest.mark.spec("cont.handler-raises", "cancel.runnable")
def test_after_a_failed_suspension_the_task_is_runnable_and_can_be_cancelled(
    loop: Loop,
) -> None:
    seen: list[object] = []

    async def a() -> None:
        task = current_task()
        try:
            await suspend(_refuses)
        except OSError:
            # It is running again, parked nowhere: a cancel is kept for its
            # next suspension.
            seen.append(task.state)
            assert task.cancel() is True
        try:
            await yield_now()
        except Cancelled:
            seen.append("cancelled at the next suspension")
            raise

    task = loop.spawn(a())
    loop.run_once(0)
    assert seen == ["runnable", "cancelled at the next suspension"]
    assert task.cancelled()
    assert loop.tasks() == []


@pytest.mark.spec("task.finish")
def test_a_task_that_failed_otherwise_is_not_cancelled(loop: Loop) -> None:
    async def fails() -> None:
        raise ValueError("not a cancellation")

    async def returns() -> str:
        return "fine"

    failed = loop.spawn(fails())
    done = loop.spawn(returns())
    loop.run_once(0)
    assert failed.state == "failed"
    assert failed.cancelled() is False
    assert done.cancelled() is False
    with pytest.raises(ValueError, match="not a cancellation"):
        failed.result()


@pytest.mark.spec("task.fail.report", "cancel.waiting")
def test_a_failure_whose_only_joiner_was_cancelled_is_reported(
    make_loop: Callable[..., Loop],
) -> None:
    reports: list[Task[Any]] = []
    loop = make_loop(report=reports.append)
    parked: list[Continuation] = []

    async def fails_later() -> None:
        await suspend(parked.append)
        raise ValueError("nobody listens any more")

    async def joiner(task: Task[Any]) -> None:
        await task.join()

    target = loop.spawn(fails_later(), name="target")
    waiting = loop.spawn(joiner(target), name="joiner")
    loop.run_once(0)
    assert waiting.state == "waiting"
    waiting.cancel()
    loop.run_once(0)
    assert waiting.cancelled()
    assert reports == []
    parked.pop()()
    loop.run_once(0)
    # The cancelled joiner no longer joins: nobody observes the failure.
    assert [task.name for task in reports] == ["target"]
    assert isinstance(target.exception(), ValueError)


@pytest.mark.spec("cont.resume-enqueues")
def test_another_loop_resumes_a_task_with_its_value_or_its_exception() -> None:
    # Task._resumed is what a loop other than refloop.Loop calls (refloop.Loop
    # inlines it); the seed loop of tests/independent_loop.py is one.
    loop = SnapshotSeedLoop(
        selector=selectors.DefaultSelector(),
        clock=VirtualClock(),
        budget=3,
        trace=lambda event, task: None,
        report=lambda task: None,
    )
    parked: list[Continuation] = []
    seen: list[object] = []

    async def a() -> None:
        seen.append(await suspend(parked.append))
        try:
            await suspend(parked.append)
        except KeyError as err:
            seen.append(err)
        seen.append(current_task().cancel())
        try:
            await yield_now()
        except Cancelled:
            seen.append("cancelled")

    try:
        task = loop.spawn(a())
        loop.run_once(0)
        assert task.state == "waiting"
        parked.pop()("sent")
        assert task.state == "runnable"
        loop.run_once(0)
        error = KeyError("thrown")
        parked.pop().throw(error)
        assert task.state == "runnable"
        loop.run_once(0)
        assert seen == ["sent", error, True, "cancelled"]
        assert task.state == "done"
    finally:
        loop.close()
