"""Timeouts and task groups, as mutation testing found them under-tested
(docs/mutation.md, refloop/_scopes.py): a Cancelled carries the scope that
asked for it, a group cancelled from outside passes it on to its children,
a timer that fired too late is dropped with its block, and the errors and
reprs name what they are about."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import refloop
from refloop import (
    Cancelled,
    Loop,
    LoopError,
    TaskGroup,
    VirtualClock,
    move_on_after,
    sleep,
    sleep_forever,
    timeout,
    yield_now,
)


def _run(main: Any, clock: VirtualClock | None = None) -> Any:
    loop = Loop(clock=clock)
    try:
        return loop.run(main)
    finally:
        loop.close()


@pytest.mark.spec("cancel.scope.timeout")
def test_a_timeout_says_what_it_is_and_refuses_bad_use() -> None:
    with pytest.raises(ValueError) as bad:
        timeout(float("nan"))
    assert str(bad.value) == (
        "timeout seconds must be a finite number of seconds (or inf: never), got nan"
    )
    block = timeout(1.5)
    assert repr(block) == "<timeout 1.5 s fired=False>"
    assert repr(move_on_after(2)) == "<move_on_after 2 s fired=False>"

    async def main() -> tuple[str, str]:
        with block, pytest.raises(LoopError) as caught:
            block.__enter__()
        with pytest.raises(TimeoutError) as timed_out, timeout(0.01):
            await sleep(10.0)
        return str(caught.value), str(timed_out.value)

    twice, timed_out = _run(main())
    assert twice == "<timeout 1.5 s fired=False> cannot be entered twice"
    assert timed_out == "the block timed out after 0.01 s"


@pytest.mark.spec("cancel.merge")
def test_a_timeout_that_fired_while_the_task_was_runnable_ends_with_its_block() -> None:
    """The timer fires in the iteration where the task is runnable; the
    block ends before the task suspends: the cancellation is dropped, and
    the task's next suspension is not cancelled."""
    clock = VirtualClock()
    loop = Loop(clock=clock)
    block = timeout(1.0)
    log: list[str] = []

    async def body() -> None:
        with block:
            await yield_now()
        log.append("left the block")
        await yield_now()
        log.append("suspended after it")

    try:
        task = loop.spawn(body())
        loop.run_once(0)
        clock.advance(2.0)
        loop.run_once(0)
        loop.run_once(0)
        assert task.done()
        task.result()
    finally:
        loop.close()
    assert block.fired
    assert log == ["left the block", "suspended after it"]


@pytest.mark.spec("cancel.scope.group")
def test_a_task_group_refuses_use_outside_its_block_and_names_it() -> None:
    group = TaskGroup()

    async def child() -> None:
        pass

    coro = child()
    with pytest.raises(LoopError) as caught:
        group.spawn(coro)
    assert str(caught.value) == (
        "TaskGroup.spawn() needs `async with TaskGroup() as g:` first"
    )
    with pytest.raises(LoopError) as caught:
        group.cancel()
    assert str(caught.value) == (
        "TaskGroup.cancel() needs `async with TaskGroup() as g:` first"
    )

    async def main() -> tuple[str, str, str]:
        async with group as g:
            named = g.spawn(child(), name="worker")
            with pytest.raises(LoopError) as twice:
                await group.__aenter__()
            errors: list[BaseException] = []
            thread = threading.Thread(target=lambda: _catch(g.cancel, errors))
            thread.start()
            thread.join()
        return named.name, str(twice.value), str(errors[0])

    name, twice, foreign = _run(main())
    assert name == "worker"
    assert twice.endswith(" cannot be entered twice")
    assert "<refloop.TaskGroup children=1 running=1>.cancel()" in foreign


def _catch(call: Any, errors: list[BaseException]) -> None:
    try:
        call()
    except BaseException as err:
        errors.append(err)


@pytest.mark.spec("cancel.scope.group-cancel")
def test_every_cancellation_a_group_makes_carries_the_group() -> None:
    """cancel(), a child spawned after it, a failing child and a failing
    body: each child's Cancelled, and the body's, name the group."""
    scopes: list[tuple[str, object]] = []

    async def child(name: str) -> None:
        try:
            await sleep_forever()
        except Cancelled as err:
            scopes.append((name, err.scope))
            raise

    async def failing() -> None:
        raise ValueError("child failed")

    async def main() -> list[object]:
        groups: list[object] = []
        async with TaskGroup() as g:
            groups.append(g)
            g.spawn(child("before cancel"))
            await yield_now()
            g.cancel()
            g.spawn(child("after cancel"))
        with pytest.raises(BaseExceptionGroup) as failed:
            async with TaskGroup() as g:
                groups.append(g)
                g.spawn(child("sibling of a failure"))
                g.spawn(failing())
                try:
                    await sleep_forever()
                except Cancelled as err:
                    scopes.append(("body", err.scope))
                    raise
        assert failed.value.message == "a task group's children failed"
        with pytest.raises(ValueError):
            async with TaskGroup() as g:
                groups.append(g)
                g.spawn(child("child of a failing body"))
                await yield_now()
                raise ValueError("body failed")
        return groups

    first, second, third = _run(main())
    assert scopes == [
        ("before cancel", first),
        ("after cancel", first),
        ("sibling of a failure", second),
        ("body", second),
        ("child of a failing body", third),
    ]


@pytest.mark.spec("cancel.scope.group")
def test_a_group_cancelled_from_outside_cancels_its_children_and_reraises() -> None:
    """While the body waits, and while the group's exit waits for its
    children: the children are cancelled by the group, and the outer
    Cancelled goes on out of the block."""
    seen: list[tuple[str, object]] = []

    async def child(name: str) -> None:
        try:
            await sleep_forever()
        except Cancelled as err:
            seen.append((name, err.scope))
            raise

    async def in_body(groups: list[TaskGroup]) -> None:
        async with TaskGroup() as g:
            groups.append(g)
            g.spawn(child("body waits"))
            await sleep_forever()

    async def in_exit(groups: list[TaskGroup]) -> None:
        async with TaskGroup() as g:
            groups.append(g)
            g.spawn(child("exit waits"))

    async def main() -> tuple[list[TaskGroup], list[bool]]:
        groups: list[TaskGroup] = []
        tasks = [refloop.spawn(in_body(groups)), refloop.spawn(in_exit(groups))]
        for _ in range(3):
            await yield_now()
        outer = object()
        for task in tasks:
            task.cancel(scope=outer)
        ends = []
        for task in tasks:
            try:
                await task.join()
            except Cancelled as err:
                ends.append(err.scope is outer)
        return groups, ends

    (body, exit_), ends = _run(main())
    assert ends == [True, True]
    assert sorted(seen, key=lambda pair: pair[0]) == [
        ("body waits", body),
        ("exit waits", exit_),
    ]


@pytest.mark.spec("cancel.scope.group-cancel", "cancel.merge")
def test_a_group_cancelled_with_nothing_to_wait_for_drops_its_request() -> None:
    """`cancel()` in a body that never awaits after it, with no children:
    the request the group made of its owner was never delivered, and the
    group's exit drops it with the group's scope. The owner goes on."""

    async def main() -> str:
        async with TaskGroup() as g:
            g.cancel()
        await sleep(0)
        return "went on"

    assert _run(main()) == "went on"


@pytest.mark.spec("cancel.scope.group-cancel")
def test_a_second_group_cancel_does_not_cancel_the_childrens_cleanup_again() -> None:
    """A child catches the group's Cancelled and waits in its cleanup; a
    second `cancel()` of the same group (from a timer callback, outside any
    task) does nothing, so the cleanup finishes."""
    seen: list[str] = []

    async def child() -> None:
        try:
            await sleep_forever()
        except Cancelled:
            # The cleanup: its deadline is after the second cancel()'s,
            # however late the first came.
            await sleep(0.05)
            seen.append("cleanup finished")
            raise

    async def main() -> None:
        loop = refloop.current_loop()
        async with TaskGroup() as g:
            g.spawn(child())
            loop.call_later(0.001, g.cancel)
            loop.call_later(0.01, g.cancel)
            await sleep_forever()

    _run(main())
    assert seen == ["cleanup finished"]
