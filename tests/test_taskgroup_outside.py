"""A task group cancelled from outside, at any point of its life (spec:
cancel.scope.group, cancel.scope.group-cancel, thread.refused-unchanged):
generated children that sleep, wait on a socket, fail, or catch the
cancellation and clean up slowly; the cancel comes from code outside the
tasks between iterations, as `owner.cancel()` or `group.cancel()`, after
another thread's `group.cancel()` was refused. Whatever the schedule, the
group waits for every child, raises what the spec says, and leaves nothing
registered in the loop.

The model has no task groups (issue #14): this generator checks them
against the spec's statements rather than against a model."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import refloop
from refloop import Cancelled, LoopError, TaskGroup, VirtualClock
from refloop._loop import Loop
from refloop.testing.bound import bounded

# What a child does: sleep (ticks), wait on a socket nobody writes to, fail
# after a yield, catch its Cancelled and clean up for some ticks, or ignore
# every cancellation (only the loop's close ends it).
CHILD = st.one_of(
    st.tuples(st.just("sleep"), st.integers(0, 3)),
    st.tuples(st.just("recv"), st.just(0)),
    st.tuples(st.just("fail"), st.just(0)),
    st.tuples(st.just("stubborn"), st.integers(0, 2)),
    st.tuples(st.just("deaf"), st.just(0)),
)


class Boom(Exception):
    pass


async def child(spec: tuple[str, int], sock: socket.socket) -> str:
    kind, ticks = spec
    if kind == "sleep":
        await refloop.sleep(ticks)
    elif kind == "recv":
        await refloop.recv(sock, 1)
    elif kind == "fail":
        await refloop.yield_now()
        raise Boom(spec)
    elif kind == "deaf":
        while True:
            with contextlib.suppress(Cancelled):
                await refloop.sleep(100)
    else:
        try:
            await refloop.sleep(100)
        except Cancelled:
            await refloop.sleep(ticks)  # a cleanup that awaits
    return kind


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(CHILD, min_size=0, max_size=4),
    owner_ticks=st.integers(0, 4),
    before=st.lists(st.integers(0, 1), max_size=5),
    how=st.sampled_from(["owner", "group"]),
)
@pytest.mark.spec(
    "cancel.scope.group", "cancel.scope.group-cancel", "thread.refused-unchanged"
)
def test_a_group_cancelled_from_outside_waits_for_its_children_and_leaves_nothing(
    specs: list[tuple[str, int]], owner_ticks: int, before: list[int], how: str
) -> None:
    clock = VirtualClock()
    reported: list[object] = []
    loop = Loop(clock=clock, report=reported.append)
    pairs = [socket.socketpair() for _ in specs]
    for a, _ in pairs:
        a.setblocking(False)
    groups: list[TaskGroup] = []
    children: list[refloop.Task[Any]] = []
    seen: dict[str, Any] = {}

    async def owner() -> None:
        try:
            async with TaskGroup() as g:
                groups.append(g)
                for spec, (a, _) in zip(specs, pairs, strict=True):
                    children.append(g.spawn(child(spec, a)))
                await refloop.sleep(owner_ticks)
            seen["ended"] = "quietly"
        except Cancelled:
            seen["ended"] = "cancelled"
        except BaseExceptionGroup as group:
            seen["ended"] = "group"
            seen["errors"] = [type(e) for e in group.exceptions]
        seen["all done"] = all(c.done() for c in children)

    try:
        task = loop.spawn(owner())
        loop.run_once(0)
        for ticks in before:
            if task.done():
                break
            clock.advance(ticks)
            loop.run_once(0)
        failed_before = [
            c for c in children if c.done() and isinstance(c.exception(), Boom)
        ]
        if not task.done():
            # Another thread's group.cancel() is refused and changes nothing.
            snapshot = loop.snapshot()
            refused: list[BaseException] = []

            def foreign() -> None:
                try:
                    groups[0].cancel()
                except LoopError as error:
                    refused.append(error)

            thread = threading.Thread(target=foreign)
            thread.start()
            thread.join()
            assert len(refused) == 1 and "cancel()" in str(refused[0])
            assert loop.snapshot() == snapshot
            # Then the cancel from outside the tasks, between iterations.
            if how == "owner":
                task.cancel()
            else:
                groups[0].cancel()
        for _ in range(60):
            if task.done():
                break
            clock.advance(1)
            loop.run_once(0)
        if any(spec[0] == "deaf" for spec in specs) and not task.done():
            # Only closing the loop ends a group that waits for a child that
            # ignores its cancellation; the close must return.
            with bounded():
                loop.close()
            assert task.done() and all(c.done() for c in children)
            assert "ended" not in seen  # the block never ended normally
            return
        assert task.done(), f"the group never ended: {loop.snapshot()!r}"
        assert seen["all done"], "the group's block ended before its children"
        failures = [c for c in children if isinstance(c.exception(), Boom)]
        if failures:
            assert seen["ended"] == "group"
            assert seen["errors"] == [Boom] * len(failures)
        elif failed_before:
            raise AssertionError("a failure before the cancel was lost")
        elif how == "owner" and seen["ended"] != "quietly":
            assert seen["ended"] == "cancelled"
        else:
            # group.cancel() is absorbed by the group's exit; a group that
            # had already ended before the cancel ended quietly too.
            assert seen["ended"] == "quietly"
        for c, spec in zip(children, specs, strict=True):
            if spec[0] in ("recv",):
                assert c.cancelled() or isinstance(c.exception(), Boom)
        snap = loop.snapshot()
        assert loop.tasks() == []
        assert not snap.waiters and not snap.timers and not snap.run_queue
        assert reported == [], "a child's failure was reported as unobserved"
    finally:
        loop.close()
        for a, b in pairs:
            a.close()
            b.close()


@pytest.mark.spec("cancel.scope.group", "loop.close")
def test_close_ends_a_group_waiting_for_a_child_that_ignores_cancellation() -> None:
    # Found by the generator above: the group's wait caught the close's
    # GeneratorExit (and then the closed loop's LoopError) and went on
    # waiting, so close() never returned.
    cleaned: list[str] = []

    async def deaf() -> None:
        try:
            while True:
                with contextlib.suppress(Cancelled):
                    await refloop.sleep(100)
        finally:
            cleaned.append("child")

    async def owner() -> None:
        try:
            async with TaskGroup() as g:
                g.spawn(deaf())
        finally:
            cleaned.append("owner")

    loop = Loop()
    task = loop.spawn(owner())
    loop.run_once(0)
    assert len(loop.shutdown(0)) == 2  # neither ends within the grace
    with bounded():
        loop.close()
    assert task.done() and sorted(cleaned) == ["child", "owner"]
    assert loop.snapshot().waiters == () and loop.snapshot().timers == ()
