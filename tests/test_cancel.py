"""Cancellation, timeouts and task groups on the real loop."""

from __future__ import annotations

import socket

import pytest

import refloop
from refloop import (
    Cancelled,
    Loop,
    TaskGroup,
    VirtualClock,
    model,
    move_on_after,
    timeout,
)


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    return a, b


@pytest.mark.spec("cancel.waiting", "cancel.finished")
def test_cancel_removes_each_kind_of_registration() -> None:
    loop = Loop(clock=VirtualClock())
    a, b = _pair()

    async def reader() -> bytes:
        return await refloop.recv(a, 1)

    async def sleeper() -> None:
        await refloop.sleep(9)

    r = loop.spawn(reader())
    s = loop.spawn(sleeper())

    async def joiner() -> None:
        await s.join()

    j = loop.spawn(joiner())
    loop.run_once(timeout=0)
    assert len(loop.waiters()) == 1 and len(loop.timers()) == 1
    assert loop.snapshot().joins == (refloop.JoinView(s.tid, j),)
    assert r.cancel() and j.cancel()
    assert loop.waiters() == [] and loop.snapshot().joins == ()
    assert s.cancel()
    assert loop.timers() == []
    loop.run_once(timeout=0)
    assert r.cancelled() and s.cancelled() and j.cancelled()
    assert r.cancel() is False
    a.close()
    b.close()


@pytest.mark.spec("cancel.runnable", "cancel.catch", "cancel.not-reported")
def test_a_runnable_task_is_cancelled_at_its_next_suspension_and_may_go_on() -> None:
    reported: list[object] = []
    loop = Loop(report=reported.append)
    steps: list[str] = []

    async def stubborn() -> str:
        steps.append("started")
        try:
            await refloop.yield_now()
        except Cancelled:
            steps.append("caught")
        await refloop.yield_now()
        return "went on"

    async def quitter() -> None:
        await refloop.yield_now()

    t = loop.spawn(stubborn())
    q = loop.spawn(quitter())
    assert t.cancel() and t.cancel()
    assert q.cancel()
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)
    assert steps == ["started", "caught"]
    assert t.result() == "went on"
    assert q.cancelled()
    assert reported == []


@pytest.mark.spec("cancel.scope.timeout", "cancel.scope.nested")
def test_timeouts_fire_nest_and_report() -> None:
    async def main() -> list[object]:
        seen: list[object] = []
        with move_on_after(0.005) as quiet:
            await refloop.sleep(5)
        seen.append(quiet.fired)
        with pytest.raises(TimeoutError), timeout(0.005) as outer, timeout(5) as inner:
            await refloop.sleep(5)
        seen.extend([outer.fired, inner.fired])
        with timeout(5) as spare:
            await refloop.sleep(0)
        seen.append(spare.fired)
        return seen

    assert refloop.run(main()) == [True, True, False, False]


@pytest.mark.spec("cancel.merge", "cancel.scope.nested")
def test_a_plain_cancel_survives_the_tasks_own_timeout_firing_before_it_runs() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    log: list[object] = []

    async def worker() -> None:
        with move_on_after(1) as scope:
            await refloop.yield_now()  # queued here when both requests come
            await refloop.yield_now()  # the surviving request is raised here
        log.append(("went on", scope.fired))

    task = loop.spawn(worker())
    loop.run_once(0)
    assert task.cancel()
    clock.advance(1)
    loop.run_once(0)  # the scope's timer fires, then the worker runs
    loop.run_once(0)
    assert task.cancelled() and log == []
    assert loop.tasks() == [] and loop.timers() == []


@pytest.mark.spec("cancel.merge", "cancel.scope.nested")
def test_an_outer_scope_that_fired_first_is_not_absorbed_by_an_inner_one() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    log: list[object] = []

    async def worker() -> None:
        with move_on_after(1) as outer:
            with move_on_after(2) as inner:
                await refloop.yield_now()
                await refloop.yield_now()
            log.append("inner absorbed it")
        log.append(("after", outer.fired, inner.fired))

    task = loop.spawn(worker())
    loop.run_once(0)
    clock.advance(2)  # both timers are due; the outer one fires first
    loop.run_once(0)
    loop.run_once(0)
    assert task.done() and not task.cancelled()
    assert log == [("after", True, True)]


@pytest.mark.spec("cancel.merge")
def test_a_narrower_request_after_a_wider_one_is_merged_into_it() -> None:
    loop = Loop(clock=VirtualClock())

    async def worker() -> None:
        with move_on_after(5) as scope:
            await refloop.yield_now()
            await refloop.yield_now()
        assert scope.fired is False

    task = loop.spawn(worker())
    loop.run_once(0)
    assert task.cancel() and task.cancel()
    pending = task._cancel
    assert pending is not None and pending.scope is None
    loop.run_once(0)
    assert task.cancelled()


@pytest.mark.spec("cancel.finished")
def test_a_request_that_comes_after_the_last_suspension_goes_with_the_task() -> None:
    loop = Loop()

    async def last_yield() -> str:
        await refloop.yield_now()
        return "done"

    task = loop.spawn(last_yield())
    loop.run_once(0)
    assert task.cancel()  # queued after its last suspension
    loop.run_once(0)
    assert task.result() == "done" and task._cancel is None
    # The model agrees: the finished task keeps no pending request.
    s, _ = model.spawn(model.initial(()), (model.YieldNow(),))
    s, _ = model.run_once(s)
    s, _ = model.run_once(model.cancel(s, 0))
    assert s.tasks[0].state == model.DONE and not s.tasks[0].cancelling


@pytest.mark.spec("cancel.scope.timeout")
def test_timeout_rejects_bad_seconds() -> None:
    with pytest.raises(ValueError, match="finite"):
        timeout(float("nan"))


@pytest.mark.spec("cancel.scope.group")
def test_a_failing_child_cancels_its_siblings_and_the_block() -> None:
    reported: list[object] = []

    async def boom() -> None:
        await refloop.sleep(0.001)
        raise ValueError("boom")

    async def main() -> tuple[bool, bool]:
        with pytest.raises(ExceptionGroup) as caught:
            async with TaskGroup() as g:
                g.spawn(boom())
                slow = g.spawn(refloop.sleep(10))
                await refloop.sleep(10)
        (error,) = caught.value.exceptions
        assert isinstance(error, ValueError)
        return slow.cancelled(), refloop.current_task().cancelled()

    loop = Loop(report=reported.append)
    try:
        assert loop.run(main()) == (True, False)
    finally:
        loop.close()
    assert reported == []


@pytest.mark.spec("cancel.scope.group")
def test_a_group_waits_for_its_children() -> None:
    async def child(n: int) -> int:
        await refloop.sleep(0.001 * n)
        return n

    async def main() -> list[int]:
        async with TaskGroup() as g:
            tasks = [g.spawn(child(n)) for n in (3, 1, 2)]
        return [t.result() for t in tasks]

    assert refloop.run(main()) == [3, 1, 2]
