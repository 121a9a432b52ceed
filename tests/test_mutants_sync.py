"""Event, Lock and the semaphores, as mutation testing found them
under-tested (docs/mutation.md, refloop/_sync.py): each refusal names the
primitive, the call and the fix; the reprs say the state."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest
from _helpers import NOWHERE, raised

import refloop
from refloop import BoundedSemaphore, Event, Lock, Loop, LoopError, Semaphore


@pytest.mark.spec("sync.bind")
def test_each_call_outside_a_loop_names_the_primitive_the_call_and_the_fix() -> None:
    event, lock, sem = Event(), Lock(), Semaphore()
    with pytest.raises(LoopError) as caught:
        event.set()
    assert str(caught.value) == f"{event!r}: set() {NOWHERE}"
    calls: list[tuple[object, str, Coroutine[Any, Any, Any]]] = [
        (event, "wait()", event.wait()),
        (lock, "acquire()", lock.acquire()),
        (sem, "acquire()", sem.acquire()),
    ]
    for primitive, what, coro in calls:
        err = raised(coro)
        assert isinstance(err, LoopError)
        assert str(err) == f"{primitive!r}: {what} {NOWHERE}"
    for primitive, what, call in [
        (lock, "release()", lock.release),
        (sem, "release()", sem.release),
    ]:
        with pytest.raises(LoopError) as caught:
            call()
        assert str(caught.value) == f"{primitive!r}: {what} {NOWHERE}"


@pytest.mark.spec("sync.bind")
def test_an_await_in_a_loop_callback_is_refused_by_its_name() -> None:
    loop = Loop()
    event, lock, sem = Event(), Lock(), Semaphore()
    seen: list[str] = []

    def callback() -> None:
        for coro in [event.wait(), lock.acquire(), sem.acquire()]:
            seen.append(str(raised(coro)))

    try:
        loop.call_later(0.0, callback)
        loop.run_once(0)
    finally:
        loop.close()
    assert seen == [
        f"{event!r}: wait() must be awaited inside a refloop task",
        f"{lock!r}: acquire() must be awaited inside a refloop task",
        f"{sem!r}: acquire() must be awaited inside a refloop task",
    ]


@pytest.mark.spec("sync.lock.owner")
def test_a_lock_names_who_may_release_it() -> None:
    lock = Lock()
    seen: list[str] = []

    async def holder() -> None:
        await lock.acquire()
        await refloop.sleep(0.0)
        with pytest.raises(LoopError) as caught:
            await lock.acquire()
        seen.append(str(caught.value))

    async def thief() -> None:
        try:
            lock.release()
        except LoopError as err:
            seen.append(str(err))

    def callback() -> None:
        try:
            lock.release()
        except LoopError as err:
            seen.append(str(err))

    async def main() -> None:
        first = refloop.spawn(holder())
        await refloop.yield_now()
        me = refloop.current_task()
        assert me is not first
        second = refloop.spawn(thief())
        await second.join()
        refloop.current_loop().call_later(0.0, callback)
        await refloop.sleep(0.0)
        await first.join()
        del me

    loop = Loop()
    try:
        loop.run(main())
    finally:
        loop.close()
    (stolen,) = [text for text in seen if "thief" in text]
    (from_callback,) = [text for text in seen if "a loop callback" in text]
    (reentrant,) = [text for text in seen if "reentrant" in text]
    assert stolen.endswith("only the task that acquired a Lock releases it")
    assert "thief" in stolen.split(", not ")[1]
    assert ", not a loop callback: " in from_callback
    assert reentrant.endswith(
        "a Lock is not reentrant: release it first, or restructure so one "
        "acquire covers both"
    )


@pytest.mark.spec("sync.views")
def test_the_reprs_say_the_state() -> None:
    event = Event()
    assert event.is_set() is False
    assert repr(event) == "<refloop.Event unset waiters=0>"
    lock = Lock()
    assert repr(lock) == "<refloop.Lock unlocked>"
    assert repr(Semaphore()) == "<refloop.Semaphore value=1 waiters=0>"
    assert repr(BoundedSemaphore(2)).startswith("<refloop.BoundedSemaphore value=2 ")

    async def main() -> None:
        event.set()

    loop = Loop()
    try:
        loop.run(main())
    finally:
        loop.close()
    assert event.is_set() is True
    assert repr(event) == "<refloop.Event set>"


@pytest.mark.spec("sync.sem.value")
def test_a_bad_semaphore_value_names_the_class_and_what_it_counts() -> None:
    with pytest.raises(ValueError) as caught:
        BoundedSemaphore(-1)
    assert str(caught.value) == (
        "BoundedSemaphore() needs a value of 0 or more, got -1: it counts the "
        "units free to acquire"
    )
    with pytest.raises(TypeError, match=r"^Semaphore\(\) needs an int value"):
        Semaphore(1.5)  # type: ignore[arg-type]
