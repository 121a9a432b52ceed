"""The continuation and `suspend`, as mutation testing found them
under-tested (docs/mutation.md, refloop/_suspend.py): the exact words of
every refusal (naming the task or the bad value), what a refused resume
leaves unchanged, and what `k()` resumes with."""

from __future__ import annotations

import pytest

import refloop
from refloop import Continuation, Loop, ResumeError


def _parked(loop: Loop) -> tuple[refloop.Task[object], Continuation]:
    held: list[Continuation] = []

    async def body() -> object:
        return await refloop.suspend(held.append)

    task = loop.spawn(body(), name="parked")
    loop.run_once(timeout=0)
    return task, held[0]


@pytest.mark.spec("cont.one-shot")
def test_a_second_resume_is_refused_naming_the_task_and_changes_nothing() -> None:
    loop = Loop()
    task, k = _parked(loop)
    assert k.task is task and k.resumed is False
    k()
    assert k.resumed
    for again in (lambda: k("twice"), lambda: k.throw(ValueError("twice"))):
        with pytest.raises(ResumeError) as refused:
            again()
        assert str(refused.value) == f"the continuation of {task!r} was already resumed"
    loop.run_once(timeout=0)
    assert task.result() is None  # k() resumes with None
    loop.close()


@pytest.mark.spec("cont.one-shot")
def test_a_thrown_continuation_is_used_up_too() -> None:
    loop = Loop()
    task, k = _parked(loop)
    k.throw(KeyError("once"))
    assert k.resumed
    with pytest.raises(ResumeError) as refused:
        k("again")
    assert str(refused.value) == f"the continuation of {task!r} was already resumed"
    loop.run_once(timeout=0)
    with pytest.raises(KeyError, match="once"):
        task.result()
    loop.close()


@pytest.mark.spec("cont.one-shot")
def test_throw_needs_an_exception_instance_and_a_refusal_keeps_it_unused() -> None:
    loop = Loop()
    task, k = _parked(loop)
    with pytest.raises(TypeError) as bad:
        k.throw(ValueError)  # type: ignore[arg-type]
    assert str(bad.value) == (
        f"k.throw() needs an exception instance, got {ValueError!r}"
    )
    assert not k.resumed and task.state == "waiting"
    k("fine")
    loop.run_once(timeout=0)
    assert task.result() == "fine"
    loop.close()


@pytest.mark.spec("cont.handler-raises")
def test_suspend_needs_a_callable_handler() -> None:
    async def body() -> str:
        try:
            await refloop.suspend(42)  # type: ignore[arg-type]
        except TypeError as err:
            return str(err)
        return "accepted"

    assert refloop.run(body()) == "suspend() needs a callable handler, got 42"


@pytest.mark.spec("cont.one-shot")
def test_a_continuation_a_timer_resumes_is_used_up() -> None:
    """A handler that hands its continuation to `call_later` (the timers
    take it without the thread check, as a sleep's): once the timer fired,
    `resumed` is True and a second resume is refused; the task resumed once."""
    loop = Loop()
    held: list[Continuation] = []
    runs: list[object] = []

    def handler(k: Continuation) -> None:
        held.append(k)
        loop.call_later(0, k)

    async def body() -> object:
        value = await refloop.suspend(handler)
        runs.append(value)
        return value

    task = loop.spawn(body())
    loop.run_once(timeout=0)
    [k] = held
    assert k.resumed is False
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert k.resumed is True and task.result() is None
    with pytest.raises(ResumeError):
        k("again")
    loop.run_once(timeout=0)
    assert runs == [None]
    loop.close()
