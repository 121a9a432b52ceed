"""A KeyboardInterrupt or SystemExit in a task group: a failure that cancels
the rest, raised by the group's exit as it is, the first of them, not in an
exception group (spec: cancel.scope.group-interrupt)."""

from __future__ import annotations

from typing import Any

import pytest

import refloop
from refloop import Loop, TaskGroup, yield_now


class Boom(Exception):
    pass


async def _raise_after(err: BaseException, turns: int = 1) -> None:
    for _ in range(turns):
        await yield_now()
    raise err


def _drive(loop: Loop, escaped: list[BaseException]) -> None:
    """Iterations until nothing is runnable; what ended one is kept."""
    for _ in range(100):
        if not loop.runnable():
            return
        try:
            loop.run_once(0)
        except (KeyboardInterrupt, SystemExit) as err:
            escaped.append(err)
    raise AssertionError("the loop did not settle")


def _outcome(body: Any) -> tuple[BaseException | None, list[BaseException]]:
    """What `async with` raised in `body(g)`, and what ended iterations."""
    seen: list[BaseException | None] = []
    escaped: list[BaseException] = []
    loop = Loop()

    async def main() -> None:
        try:
            async with TaskGroup() as g:
                await body(g)
        except BaseException as err:
            seen.append(err)
        else:
            seen.append(None)

    loop.spawn(main())
    try:
        _drive(loop, escaped)
    finally:
        loop.close()
    assert len(seen) == 1, "the block did not end"
    return seen[0], escaped


@pytest.mark.spec("cancel.scope.group-interrupt", "task.finish")
@pytest.mark.parametrize("kind", [KeyboardInterrupt, SystemExit])
def test_a_child_s_interrupt_is_raised_as_it_is_and_cancels_the_rest(
    kind: type[BaseException],
) -> None:
    ended: list[str] = []
    interrupt = kind()

    async def sibling() -> None:
        try:
            await refloop.sleep_forever()
        finally:
            ended.append("sibling")

    async def body(g: TaskGroup) -> None:
        g.spawn(sibling())
        child = g.spawn(_raise_after(interrupt))
        try:
            await refloop.sleep_forever()
        finally:
            ended.append("block")
            assert child.exception() is interrupt  # the task failed with it

    raised, escaped = _outcome(body)
    assert raised is interrupt
    assert escaped == [interrupt]  # it ended that iteration (task.finish)
    assert sorted(ended) == ["block", "sibling"]


@pytest.mark.spec("cancel.scope.group-interrupt")
def test_an_interrupt_beside_other_failures_is_raised_alone() -> None:
    interrupt = KeyboardInterrupt()

    async def stop_when_cancelled() -> None:
        try:
            await refloop.sleep_forever()
        except refloop.Cancelled:
            raise interrupt from None

    async def body(g: TaskGroup) -> None:
        g.spawn(stop_when_cancelled())
        g.spawn(_raise_after(Boom("first")))
        await yield_now()
        raise Boom("block")

    raised, escaped = _outcome(body)
    assert raised is interrupt and escaped == [interrupt]


@pytest.mark.spec("cancel.scope.group-interrupt")
def test_the_first_interrupt_is_the_one_raised() -> None:
    first, second = SystemExit(1), KeyboardInterrupt()

    async def stubborn() -> None:
        try:
            await refloop.sleep_forever()
        except refloop.Cancelled:
            raise second from None

    async def body(g: TaskGroup) -> None:
        g.spawn(stubborn())
        g.spawn(_raise_after(first))
        await refloop.sleep_forever()

    raised, escaped = _outcome(body)
    assert raised is first
    assert escaped == [first, second]


@pytest.mark.spec("cancel.scope.group-interrupt")
def test_the_block_s_interrupt_is_raised_after_the_children_end() -> None:
    ended: list[str] = []

    async def child() -> None:
        try:
            await refloop.sleep_forever()
        finally:
            ended.append("child")

    async def body(g: TaskGroup) -> None:
        g.spawn(child())
        g.spawn(_raise_after(Boom("child failed"), turns=5))
        await yield_now()
        raise KeyboardInterrupt("block")

    raised, escaped = _outcome(body)
    assert isinstance(raised, KeyboardInterrupt) and raised.args == ("block",)
    assert escaped == [] and ended == ["child"]


@pytest.mark.spec("cancel.scope.group-interrupt", "loop.shutdown")
def test_refloop_run_lets_main_catch_a_child_s_interrupt_by_name() -> None:
    """The interrupt ends run()'s iteration; refloop.run's shutdown then
    cancels main, whose group raises the interrupt itself: an `except
    KeyboardInterrupt:` around `async with` sees it."""
    caught: list[str] = []

    async def main() -> None:
        try:
            async with TaskGroup() as g:
                g.spawn(_raise_after(KeyboardInterrupt()))
                await refloop.sleep_forever()
        except KeyboardInterrupt:
            caught.append("main")

    with pytest.raises(KeyboardInterrupt):
        refloop.run(main())
    assert caught == ["main"]
