"""refloop.aio builds asyncio's handles without asyncio's constructors and
cancels its timers without asyncio's `cancel` chain (refloop/aio/_timers.py,
`call_soon` in refloop/aio/_loop.py): every field those set is pinned here,
field by field, on every Python, so a Python whose Handle gains a field
fails here by name. And the timers in the core's heap behave as asyncio's
do from the outside."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest

import refloop.aio
from refloop.aio import RefloopEventLoop
from refloop.aio._timers import Timer


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        for name in getattr(klass, "__slots__", ()):
            if name != "__weakref__" and name not in names:
                names.append(name)
    return names


def _fields(handle: object, cls: type) -> dict[str, Any]:
    missing = object()
    return {name: getattr(handle, name, missing) for name in _slots(cls)}


@pytest.fixture
def loop() -> Any:
    made = RefloopEventLoop()
    yield made
    made.close()


def test_call_soon_sets_every_field_asyncio_handle_sets(loop: RefloopEventLoop) -> None:
    context = contextvars.copy_context()
    fast = loop.call_soon(print, 1, 2, context=context)
    made = asyncio.Handle(print, (1, 2), loop, context)
    assert type(fast) is asyncio.Handle
    assert _fields(fast, asyncio.Handle) == _fields(made, asyncio.Handle), (
        "asyncio.Handle's fields changed on this Python; update call_soon's "
        "inlined constructor in refloop/aio/_loop.py"
    )
    assert repr(fast) == repr(made)


def test_call_soon_without_context_copies_the_current_one(
    loop: RefloopEventLoop,
) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("outer")
    handle: Any = loop.call_soon(print)
    var.set("later")
    assert handle._context[var] == "outer"


def test_call_at_sets_every_field_asyncio_timer_handle_sets(
    loop: RefloopEventLoop,
) -> None:
    context = contextvars.copy_context()
    fast = loop.call_at(loop.time() + 10, print, "x", context=context)
    made = asyncio.TimerHandle(fast.when(), print, ("x",), loop, context)
    made._scheduled = True  # type: ignore[attr-defined]
    assert isinstance(fast, asyncio.TimerHandle)
    assert _fields(fast, asyncio.TimerHandle) == _fields(made, asyncio.TimerHandle), (
        "asyncio.TimerHandle's fields changed on this Python; update "
        "TimerCalls._schedule in refloop/aio/_timers.py"
    )
    assert repr(fast).replace("Timer ", "TimerHandle ", 1) == repr(made)


@pytest.mark.spec("aio.cancelled-skip")
def test_cancel_leaves_the_fields_asyncio_cancel_leaves(
    loop: RefloopEventLoop,
) -> None:
    for debug in (False, True):
        loop.set_debug(debug)
        fast = loop.call_later(10, print, "x")
        made = asyncio.TimerHandle(fast.when(), print, ("x",), loop, None)
        made._scheduled = True  # type: ignore[attr-defined]
        fast.cancel()
        made.cancel()  # reaches our _timer_handle_cancelled: a no-op for it
        want = _fields(made, asyncio.TimerHandle)
        got = _fields(fast, asyncio.TimerHandle)
        for differs in ("_context", "_source_traceback", "_repr"):
            want.pop(differs), got.pop(differs)
        assert got == want, "asyncio's Handle.cancel changed; update Timer.cancel"
        assert fast.cancelled() is True
        assert (fast._repr is None) is (not debug)  # type: ignore[attr-defined]
    loop.set_debug(False)


@pytest.mark.spec("aio.cancelled-skip", "aio.timer.order")
def test_an_asyncio_timer_is_an_entry_of_the_one_heap(loop: RefloopEventLoop) -> None:
    timer = loop.call_later(10, print)
    assert isinstance(timer, Timer) and timer.cancelled() is False
    heap = loop._core._timers.heap
    assert [entry[2] for entry in heap] == [timer]
    (view,) = loop.native.timers()
    assert view.when == timer.when()
    view.cancel()  # the view's cancel() cancels the asyncio timer
    assert timer.cancelled() is True
    assert loop.native.timers() == []
    assert len(loop._core._timers) == 0


@pytest.mark.spec("aio.cancelled-skip")
def test_many_cancelled_timers_leave_the_heap(loop: RefloopEventLoop) -> None:
    timers = [loop.call_later(10 + i, print) for i in range(1000)]
    for timer in timers[:900]:
        timer.cancel()
    assert len(loop._core._timers.heap) < 300
    assert len(loop.native.timers()) == 100


@pytest.mark.spec("aio.timer.validate")
def test_an_infinite_timer_stays_off_the_heap_and_cancels(
    loop: RefloopEventLoop,
) -> None:
    timer = loop.call_at(float("inf"), print)
    assert loop._core._timers.heap == []
    timer.cancel()
    assert timer.cancelled() and len(loop._core._timers) == 0


@pytest.mark.spec("aio.wrong-thread")
def test_cancelling_a_timer_from_another_thread_while_running_is_refused(
    loop: RefloopEventLoop,
) -> None:
    timer = loop.call_later(10, print)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            timer.cancel()
        except RuntimeError as err:
            errors.append(err)
        loop.call_soon_threadsafe(loop.stop)

    loop.call_soon(threading.Thread(target=other).start)
    loop.run_forever()
    assert len(errors) == 1 and "call_soon_threadsafe" in str(errors[0])
    assert not timer.cancelled() and len(loop._core._timers) == 1
    timer.cancel()  # not running: any thread may, this one does
    assert timer.cancelled()


def test_a_loop_run_in_another_thread_sleeps_and_closes_in_the_first() -> None:
    loop = refloop.aio.new_event_loop()
    results: list[str] = []

    def run() -> None:
        results.append(loop.run_until_complete(asyncio.sleep(0.01, "slept")))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    loop.close()
    assert results == ["slept"] and loop.is_closed()


def test_call_later_sets_every_field_asyncio_timer_handle_sets(
    loop: RefloopEventLoop,
) -> None:
    # call_later's common case builds its timer in its own frame.
    context = contextvars.copy_context()
    fast = loop.call_later(10, print, "x", context=context)
    made = asyncio.TimerHandle(fast.when(), print, ("x",), loop, context)
    made._scheduled = True  # type: ignore[attr-defined]
    assert _fields(fast, asyncio.TimerHandle) == _fields(made, asyncio.TimerHandle), (
        "asyncio.TimerHandle's fields changed on this Python; update "
        "TimerCalls.call_later in refloop/aio/_timers.py"
    )
    assert [entry[2] for entry in loop._core._timers.heap] == [fast]


@pytest.mark.spec("aio.timer.sleep-context")
def test_a_sleeps_timer_runs_in_the_loops_context_and_others_in_a_copy(
    loop: RefloopEventLoop,
) -> None:
    from asyncio import futures

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("caller")
    resolve: Any = futures._set_result_unless_cancelled  # type: ignore[attr-defined]
    future = loop.create_future()
    sleep: Any = loop.call_later(10, resolve, future, None)
    assert sleep._context is loop._sleep_context
    assert var not in sleep._context
    # Another callback, or the same one with a future asyncio did not make,
    # or a context given: asyncio's rule.

    class MyFuture(asyncio.Future[None]):
        pass

    others: list[Any] = [
        loop.call_later(10, print, future, None),
        loop.call_later(10, resolve, MyFuture(loop=loop), None),
        loop.call_later(10, resolve, future),
    ]
    for handle in others:
        assert handle._context is not loop._sleep_context
        assert handle._context[var] == "caller"
    given = contextvars.copy_context()
    timed: Any = loop.call_later(10, resolve, future, None, context=given)
    assert timed._context is given


@pytest.mark.spec("aio.timer.sleep-context")
def test_asyncio_sleep_leaves_the_loops_context_unchanged() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main() -> list[str]:
        loop: Any = asyncio.get_running_loop()
        var.set("task")
        seen = []
        for _ in range(3):
            await asyncio.sleep(0.001)
            seen.append(var.get())
        assert list(loop._sleep_context.items()) == []
        return seen

    assert refloop.aio.run(main()) == ["task"] * 3
