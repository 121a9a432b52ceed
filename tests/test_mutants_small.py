"""The small modules' doors, as mutation testing found them under-tested
(docs/mutation.md, "The small modules"): each refusal names what was
refused, `Cancelled()` says what it is, `async with` hands `__exit__` all
three of its arguments, and `refloop.spawn` outside a loop closes the
coroutine it refuses."""

from __future__ import annotations

import inspect
import math
from types import TracebackType
from typing import Any

import pytest
from _helpers import refused_from_another_thread

import refloop
from refloop import Cancelled, Loop, LoopError, VirtualClock
from refloop._acm import AsyncWithEnter
from refloop._suspend import Continuation, suspend


@pytest.mark.spec("cancel.catch")
def test_a_bare_cancelled_says_it_was_cancelled() -> None:
    assert str(Cancelled()) == "cancelled"
    assert Cancelled().scope is None
    assert str(Cancelled("by the user")) == "by the user"


@pytest.mark.spec("timer.validate")
def test_the_virtual_clock_names_an_infinite_step() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match=r"^seconds must be finite, got inf$"):
        clock.advance(math.inf)
    with pytest.raises(ValueError, match=r"^start must be finite, got -inf$"):
        VirtualClock(-math.inf)
    assert clock() == 0.0  # the refused step changed nothing


@pytest.mark.spec("loop.close.refuses", "timer.validate")
def test_a_refused_schedule_names_the_call_and_the_callable() -> None:
    loop = Loop()
    with pytest.raises(TypeError, match=r"call_later\(\) needs a callable, got 5"):
        loop.call_later(0, 5)  # type: ignore[arg-type]
    loop.close()

    def named_callback() -> None:
        pass

    closed = r"is closed; it cannot schedule.*named_callback"
    with pytest.raises(LoopError, match=closed):
        loop.call_later(0, named_callback)


@pytest.mark.spec("thread.owner", "loop.close.refuses")
def test_a_refused_resume_names_the_task() -> None:
    loop = Loop()
    held: list[Continuation] = []

    async def parked() -> None:
        await suspend(held.append)

    task = loop.spawn(parked())
    loop.run_once(0)
    (k,) = held
    refused = refused_from_another_thread(k)
    assert isinstance(refused, LoopError)
    assert f"resuming {task!r}" in str(refused)
    assert not k.resumed  # refused, nothing changed
    k()  # from the loop's thread it works
    loop.run_once(0)
    assert task.done()

    async def parked_again() -> None:
        await suspend(held.append)

    other = loop.spawn(parked_again())
    loop.run_once(0)
    later = held[-1]
    loop.close()
    with pytest.raises(LoopError) as closed:
        later()
    assert "is closed" in str(closed.value)
    assert "cannot be resumed" in str(closed.value)
    assert repr(other).split(" ")[0] in str(closed.value)


class _Recorder(AsyncWithEnter):
    """A scope that records what its `__exit__` was given."""

    def __init__(self) -> None:
        self.exited: tuple[Any, ...] = ()

    def __enter__(self) -> _Recorder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.exited = (kind, exc, tb)
        return True


@pytest.mark.spec("cancel.scope.async")
def test_async_with_is_the_with_form_of_the_same_scope() -> None:
    scope = _Recorder()
    error = ValueError("inside")
    try:
        raise error
    except ValueError as caught:
        tb = caught.__traceback__
    coro = scope.__aexit__(ValueError, error, tb)
    with pytest.raises(StopIteration) as done:
        coro.send(None)
    assert done.value.value is True  # the exit's verdict, passed on
    assert scope.exited == (ValueError, error, tb)


@pytest.mark.spec("spawn.validate")
def test_spawn_outside_a_loop_closes_the_coroutine_it_refuses() -> None:
    async def job() -> None:
        pass

    coro = job()
    with pytest.raises(LoopError):
        refloop.spawn(coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED
