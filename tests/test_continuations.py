"""Unit tests for continuations: a continuation resumes its task once, at
the back of the run queue, and a task may yield only what refloop's door
hands the loop.

The stateful test (test_stateful.py) explores interleavings; these tests pin
the corners it reaches slowly or not at all.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest
from _helpers import park, record

from refloop import (
    Continuation,
    Loop,
    LoopError,
    ResumeError,
    suspend,
    yield_now,
)

# ----------------------------------------------------------------- helpers


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
