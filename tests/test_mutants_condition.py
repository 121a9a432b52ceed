"""Condition, as mutation testing found it under-tested (docs/mutation.md,
refloop/_condition.py): the refusals word for word (the condition, the
call, the fix), notify's count, wait_for's value, the lock it is given or
makes, and the repr."""

from __future__ import annotations

import pytest

import refloop
from refloop import Cancelled, Condition, Lock, LoopError, move_on_after


@pytest.mark.spec("sync.cond.hold")
def test_a_condition_needs_a_lock_and_says_so() -> None:
    with pytest.raises(TypeError) as bad:
        Condition(42)  # type: ignore[arg-type]
    assert str(bad.value) == "Condition() needs a refloop.Lock, got 42"
    lock = Lock()
    assert Condition(lock).lock is lock
    assert isinstance(Condition().lock, Lock)
    assert Condition().lock is not Condition().lock
    cond = Condition()
    assert repr(cond) == "<refloop.Condition <refloop.Lock unlocked> waiters=0>"


@pytest.mark.spec("sync.cond.hold")
def test_every_call_without_the_lock_is_refused_word_for_word() -> None:
    async def main() -> list[str]:
        cond = Condition()
        said: list[str] = []
        for call in (cond.wait, cond.notify, cond.notify_all):
            try:
                result = call()
                if result is not None:
                    await result
            except LoopError as err:
                said.append(str(err))
        assert not cond.locked()
        return said

    name = "<refloop.Condition <refloop.Lock unlocked> waiters=0>"
    fix = "needs its lock held by the calling task: `async with cond:` first"
    assert refloop.run(main()) == [
        f"{name}: wait() {fix}",
        f"{name}: notify() {fix}",
        f"{name}: notify() {fix}",
    ]


@pytest.mark.spec("sync.cond.hold")
def test_the_lock_held_by_another_task_is_not_enough() -> None:
    async def main() -> str:
        cond = Condition()

        async def holder() -> None:
            async with cond:
                await refloop.sleep(0.05)

        t = refloop.spawn(holder())
        await refloop.yield_now()
        try:
            cond.notify()
        except LoopError as err:
            await t.join()
            return str(err)
        return "accepted"

    assert "notify() needs its lock held by the calling task" in refloop.run(main())


@pytest.mark.spec("sync.cond.notify")
def test_notify_wakes_exactly_n_in_order_and_refuses_a_bad_count() -> None:
    async def main() -> tuple[list[int], list[str], str]:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        tasks = [refloop.spawn(waiter(i)) for i in range(4)]
        await refloop.sleep(0.01)
        errors: list[str] = []
        async with cond:
            assert repr(cond).endswith("waiters=4>")
            for bad in (-1, 1.0, True):
                try:
                    cond.notify(bad)  # type: ignore[arg-type]
                except ValueError as err:
                    errors.append(str(err))
            cond.notify(0)
            cond.notify()
            cond.notify(2)
            state = repr(cond)
        await refloop.sleep(0.01)
        first = list(woken)
        async with cond:
            cond.notify(10)
        for t in tasks:
            await t.join()
        return first, errors, state

    first, errors, state = refloop.run(main())
    assert first == [0, 1, 2]
    assert errors[0] == (
        "<refloop.Condition <refloop.Lock held by task 0 waiters=0> waiters=4>: "
        "notify() needs a count of 0 or more, got -1"
    )
    assert errors[1].endswith("notify() needs a count of 0 or more, got 1.0")
    assert errors[2].endswith("notify() needs a count of 0 or more, got True")
    assert state.endswith("waiters=1>")


@pytest.mark.spec("sync.cond.notify")
def test_notify_all_wakes_every_waiter() -> None:
    async def main() -> list[int]:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        tasks = [refloop.spawn(waiter(i)) for i in range(3)]
        await refloop.sleep(0.01)
        async with cond:
            cond.notify_all()
        for t in tasks:
            await t.join()
        return woken

    assert refloop.run(main()) == [0, 1, 2]


@pytest.mark.spec("sync.cond.wait")
def test_wait_for_returns_the_predicates_true_value() -> None:
    async def main() -> tuple[object, int]:
        cond = Condition()
        box: list[int] = []
        calls = 0

        def ready() -> object:
            nonlocal calls
            calls += 1
            return box[-1] if box and box[-1] > 1 else 0

        async def producer() -> None:
            for i in range(1, 4):
                async with cond:
                    box.append(i)
                    cond.notify()
                await refloop.yield_now()

        async with cond:
            t = refloop.spawn(producer())
            value = await cond.wait_for(ready)
        await t.join()
        return value, calls

    value, calls = refloop.run(main())
    assert value == 2 and calls == 3


@pytest.mark.spec("sync.cond.notified-wins", "sync.cond.wait")
def test_a_waiter_cancelled_while_it_retakes_the_lock_keeps_the_cancel() -> None:
    """Notified, then cancelled twice while it waits for the lock: wait()
    returns holding the lock; the first cancellation is raised at the next
    suspension."""

    async def main() -> list[str]:
        cond = Condition()
        log: list[str] = []

        async def waiter() -> None:
            async with cond:
                await cond.wait()
                log.append(f"returned holding={cond.locked()}")
                try:
                    await refloop.yield_now()
                except Cancelled:
                    log.append("cancelled at the next suspension")
                    raise

        t = refloop.spawn(waiter())
        await refloop.sleep(0.01)
        async with cond:
            cond.notify()
            await refloop.yield_now()
            t.cancel()
            await refloop.yield_now()
            t.cancel()
            await refloop.yield_now()
        await refloop.sleep(0.01)
        assert t.cancelled()
        return log

    assert refloop.run(main()) == [
        "returned holding=True",
        "cancelled at the next suspension",
    ]


@pytest.mark.spec("sync.bind", "sync.cond.hold")
def test_a_condition_used_where_no_loop_runs_names_the_call() -> None:
    cond = Condition()
    with pytest.raises(LoopError) as outside:
        cond.notify()
    assert str(outside.value) == (
        f"{cond!r}: notify() was called where no refloop loop runs (another "
        "thread, or outside the loop); call it from a task or a callback of "
        "its loop, or hand it over with loop.call_soon_threadsafe()"
    )


@pytest.mark.spec("sync.cond.notified-wins", "cancel.scope.timeout")
def test_a_timeout_that_fires_while_a_notified_waiter_retakes_the_lock() -> None:
    """The late cancellation is made again for the timeout that asked, so
    the timeout's block absorbs it and the task goes on."""

    async def main() -> list[str]:
        cond = Condition()
        log: list[str] = []

        async def waiter() -> None:
            async with cond:
                with move_on_after(0.05) as block:
                    await cond.wait()
                    log.append("notified")
                    await refloop.yield_now()
                    log.append("not reached")
                log.append(f"block ended, timed out={block.fired}")

        t = refloop.spawn(waiter())
        await refloop.sleep(0.01)
        async with cond:
            cond.notify()
            await refloop.sleep(0.15)  # the timeout fires meanwhile
        await t.join()
        return log

    assert refloop.run(main()) == ["notified", "block ended, timed out=True"]


@pytest.mark.spec("sync.cond.wait", "cancel.scope.timeout")
def test_an_outer_timeout_that_fires_while_a_cancelled_waiter_retakes_the_lock() -> (
    None
):
    """The inner timeout ends the wait; the outer fires while the waiter
    waits for the lock again: the inner block absorbs its own, the outer's
    is raised at the next suspension and the outer block absorbs it."""

    async def main() -> list[str]:
        cond = Condition()
        log: list[str] = []

        async def waiter() -> None:
            async with cond:
                with move_on_after(0.05) as outer:
                    with move_on_after(0.01):
                        await cond.wait()
                    log.append("inner ended")
                    await refloop.yield_now()
                    log.append("not reached")
                log.append(f"outer ended, timed out={outer.fired}")

        t = refloop.spawn(waiter())
        await refloop.sleep(0.005)
        async with cond:
            await refloop.sleep(0.15)  # both timeouts fire meanwhile
        await t.join()
        return log

    assert refloop.run(main()) == ["inner ended", "outer ended, timed out=True"]
