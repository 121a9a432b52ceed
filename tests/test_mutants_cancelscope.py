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
