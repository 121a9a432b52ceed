"""Event, Lock, Semaphore and Condition on the real loop (spec/11-sync.md)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import refloop
from refloop import (
    BoundedSemaphore,
    Cancelled,
    Condition,
    Event,
    Lock,
    Loop,
    LoopError,
    Semaphore,
    Task,
)


def _settle(loop: Loop, n: int = 10) -> None:
    for _ in range(n):
        loop.run_once(timeout=0)


def _in_task(loop: Loop, fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    task = loop.spawn(fn())
    _settle(loop)
    return task.result()


# ----------------------------------------------------------------- Event


@pytest.mark.spec("sync.event.set", "sync.event.wait", "sync.fifo")
def test_set_wakes_every_waiter_oldest_first_and_stays_set() -> None:
    loop = Loop()
    ev = Event()
    order: list[int] = []

    async def waiter(i: int) -> None:
        await ev.wait()
        order.append(i)

    for i in range(50):
        loop.spawn(waiter(i))
    _settle(loop, 2)
    assert order == [] and len(ev._waiters) == 50

    async def setter() -> None:
        ev.set()
        ev.set()  # a second set does nothing

    loop.spawn(setter())
    _settle(loop)
    assert order == list(range(50))
    assert ev.is_set() and not ev._waiters
    assert not hasattr(ev, "clear")


@pytest.mark.spec("sync.event.wait")
def test_a_waiter_arriving_in_the_setters_iteration_does_not_wait() -> None:
    loop = Loop()
    ev = Event()
    log: list[str] = []

    async def setter() -> None:
        ev.set()
        log.append("set")

    async def late() -> None:
        # Runs in the same iteration as setter, after it.
        await ev.wait()
        log.append("late went through")

    loop.spawn(setter())
    t = loop.spawn(late())
    loop.run_once(timeout=0)
    assert log == ["set", "late went through"] and t.done()


@pytest.mark.spec("sync.cancel-waiting")
def test_a_cancelled_event_waiter_leaves_nothing_behind() -> None:
    loop = Loop()
    ev = Event()

    async def waiter() -> None:
        await ev.wait()

    a, b = loop.spawn(waiter()), loop.spawn(waiter())
    _settle(loop, 1)
    assert a.cancel()
    assert list(ev._waiters) == [b._parked]
    _in_task(loop, _async(ev.set))
    assert a.cancelled() and b.state == "done"


def _async(fn: Callable[[], object]) -> Callable[[], Coroutine[Any, Any, object]]:
    async def call() -> object:
        return fn()

    return call


# ----------------------------------------------------------------- Lock


@pytest.mark.spec("sync.lock.handoff", "sync.fifo", "sync.lock.acquire")
def test_the_lock_is_handed_over_first_come_first_served_without_barging() -> None:
    loop = Loop()
    lock = Lock()
    order: list[int] = []

    async def user(i: int) -> None:
        async with lock:
            order.append(i)
            await refloop.yield_now()  # hold it across a suspension

    tasks = [loop.spawn(user(i)) for i in range(20)]
    loop.run_once(timeout=0)
    assert lock.owner is tasks[0] and len(lock._waiters) == 19
    # The holder releases; a newcomer in the same iteration must line up.
    barger_got: list[bool] = []

    async def barger() -> None:
        await lock.acquire()
        barger_got.append(True)
        lock.release()

    loop.run_once(timeout=0)  # task 0 releases: task 1 owns it before it runs
    assert lock.owner is tasks[1]
    loop.spawn(barger())
    _settle(loop, 60)
    assert order == list(range(20)) and barger_got == [True]
    assert not lock.locked() and not lock._waiters


@pytest.mark.spec("sync.lock.acquire")
def test_a_free_lock_is_taken_without_suspending() -> None:
    loop = Loop()
    lock = Lock()
    steps: list[str] = []

    async def quick() -> None:
        await lock.acquire()
        steps.append("held")
        lock.release()

    async def other() -> None:
        steps.append("other")

    loop.spawn(quick())
    loop.spawn(other())
    loop.run_once(timeout=0)
    assert steps == ["held", "other"]


@pytest.mark.spec("sync.lock.owner")
def test_bad_releases_and_reentry_are_refused_and_change_nothing() -> None:
    loop = Loop()
    lock = Lock()
    errors: list[str] = []

    async def holder() -> None:
        await lock.acquire()
        with pytest.raises(LoopError, match="not reentrant"):
            await lock.acquire()
        await refloop.yield_now()
        await refloop.yield_now()
        lock.release()

    async def thief() -> None:
        try:
            lock.release()
        except LoopError as err:
            errors.append(str(err))

    h = loop.spawn(holder())
    loop.spawn(thief())
    loop.run_once(timeout=0)
    assert lock.owner is h and "only the task that acquired" in errors[0]
    assert "held by <Task 0" in errors[0]
    _settle(loop)
    assert not lock.locked()

    async def unheld() -> None:
        lock.release()

    t = loop.spawn(unheld())
    _settle(loop, 1)
    assert isinstance(t.exception(), LoopError) and "not held" in str(t.exception())
    assert not lock.locked()


@pytest.mark.spec("sync.cancel-waiting", "sync.lock.handoff")
def test_a_cancelled_lock_waiter_is_skipped_and_the_lock_passes_on() -> None:
    loop = Loop()
    lock = Lock()
    got: list[int] = []

    async def user(i: int) -> None:
        async with lock:
            got.append(i)
            await refloop.yield_now()

    tasks = [loop.spawn(user(i)) for i in range(3)]
    loop.run_once(timeout=0)
    assert tasks[1].cancel()
    assert [k.task for k in lock._waiters] == [tasks[2]]
    _settle(loop)
    assert got == [0, 2] and tasks[1].cancelled() and not lock.locked()


@pytest.mark.spec("sync.cancel-waiting", "sync.lock.handoff")
def test_a_waiter_cancelled_after_the_handoff_holds_the_lock_and_releases_it() -> None:
    loop = Loop()
    lock = Lock()
    log: list[str] = []

    async def first() -> None:
        async with lock:
            await refloop.yield_now()

    async def second() -> None:
        try:
            async with lock:
                log.append("held")
                await refloop.yield_now()  # the cancellation is raised here
                log.append("not reached")
        except Cancelled:
            log.append(f"cancelled, locked={lock.locked()}")

    loop.spawn(first())
    s = loop.spawn(second())
    loop.run_once(timeout=0)
    loop.run_once(timeout=0)  # first releases: second owns the lock, runnable
    assert lock.owner is s and s.state == "runnable"
    assert s.cancel()
    _settle(loop)
    assert log == ["held", "cancelled, locked=False"]


@pytest.mark.spec("sync.bind")
def test_use_from_another_thread_or_loop_is_refused_and_changes_nothing() -> None:
    loop = Loop()
    lock = Lock()
    ev = Event()

    async def hold() -> None:
        await lock.acquire()

    h = loop.spawn(hold())
    _settle(loop, 1)
    errors: list[BaseException] = []

    def other_thread() -> None:
        for call in (lock.release, ev.set):
            try:
                call()
            except LoopError as err:
                errors.append(err)

    th = threading.Thread(target=other_thread)
    th.start()
    th.join()
    assert len(errors) == 2 and all("call_soon_threadsafe" in str(e) for e in errors)
    assert lock.owner is h and not ev.is_set()
    other = Loop()

    async def foreign() -> None:
        await lock.acquire()

    t = other.spawn(foreign())
    other.run_once(timeout=0)
    assert isinstance(t.exception(), LoopError)
    assert "make one per loop" in str(t.exception()) and lock.owner is h
    other.close()
    loop.close()


# ----------------------------------------------------------------- Semaphore


@pytest.mark.spec("sync.sem.value")
@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (1.0, TypeError), (True, TypeError)]
)
def test_a_bad_semaphore_value_is_refused(value: object, error: type) -> None:
    for cls in (Semaphore, BoundedSemaphore):
        with pytest.raises(error, match="value"):
            cls(value)  # type: ignore[arg-type]


@pytest.mark.spec("sync.sem.handoff", "sync.sem.value", "sync.fifo")
def test_a_semaphore_admits_value_tasks_and_hands_units_over_in_order() -> None:
    loop = Loop()
    sem = Semaphore(2)
    inside: list[int] = []
    peak: list[int] = []
    order: list[int] = []

    async def user(i: int) -> None:
        async with sem:
            order.append(i)
            inside.append(i)
            peak.append(len(inside))
            await refloop.yield_now()
            inside.remove(i)

    for i in range(30):
        loop.spawn(user(i))
    loop.run_once(timeout=0)
    assert sem.value == 0 and len(sem._waiters) == 28
    _settle(loop, 40)
    assert order == list(range(30)) and max(peak) == 2 and sem.value == 2


@pytest.mark.spec("sync.sem.value")
def test_a_zero_semaphore_waits_for_a_release() -> None:
    loop = Loop()
    sem = Semaphore(0)
    log: list[str] = []

    async def waiter() -> None:
        await sem.acquire()
        log.append("in")

    loop.spawn(waiter())
    _settle(loop, 2)
    assert log == []
    _in_task(loop, _async(sem.release))
    assert log == ["in"] and sem.value == 0


@pytest.mark.spec("sync.sem.bounded")
def test_a_bounded_semaphore_refuses_one_release_too_many() -> None:
    loop = Loop()
    sem = BoundedSemaphore(1)

    async def main() -> None:
        async with sem:
            pass
        with pytest.raises(ValueError, match="released more often than acquired"):
            sem.release()
        assert sem.value == 1

    _in_task(loop, main)
    plain = Semaphore(1)
    _in_task(loop, _async(plain.release))
    assert plain.value == 2


# ----------------------------------------------------------------- Condition


@pytest.mark.spec("sync.cond.hold")
def test_condition_calls_without_the_lock_are_refused() -> None:
    loop = Loop()
    cond = Condition()

    async def main() -> None:
        with pytest.raises(LoopError, match="async with cond"):
            cond.notify()
        with pytest.raises(LoopError, match="async with cond"):
            await cond.wait()
        assert not cond.locked()

    _in_task(loop, main)
    with pytest.raises(TypeError, match=r"refloop\.Lock"):
        Condition(threading.Lock())  # type: ignore[arg-type]


@pytest.mark.spec("sync.cond.wait", "sync.cond.notify", "sync.fifo")
def test_notify_wakes_the_oldest_waiters_which_retake_the_lock_in_turn() -> None:
    loop = Loop()
    cond = Condition()
    items: list[int] = []
    took: list[tuple[int, int]] = []

    async def consumer(i: int) -> None:
        async with cond:
            await cond.wait_for(lambda: bool(items))
            assert cond.lock.owner is refloop.current_task()
            took.append((i, items.pop(0)))

    async def producer() -> None:
        for n in range(3):
            async with cond:
                items.append(n)
                cond.notify()
            await refloop.yield_now()
        async with cond:
            items.extend([10, 11])
            cond.notify_all()

    for i in range(5):
        loop.spawn(consumer(i))
    _settle(loop, 2)
    loop.spawn(producer())
    _settle(loop, 30)
    assert took == [(0, 0), (1, 1), (2, 2), (3, 10), (4, 11)]
    assert not cond.locked() and not cond._waiters


@pytest.mark.spec("sync.cond.wait", "sync.cancel-waiting")
def test_a_cancelled_condition_waiter_retakes_the_lock_before_raising() -> None:
    loop = Loop()
    cond = Condition()
    log: list[str] = []

    async def waiter() -> None:
        async with cond:
            try:
                await cond.wait()
            except Cancelled:
                mine = cond.lock.owner is refloop.current_task()
                log.append(f"cancelled holding={mine}")
                raise

    async def holder() -> None:
        await refloop.yield_now()
        async with cond:
            await refloop.yield_now()
            await refloop.yield_now()

    w = loop.spawn(waiter())
    loop.spawn(holder())
    _settle(loop, 2)  # waiter waits; holder holds the lock
    assert cond.lock.owner is not w
    assert w.cancel()
    _settle(loop)
    assert log == ["cancelled holding=True"] and w.cancelled() and not cond.locked()


@pytest.mark.spec("sync.cond.notified-wins")
def test_a_waiter_notified_then_cancelled_returns_and_is_cancelled_next() -> None:
    loop = Loop()
    cond = Condition()
    log: list[str] = []
    waiter_task: list[Task[Any]] = []

    async def waiter() -> None:
        async with cond:
            await cond.wait()
            log.append("returned from wait")
        try:
            await refloop.yield_now()
        except Cancelled:
            log.append("cancelled at the next suspension")

    async def notifier() -> None:
        await refloop.yield_now()
        async with cond:
            cond.notify()
            waiter_task[0].cancel()  # notified, runnable: then cancelled
            await refloop.yield_now()  # the waiter retakes the lock behind us

    waiter_task.append(loop.spawn(waiter()))
    loop.spawn(notifier())
    _settle(loop)
    assert log == ["returned from wait", "cancelled at the next suspension"]


@pytest.mark.spec("sync.bind")
def test_a_primitive_used_outside_any_loop_is_refused() -> None:
    ev = Event()
    with pytest.raises(LoopError, match="no refloop loop runs"):
        ev.set()
    assert not ev.is_set() and ev._loop is None


@pytest.mark.spec("sync.loop-closed")
def test_closing_the_loop_under_held_primitives_raises_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Loop()
    lock, sem, cond = Lock(), Semaphore(1), Condition()

    async def holder() -> None:
        async with lock, sem:
            await refloop.sleep_forever()

    async def waiter() -> None:
        async with lock:
            pass

    async def cond_waiter() -> None:
        async with cond:
            await cond.wait()

    loop.spawn(holder())
    loop.spawn(waiter())
    loop.spawn(cond_waiter())
    _settle(loop, 2)
    loop.close()
    assert "did not stop" not in caplog.text
    assert lock.locked() and sem.value == 0 and not cond.locked()


@pytest.mark.spec("sync.lock.owner", "sync.event.set", "chan.close")
def test_loop_callbacks_may_set_and_close_but_not_release() -> None:
    loop = Loop()
    ev = Event()
    lock = Lock()
    ch: refloop.Channel[int] = refloop.Channel(1)
    errors: list[str] = []

    async def holder() -> None:
        await lock.acquire()
        await ev.wait()
        lock.release()

    async def receiver() -> str:
        try:
            await ch.recv()
        except refloop.EndOfChannel:
            return "ended"
        return "got"

    def callback() -> None:
        try:
            lock.release()
        except LoopError as err:
            errors.append(str(err))
        ev.set()
        ch.close()

    loop.spawn(holder())
    r = loop.spawn(receiver())
    _settle(loop, 1)
    loop.call_later(0, callback)
    _settle(loop)
    assert errors and "not a loop callback" in errors[0]
    assert r.result() == "ended" and not lock.locked()

    cond = Condition()

    async def notify_negative() -> None:
        async with cond:
            with pytest.raises(ValueError, match="count of 0 or more"):
                cond.notify(-1)

    _in_task(loop, notify_negative)
