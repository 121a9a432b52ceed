"""Random schedules of tasks using a Lock, a Channel and an Event, with
cancellations between iterations; the properties hold for the real
primitives, and each broken primitive of refloop.testing.broken_sync is
caught with a small schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import refloop
from refloop import Channel, ChannelClosed, EndOfChannel, Event, Lock, Loop
from refloop.testing.broken_sync import BROKEN_PRIMITIVES, LateEvent, LossyChannel

# A task: (iterations before it starts, yields while it works, iteration at
# which it is cancelled or None).
TaskPlan = tuple[int, int, int | None]
task_plans = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.none() | st.integers(0, 8)),
    min_size=1,
    max_size=5,
)
ROUNDS = 40


def _pause(n: int) -> Any:
    async def pause() -> None:
        for _ in range(n):
            await refloop.yield_now()

    return pause()


def _drive(
    loop: Loop, tasks: list[refloop.Task[Any]], cancels: list[int | None]
) -> None:
    for i in range(ROUNDS):
        for task, at in zip(tasks, cancels, strict=True):
            if at == i:
                task.cancel()
        loop.run_once(timeout=0)


def lock_problems(factory: Callable[[], Lock], plan: list[TaskPlan]) -> list[str]:
    """Mutual exclusion, and every task ends (served or cancelled)."""
    loop = Loop()
    lock = factory()
    inside: list[int] = []
    problems: list[str] = []

    async def user(i: int, start: int, hold: int) -> None:
        await _pause(start)
        async with lock:
            inside.append(i)
            if len(inside) > 1:
                problems.append(f"two holders: {inside}")
            try:
                await _pause(hold)
            finally:
                inside.remove(i)

    tasks = [loop.spawn(user(i, s, h)) for i, (s, h, _) in enumerate(plan)]
    _drive(loop, tasks, [c for _, _, c in plan])
    if not all(t.done() for t in tasks):
        problems.append("a task never finished")
    loop.close()
    return problems


def channel_problems(
    factory: Callable[[int], Channel[int]], capacity: int, plan: list[TaskPlan]
) -> list[str]:
    """Half the plans send, half receive; every item whose send returned is
    received exactly once, and no other item is."""
    loop = Loop()
    ch = factory(capacity)
    sent: list[int] = []
    got: list[int] = []

    async def sender(i: int, start: int, n: int) -> None:
        await _pause(start)
        for j in range(n + 1):
            try:
                await ch.send(10 * i + j)
            except ChannelClosed:
                return
            sent.append(10 * i + j)

    async def receiver(start: int) -> None:
        await _pause(start)
        while True:
            try:
                got.append(await ch.recv())
            except EndOfChannel:
                return

    tasks = [
        loop.spawn(sender(i, s, n) if i % 2 == 0 else receiver(s))
        for i, (s, n, _) in enumerate(plan)
    ]
    _drive(loop, tasks, [c for _, _, c in plan])

    async def drain() -> None:
        ch.close()
        while True:
            try:
                got.append(await ch.recv())
            except EndOfChannel:
                return

    loop.spawn(drain())
    for _ in range(5):
        loop.run_once(timeout=0)
    loop.close()
    if sorted(got) != sorted(sent):
        return [f"sent {sorted(sent)} but received {sorted(got)}"]
    return []


def event_problems(factory: Callable[[], Event], plan: list[TaskPlan]) -> list[str]:
    """The first plan sets, the others wait; every waiter not cancelled ends."""
    loop = Loop()
    ev = factory()

    async def setter(start: int) -> None:
        await _pause(start)
        ev.set()

    async def waiter(start: int) -> None:
        await _pause(start)
        await ev.wait()

    tasks = [
        loop.spawn(setter(s) if i == 0 else waiter(s))
        for i, (s, _, _) in enumerate(plan)
    ]
    cancels: list[int | None] = [None] + [c for _, _, c in plan[1:]]
    _drive(loop, tasks, cancels)
    stuck = [t for t in tasks if not t.done()]
    loop.close()
    return [f"waiters never woken: {stuck}"] if stuck else []


@pytest.mark.spec("sync.lock.handoff", "sync.cancel-waiting")
@settings(max_examples=150)
@given(task_plans)
def test_the_lock_excludes_and_serves_everyone(plan: list[TaskPlan]) -> None:
    assert lock_problems(Lock, plan) == []


@pytest.mark.spec("chan.cancel", "chan.close")
@settings(max_examples=150)
@given(st.integers(0, 2), task_plans)
def test_the_channel_loses_and_duplicates_nothing(
    capacity: int, plan: list[TaskPlan]
) -> None:
    assert channel_problems(Channel, capacity, plan) == []


@pytest.mark.spec("sync.event.wait", "sync.event.set")
@settings(max_examples=150)
@given(task_plans)
def test_every_event_waiter_is_woken(plan: list[TaskPlan]) -> None:
    assert event_problems(Event, plan) == []


HUNT = settings(max_examples=2000, database=None, derandomize=True)


@pytest.mark.spec("sync.lock.handoff")
def test_a_lock_that_wakes_two_waiters_is_caught() -> None:
    plan = find(
        task_plans,
        lambda p: bool(lock_problems(BROKEN_PRIMITIVES["TwoWakeLock"], p)),
        settings=HUNT,
    )
    assert len(plan) == 3  # a holder and two waiters


@pytest.mark.spec("chan.cancel")
def test_a_channel_that_loses_a_cancelled_receivers_item_is_caught() -> None:
    found = find(
        st.tuples(st.integers(0, 2), task_plans),
        lambda cp: bool(channel_problems(LossyChannel, *cp)),
        settings=HUNT,
    )
    assert len(found[1]) <= 4  # a sender, a receiver cancelled after the hand-off


@pytest.mark.spec("sync.event.wait")
def test_an_event_that_misses_a_waiter_arriving_during_set_is_caught() -> None:
    plan = find(
        task_plans,
        lambda p: bool(event_problems(LateEvent, p)),
        settings=HUNT,
    )
    assert len(plan) == 2  # the setter, and a waiter in its iteration
    assert plan[0][0] == plan[1][0]


def test_every_broken_primitive_is_hunted() -> None:
    assert set(BROKEN_PRIMITIVES) == {"TwoWakeLock", "LossyChannel", "LateEvent"}
