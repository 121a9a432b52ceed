"""A task group's door, `g.spawn`, and what the group raises when its block
fails beside its children (spec: cancel.scope.group-spawn,
cancel.scope.group). Each refusal closes the coroutine and leaves the group
and the loop as they were."""

from __future__ import annotations

import gc
import threading
import warnings
from typing import Any

import pytest

import refloop
from refloop import Loop, LoopError, TaskGroup, yield_now


class Boom(Exception):
    pass


def _run(main: Any) -> Any:
    loop = Loop()
    try:
        return loop.run(main)
    finally:
        loop.close()


async def _fail(tag: str) -> None:
    await yield_now()
    raise Boom(tag)


async def _nothing() -> None:
    pass


def _never_awaited_warnings(run: Any) -> list[str]:
    """What `run()` left as 'coroutine ... was never awaited'."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [str(w.message) for w in seen if "never awaited" in str(w.message)]


@pytest.mark.spec("cancel.scope.group-spawn")
def test_spawn_refuses_what_is_not_a_coroutine_and_changes_nothing() -> None:
    async def main() -> tuple[str, int]:
        async with TaskGroup() as g:
            before = repr(g)
            with pytest.raises(TypeError) as caught:
                g.spawn(_nothing)  # type: ignore[arg-type]
            assert repr(g) == before
            tasks = len(refloop.current_loop().tasks())
        return str(caught.value), tasks

    text, tasks = _run(main())
    assert "TaskGroup.spawn() needs a coroutine object" in text
    assert "g.spawn(f())" in text
    assert tasks == 1  # only main: no child was made


@pytest.mark.spec("cancel.scope.group-spawn")
def test_spawn_after_the_group_exited_is_refused_and_closes_the_coroutine() -> None:
    out: dict[str, Any] = {}

    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(_nothing())
        coro = _fail("late")
        with pytest.raises(LoopError) as caught:
            g.spawn(coro)
        out["text"] = str(caught.value)
        out["closed"] = coro.cr_frame is None
        out["tasks"] = len(refloop.current_loop().tasks())
        out["repr"] = repr(g)

    assert _never_awaited_warnings(lambda: _run(main())) == []
    assert out["closed"] and out["tasks"] == 1
    assert out["repr"] == "<refloop.TaskGroup children=1 running=0 exited>"
    assert out["text"].startswith(out["repr"])
    assert "has exited; TaskGroup.spawn() cannot add a child" in out["text"]


@pytest.mark.spec("cancel.scope.group-spawn")
def test_spawn_from_another_thread_is_refused_names_the_group_and_closes() -> None:
    out: dict[str, Any] = {}

    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(_nothing())
            coro = _fail("foreign")

            def foreign() -> None:
                try:
                    g.spawn(coro)
                except LoopError as err:
                    out["err"] = err

            before = repr(g)
            thread = threading.Thread(target=foreign)
            thread.start()
            thread.join()
            out["same"] = repr(g) == before
            out["closed"] = coro.cr_frame is None

    assert _never_awaited_warnings(lambda: _run(main())) == []
    text = str(out["err"])
    assert out["same"] and out["closed"]
    assert "TaskGroup children=1" in text and "TaskGroup.spawn()" in text
    assert "call_soon_threadsafe" in text


@pytest.mark.spec("cancel.scope.group-spawn")
def test_a_child_is_named_after_its_coroutine_unless_named() -> None:
    async def main() -> list[str]:
        async with TaskGroup() as g:
            a = g.spawn(_nothing())
            b = g.spawn(_nothing(), name="second")
        return [a.name, b.name]

    assert _run(main()) == ["_nothing", "second"]


@pytest.mark.spec("cancel.scope.group-spawn")
def test_a_child_spawned_while_the_group_waits_at_its_end_is_waited_for() -> None:
    order: list[str] = []

    async def late() -> None:
        await yield_now()
        order.append("late child done")

    async def spawner(g: TaskGroup) -> None:
        await yield_now()
        g.spawn(late())

    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(spawner(g))
        order.append("group exited")

    _run(main())
    assert order == ["late child done", "group exited"]


@pytest.mark.spec("cancel.scope.group")
def test_a_failed_block_comes_last_in_the_group_after_its_children() -> None:
    async def stubborn() -> None:
        # Fails when the group's cancellation reaches it.
        try:
            await refloop.sleep_forever()
        except refloop.Cancelled:
            raise Boom("child") from None

    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(stubborn())
            await yield_now()
            raise Boom("block")

    with pytest.raises(BaseExceptionGroup) as caught:
        _run(main())
    assert [str(e) for e in caught.value.exceptions] == ["child", "block"]


@pytest.mark.spec("cancel.scope.group")
def test_a_block_that_fails_alone_raises_its_own_exception() -> None:
    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(_nothing())
            raise Boom("block")

    with pytest.raises(Boom, match="block"):
        _run(main())


@pytest.mark.spec("cancel.scope.group", "loop.close")
def test_closing_the_loop_is_no_failure_of_a_child(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A child whose coroutine the loop's close() closes has not failed: the
    group neither records it nor cancels its siblings on a closed loop."""
    reported: list[Any] = []
    loop = Loop(report=reported.append)

    async def main() -> None:
        async with TaskGroup() as g:
            g.spawn(refloop.sleep_forever())
            g.spawn(refloop.sleep_forever())
            await refloop.sleep_forever()

    loop.spawn(main())
    for _ in range(3):
        loop.run_once(0)
    with caplog.at_level("ERROR"):
        loop.close()
    assert reported == []
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.spec("cancel.scope.group-spawn")
def test_the_refusal_of_a_function_ends_with_the_advice() -> None:
    async def main() -> str:
        async with TaskGroup() as g:
            with pytest.raises(TypeError) as caught:
                g.spawn(_nothing)  # type: ignore[arg-type]
        return str(caught.value)

    text = _run(main())
    assert text.startswith("TaskGroup.spawn() needs a coroutine object, got <function")
    assert text.endswith("; call the async function: g.spawn(f()), not g.spawn(f)")


@pytest.mark.spec("cancel.scope.group-spawn")
def test_a_group_not_entered_says_so_and_refuses_spawn_and_cancel() -> None:
    g = TaskGroup()
    assert repr(g) == "<refloop.TaskGroup children=0 running=0 not entered>"
    coro = _nothing()
    with pytest.raises(LoopError, match=r"needs `async with TaskGroup\(\) as g:`"):
        g.spawn(coro)
    assert coro.cr_frame is None  # closed: never awaited, no warning
    with pytest.raises(LoopError, match=r"TaskGroup.cancel\(\) needs `async with"):
        g.cancel()
    assert repr(g) == "<refloop.TaskGroup children=0 running=0 not entered>"


@pytest.mark.spec("cancel.scope.group", "loop.close")
def test_a_group_closed_with_its_loop_has_exited_and_its_block_goes_no_further() -> (
    None
):
    """close() ends the block where it waits: nothing after `async with`
    runs, and the group says it has exited (a spawn is then refused)."""
    after: list[str] = []
    groups: list[TaskGroup] = []
    loop = Loop()

    async def main() -> None:
        try:
            async with TaskGroup() as g:
                groups.append(g)
                g.spawn(refloop.sleep_forever())
                await refloop.sleep_forever()
        finally:
            after.append("finally")
        after.append("after the block")

    loop.spawn(main())
    for _ in range(3):
        loop.run_once(0)
    loop.close()
    assert after == ["finally"]
    assert repr(groups[0]).endswith(" exited>")
