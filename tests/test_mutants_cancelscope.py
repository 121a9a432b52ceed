"""CancelScope and the task's cancellation, as mutation testing found them
under-tested (docs/mutation.md, refloop/_cancelscope.py): the repr a user
and every refusal show, the refusals' exact words (the scope, the call, the
fix), and what a refused call leaves unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import refloop
from refloop import Cancelled, CancelScope, Loop, LoopError, sleep_forever


def _in_thread(fn: Callable[[], object]) -> BaseException | object:
    """Run `fn` in a thread named "intruder"; what it returned or raised."""
    out: list[BaseException | object] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as err:
            out.append(err)

    t = threading.Thread(target=body, name="intruder")
    t.start()
    t.join()
    return out[0]


@pytest.mark.spec("cancel.scope.cancel", "cancel.shield")
def test_a_cancel_scopes_repr_says_whether_it_shields_and_was_cancelled() -> None:
    assert repr(CancelScope()) == "<refloop.CancelScope>"
    assert repr(CancelScope(shield=True)) == "<refloop.CancelScope shield>"
    scope = CancelScope()
    scope.cancel()
    assert repr(scope) == "<refloop.CancelScope cancelled>"
    scope = CancelScope(shield=True)
    scope.cancel()
    assert repr(scope) == "<refloop.CancelScope shield cancelled>"
    assert scope.cancel_called is True and scope.shield is True
    fresh = CancelScope()
    assert fresh.cancel_called is False and fresh.shield is False
    assert fresh.cancelled_caught is False


@pytest.mark.spec("cancel.shield")
def test_a_shield_that_is_not_a_bool_is_refused_by_name_and_changes_nothing() -> None:
    with pytest.raises(TypeError) as bad:
        CancelScope(shield=1)  # type: ignore[arg-type]
    assert str(bad.value) == "CancelScope(shield=) needs a bool, got 1"
    scope = CancelScope()
    with pytest.raises(TypeError) as bad:
        scope.shield = "yes"  # type: ignore[assignment]
    assert str(bad.value) == "<refloop.CancelScope>.shield needs a bool, got 'yes'"
    assert scope.shield is False


@pytest.mark.spec("cancel.scope.cancel", "thread.refused-unchanged")
def test_a_scope_refuses_another_thread_by_name_and_changes_nothing() -> None:
    loop = Loop()
    scopes: list[CancelScope] = []

    async def worker() -> None:
        with CancelScope() as scope:
            scopes.append(scope)
            await sleep_forever()

    task = loop.spawn(worker())
    loop.run_once(timeout=0)
    scope = scopes[0]
    refused = _in_thread(scope.cancel)
    assert isinstance(refused, LoopError)
    assert str(refused) == (
        f"<refloop.CancelScope>: cancel() was called from thread 'intruder', "
        f"but {loop!r} belongs to another; use call_soon_threadsafe()"
    )
    refused = _in_thread(lambda: setattr(scope, "shield", True))
    assert isinstance(refused, LoopError)
    assert str(refused) == (
        f"<refloop.CancelScope>: setting shield was called from thread "
        f"'intruder', but {loop!r} belongs to another; use call_soon_threadsafe()"
    )
    assert not scope.cancel_called and not scope.shield
    assert task.state == "waiting"
    # The owner's thread may do both; the cancel then ends the block quietly.
    scope.shield = True
    scope.cancel()
    loop.run_once(timeout=0)
    assert task.done() and not task.cancelled() and scope.cancelled_caught
    loop.close()


@pytest.mark.spec("cancel.scope.cancel")
def test_a_scope_entered_twice_is_refused_by_name() -> None:
    async def main() -> str:
        scope = CancelScope(shield=True)
        with scope, pytest.raises(LoopError) as twice:
            scope.__enter__()
        return str(twice.value)

    assert refloop.run(main()) == "<refloop.CancelScope shield> cannot be entered twice"


@pytest.mark.spec("cancel.waiting")
def test_the_cancelled_error_names_the_task() -> None:
    async def main() -> str:
        task = refloop.spawn(sleep_forever(), name="sleeper")
        await refloop.yield_now()
        text = repr(task)
        task.cancel()
        try:
            await task.join()
        except Cancelled as err:
            return f"{err}|{text}"
        return "not cancelled"

    message, text = refloop.run(main()).split("|")
    assert message == f"{text} was cancelled"


@pytest.mark.spec("cancel.sleep-forever")
def test_sleep_forever_resumed_without_a_cancel_says_so() -> None:
    """Only a continuation taken from the task's internals can resume it;
    the error then says what happened rather than returning."""
    loop = Loop()
    task: Any = loop.spawn(sleep_forever())
    loop.run_once(timeout=0)
    k = task._parked
    assert k is not None
    k(None)
    loop.run_once(timeout=0)
    with pytest.raises(LoopError) as wrong:
        task.result()
    assert str(wrong.value) == "sleep_forever() was resumed without being cancelled"
    loop.close()


def _drive(loop: Loop, n: int = 10) -> None:
    for _ in range(n):
        loop.run_once(timeout=0)


@pytest.mark.spec("cancel.scope.cancel", "thread.refused-unchanged")
def test_cancelling_a_task_from_another_thread_is_refused_by_name() -> None:
    loop = Loop()
    task = loop.spawn(sleep_forever(), name="sleeper")
    loop.run_once(timeout=0)
    refused = _in_thread(task.cancel)
    assert isinstance(refused, LoopError)
    assert str(refused) == (
        f"cancelling {task!r} was called from thread 'intruder', but {loop!r} "
        "belongs to another; use call_soon_threadsafe()"
    )
    assert task.state == "waiting"
    loop.close()


@pytest.mark.spec("cancel.scope.cancel")
def test_cancel_after_the_block_exited_does_nothing() -> None:
    """Not even `cancel_called`; the task, outside the block, is not
    cancelled (the scope is no longer open in it, so a request for it would
    be a plain cancel)."""
    loop = Loop()
    scopes: list[CancelScope] = []

    async def body() -> str:
        with CancelScope() as scope:
            scopes.append(scope)
        await refloop.yield_now()
        await refloop.yield_now()
        return "finished"

    task = loop.spawn(body())
    loop.run_once(timeout=0)
    scope = scopes[0]
    scope.cancel()
    assert not scope.cancel_called and repr(scope) == "<refloop.CancelScope>"
    scope.shield = True  # an exited scope's shield is only a flag
    _drive(loop)
    assert task.result() == "finished" and not scope.cancelled_caught
    loop.close()


@pytest.mark.spec("cancel.scope.cancel")
def test_a_second_cancel_of_an_open_scope_does_nothing() -> None:
    """The first wakes the block with Cancelled; a block that catches it and
    waits again is not cancelled a second time."""
    loop = Loop()
    scopes: list[CancelScope] = []
    log: list[str] = []

    async def body() -> str:
        with CancelScope() as scope:
            scopes.append(scope)
            try:
                await sleep_forever()
            except Cancelled:
                log.append("caught")
            await refloop.yield_now()
            log.append("waited again")
        return "finished"

    task = loop.spawn(body())
    loop.run_once(timeout=0)
    scopes[0].cancel()
    scopes[0].cancel()
    _drive(loop)
    assert log == ["caught", "waited again"] and task.result() == "finished"
    loop.close()


def _in_block(scopes: list[CancelScope], log: list[str], steps: int = 1) -> Any:
    async def body() -> str:
        with CancelScope() as scope:
            scopes.append(scope)
            for _ in range(steps):
                await refloop.yield_now()
            log.append("block ran on")
        log.append("after the block")
        await refloop.yield_now()
        return "finished"

    return body()


@pytest.mark.spec("cancel.merge")
def test_of_two_widest_requests_for_a_runnable_task_the_first_is_kept() -> None:
    """A plain cancel and one for a scope not open in the task (another's
    group, say) are both the widest: the pending one is kept, in either
    order, and the Cancelled carries it."""
    elsewhere = object()
    for first, second in ((None, elsewhere), (elsewhere, None), (elsewhere, 1)):
        loop = Loop()
        scopes: list[CancelScope] = []
        task = loop.spawn(_in_block(scopes, [], steps=3))
        loop.run_once(timeout=0)
        task.cancel(scope=first)
        task.cancel(scope=second)
        _drive(loop)
        err = task.exception()
        assert isinstance(err, Cancelled) and err.scope is first
        loop.close()


@pytest.mark.spec("cancel.merge")
def test_a_request_from_outside_the_tasks_scopes_beats_a_pending_scopes() -> None:
    """Pending: the block's own scope (narrower); then a request for a scope
    not open in the task: it is wider, so it replaces the pending one and the
    block does not swallow it. And the other way round, the scope's request
    after a plain one is dropped."""
    elsewhere = object()
    for scoped_first in (True, False):
        loop = Loop()
        scopes: list[CancelScope] = []
        log: list[str] = []
        task = loop.spawn(_in_block(scopes, log, steps=3))
        loop.run_once(timeout=0)
        if scoped_first:
            scopes[0].cancel()
            task.cancel(scope=elsewhere)
        else:
            task.cancel()
            scopes[0].cancel()
        _drive(loop)
        err = task.exception()
        assert isinstance(err, Cancelled)
        assert err.scope is (elsewhere if scoped_first else None)
        assert log == [] and not scopes[0].cancelled_caught
        loop.close()


@pytest.mark.spec("cancel.shield")
def test_a_pending_request_for_the_shield_itself_is_delivered() -> None:
    """The block's own cancel, pending when its shield goes up, is not
    held: it is raised at the next suspension and absorbed by the block."""
    loop = Loop()
    scopes: list[CancelScope] = []
    log: list[str] = []
    task = loop.spawn(_in_block(scopes, log, steps=3))
    loop.run_once(timeout=0)
    scopes[0].cancel()
    scopes[0].shield = True
    _drive(loop)
    assert task.result() == "finished"
    assert log == ["after the block"] and scopes[0].cancelled_caught
    loop.close()


def _outer_and_shield(
    outer: list[CancelScope], inner: list[CancelScope], log: list[str]
) -> Any:
    async def body() -> str:
        with CancelScope() as scope:
            outer.append(scope)
            with CancelScope() as shield:
                inner.append(shield)
                await refloop.yield_now()
                await refloop.yield_now()
                log.append("shielded block ran on")
            log.append("shield exited")
            await refloop.yield_now()
            log.append("outer block ran on")
        log.append("after the blocks")
        await refloop.yield_now()
        return "finished"

    return body()


@pytest.mark.spec("cancel.shield", "cancel.shield.exit")
def test_an_outer_scopes_pending_request_is_held_and_made_again_for_it() -> None:
    """Pending when the inner scope's shield goes up: held; made again at
    the shield's exit for the outer scope (not as a plain cancel), which
    absorbs it; the task finishes."""
    loop = Loop()
    outer: list[CancelScope] = []
    inner: list[CancelScope] = []
    log: list[str] = []
    task = loop.spawn(_outer_and_shield(outer, inner, log))
    loop.run_once(timeout=0)
    outer[0].cancel()
    inner[0].shield = True
    _drive(loop)
    assert log == ["shielded block ran on", "shield exited", "after the blocks"]
    assert task.result() == "finished" and outer[0].cancelled_caught
    loop.close()


@pytest.mark.spec("cancel.shield.merge", "cancel.shield.exit")
def test_a_shield_holds_the_widest_of_two_requests_not_the_last() -> None:
    """Held while the shield is up: a plain cancel, then the outer scope's
    (narrower): the plain one is made again at the exit, and the task ends
    cancelled."""
    loop = Loop()
    outer: list[CancelScope] = []
    inner: list[CancelScope] = []
    log: list[str] = []
    task = loop.spawn(_outer_and_shield(outer, inner, log))
    loop.run_once(timeout=0)
    inner[0].shield = True
    task.cancel()
    outer[0].cancel()
    _drive(loop)
    assert log == ["shielded block ran on", "shield exited"]
    err = task.exception()
    assert isinstance(err, Cancelled) and err.scope is None
    loop.close()


@pytest.mark.spec("cancel.shield.merge")
def test_of_two_equally_wide_held_requests_the_shield_keeps_the_first() -> None:
    elsewhere = object()
    loop = Loop()
    outer: list[CancelScope] = []
    inner: list[CancelScope] = []
    task = loop.spawn(_outer_and_shield(outer, inner, []))
    loop.run_once(timeout=0)
    inner[0].shield = True
    task.cancel(scope=elsewhere)
    task.cancel()
    _drive(loop)
    err = task.exception()
    assert isinstance(err, Cancelled) and err.scope is elsewhere
    loop.close()
