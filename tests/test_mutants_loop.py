"""The loop's doors, as mutation testing found them under-tested
(docs/mutation.md, refloop/_loop.py): a call from another thread is refused
by its name, bad arguments are named, the repr says the loop's state, and
an unobserved failure is logged by what it is."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import pytest
from _helpers import refused_from_another_thread

from refloop import Loop, LoopError, VirtualClock, sleep


@pytest.mark.spec("thread.owner")
def test_each_door_refuses_another_thread_by_its_name(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    a, b = socket.socketpair()

    async def nothing() -> None:
        pass

    doors: dict[str, Callable[[], object]] = {
        "tasks()": loop.tasks,
        "runnable()": loop.runnable,
        "waiters()": loop.waiters,
        "timers()": loop.timers,
        "snapshot()": loop.snapshot,
        "close_socket()": lambda: loop.close_socket(a),
        "call_when_idle()": lambda: loop.call_when_idle(print),
        "call_at()": lambda: loop.call_at(0.0, print),
        "spawn()": lambda: loop.spawn(nothing()),
    }
    try:
        for name, call in doors.items():
            err = refused_from_another_thread(call)
            assert isinstance(err, LoopError)
            assert str(err) == (
                f"{name} was called from thread 'intruder', but {loop!r} "
                "belongs to another; use call_soon_threadsafe()"
            )
    finally:
        a.close()
        b.close()


@pytest.mark.spec("thread.owner")
def test_resuming_a_task_from_another_thread_names_the_task(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    task = loop.spawn(sleep(0.0))
    err = refused_from_another_thread(lambda: loop._resume(task, None, None))
    assert str(err).startswith(f"resuming {task!r} was called from thread")


@pytest.mark.spec("timer.validate")
def test_bad_times_and_callables_are_named(make_loop: Callable[..., Loop]) -> None:
    loop = make_loop(clock=VirtualClock())
    finite = "must be a finite number of seconds (or inf: never), got nan"
    with pytest.raises(ValueError) as caught:
        loop.call_later(float("nan"), print)
    assert str(caught.value) == f"call_later() delay {finite}"
    with pytest.raises(ValueError) as caught:
        loop.call_at(float("nan"), print)
    assert str(caught.value) == f"call_at() when {finite}"
    with pytest.raises(TypeError) as caught:
        loop.call_when_idle(42)  # type: ignore[arg-type]
    assert str(caught.value) == "call_when_idle() needs a callable, got 42"
    with pytest.raises(TypeError) as caught:
        loop.call_soon_threadsafe(42)  # type: ignore[arg-type]
    assert str(caught.value) == "call_soon_threadsafe() needs a callable, got 42"
    with pytest.raises(TypeError) as caught:
        loop.spawn(sleep)  # type: ignore[arg-type]
    assert str(caught.value).endswith(
        "call the async function: spawn(f()), not spawn(f)"
    )
    closed = make_loop()
    closed.close()
    with pytest.raises(LoopError) as caught:
        closed.call_when_idle(print)
    assert str(caught.value) == f"{closed!r} is closed; it cannot schedule {print!r}"
    with pytest.raises(LoopError) as caught:
        closed.call_at(0.0, print)
    assert str(caught.value) == f"{closed!r} is closed; it cannot schedule {print!r}"


@pytest.mark.spec("timer.sleep")
def test_a_sleeps_timer_calls_its_continuation_with_no_arguments(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop(clock=VirtualClock())
    loop.spawn(sleep(1.0))
    loop.run_once(0)
    (timer,) = loop.snapshot().timers
    assert timer.args == ()


def test_the_repr_says_whether_the_loop_is_idle_running_or_closed(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    assert repr(loop) == "<refloop.Loop idle tasks=0 waiters=0>"
    seen: list[str] = []

    async def main() -> None:
        seen.append(repr(loop))

    loop.run(main())
    assert seen == ["<refloop.Loop running tasks=1 waiters=0>"]
    loop.close()
    assert repr(loop) == "<refloop.Loop closed tasks=0 waiters=0>"


@pytest.mark.spec("task.fail.report")
def test_an_unobserved_failure_is_logged_as_one(
    make_loop: Callable[..., Loop], caplog: pytest.LogCaptureFixture
) -> None:
    loop = make_loop()

    async def fails() -> None:
        raise ValueError("nobody joins me")

    task = loop.spawn(fails())
    with caplog.at_level(logging.ERROR, logger="refloop"):
        loop.run_once(0)
    messages = [r.getMessage() for r in caplog.records]
    assert f"{task!r} failed and no task joined it" in messages


@pytest.mark.spec("loop.no-nesting")
def test_run_once_inside_a_running_loop_is_refused_by_its_name(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    seen: list[str] = []

    async def main() -> None:
        try:
            loop.run_once(0)
        except LoopError as err:
            seen.append(f"{err}|{loop!r}")

    loop.run(main())
    text, running = seen[0].split("|")
    assert text == f"{running} is already running; run_once() cannot nest"
    err = refused_from_another_thread(lambda: loop.run_once(0))
    assert str(err).startswith("run_once() was called from thread 'intruder'")


@pytest.mark.spec("thread.post")
def test_a_post_to_a_closed_loop_names_the_loop(
    make_loop: Callable[..., Loop],
) -> None:
    loop = make_loop()
    loop.close()
    with pytest.raises(LoopError) as caught:
        loop.call_soon_threadsafe(print)
    assert str(caught.value) == f"{loop!r} is closed; it cannot run {print!r}"


@pytest.mark.spec("timer.fire")
def test_a_timer_a_task_sets_is_traced_as_that_tasks() -> None:
    """call_at, call_later and sleep from a task: each timer's firing names
    the task (the trace the explorer reads), not None."""
    fired: list[object] = []
    loop = Loop(
        clock=VirtualClock(),
        trace=lambda name, task: fired.append(task) if name == "fire" else None,
    )

    async def main() -> None:
        loop.call_at(loop.time(), lambda: None)
        loop.call_later(0, lambda: None)
        await sleep(0)

    try:
        task = loop.spawn(main())
        for _ in range(5):
            loop.run_once(0)
        assert task.done()
        assert fired == [task, task, task]
    finally:
        loop.close()


@pytest.mark.spec("timer.validate")
def test_call_later_refuses_a_non_callable_by_its_own_name() -> None:
    loop = Loop()
    try:
        with pytest.raises(TypeError, match=r"^call_later\(\) needs a callable"):
            loop.call_later(0, "not callable")  # type: ignore[arg-type]
    finally:
        loop.close()
