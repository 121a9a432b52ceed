"""CancelScope, shield, TaskGroup.cancel, async timeouts, sleep_forever
(spec/09-cancel.md, "Scopes a user controls")."""

from __future__ import annotations

import threading

import pytest

import refloop
from refloop import (
    Cancelled,
    CancelScope,
    Loop,
    LoopError,
    TaskGroup,
    VirtualClock,
    move_on_after,
    sleep_forever,
    timeout,
)


def _settle(loop: Loop, n: int = 10) -> None:
    for _ in range(n):
        loop.run_once(timeout=0)


@pytest.mark.spec("cancel.scope.cancel", "cancel.sleep-forever")
def test_cancel_ends_the_block_quietly_from_inside_and_from_another_task() -> None:
    loop = Loop()
    log: list[object] = []
    scopes: list[CancelScope] = []

    async def worker() -> None:
        with CancelScope() as scope:
            scopes.append(scope)
            await sleep_forever()
        log.append(("after", scope.cancelled_caught))
        with CancelScope() as own:
            own.cancel()
            own.cancel()  # twice: nothing more
            log.append("still running")
            await refloop.yield_now()
            log.append("not reached")
        log.append(("own", own.cancelled_caught))

    t = loop.spawn(worker())
    _settle(loop, 1)
    assert t.state == "waiting"
    scopes[0].cancel()
    _settle(loop)
    assert log == [("after", True), "still running", ("own", True)]
    assert t.state == "done"
    scopes[0].cancel()  # after exit: nothing
    assert t.state == "done"


@pytest.mark.spec("cancel.scope.cancel")
def test_cancel_before_entering_takes_effect_on_entry() -> None:
    async def main() -> bool:
        scope = CancelScope()
        scope.cancel()
        with scope:
            await refloop.yield_now()
            raise AssertionError("not reached")
        return scope.cancelled_caught

    assert refloop.run(main()) is True


@pytest.mark.spec("cancel.scope.nested", "cancel.scope.cancel")
def test_an_outer_cancel_passes_through_an_inner_scope() -> None:
    loop = Loop()
    log: list[object] = []

    async def worker() -> None:
        with CancelScope() as outer:
            with CancelScope() as inner:
                await sleep_forever()
            log.append("inner exited quietly?")
        log.append((outer.cancelled_caught, inner.cancelled_caught))

    t = loop.spawn(worker())
    _settle(loop, 1)
    t._scopes[0].cancel()  # type: ignore[attr-defined]
    _settle(loop)
    assert log == [(True, False)]


@pytest.mark.spec("cancel.shield")
def test_a_shield_keeps_an_outside_cancel_away_until_it_exits() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    log: list[str] = []

    async def worker() -> None:
        try:
            with CancelScope(shield=True):
                await refloop.sleep(5)
                log.append("slept in peace")
            log.append("shield exited")
            await refloop.yield_now()
            log.append("not reached")
        except Cancelled as err:
            log.append(f"cancelled, plain={err.scope is None}")

    t = loop.spawn(worker())
    _settle(loop, 1)
    assert t.cancel()
    _settle(loop, 2)
    assert t.state == "waiting" and len(loop.timers()) == 1
    clock.advance(5)
    _settle(loop)
    assert log == ["slept in peace", "shield exited", "cancelled, plain=True"]


@pytest.mark.spec("cancel.shield", "cancel.shield.exit")
def test_a_request_pending_when_the_shield_goes_up_waits_too() -> None:
    loop = Loop()
    log: list[str] = []

    async def worker() -> None:
        with CancelScope(shield=True):
            await refloop.yield_now()
            log.append("shielded yield went through")
        try:
            await refloop.yield_now()
        except Cancelled:
            log.append("cancelled after")

    t = loop.spawn(worker())
    assert t.cancel()  # pending, runnable: the shield goes up before it is raised
    _settle(loop)
    assert log == ["shielded yield went through", "cancelled after"]


@pytest.mark.spec("cancel.shield")
def test_a_shield_lets_its_own_and_inner_scopes_cancel() -> None:
    clock = VirtualClock()
    loop = Loop(clock=clock)
    log: list[object] = []

    async def worker() -> None:
        with CancelScope(shield=True) as shield:
            with move_on_after(1) as inner:
                await refloop.sleep(9)
            log.append(("inner fired", inner.fired))
            await sleep_forever()
        log.append(("shield caught", shield.cancelled_caught))

    t = loop.spawn(worker())
    _settle(loop, 1)
    clock.advance(1)
    _settle(loop)
    assert log == [("inner fired", True)]
    t._scopes[0].cancel()  # type: ignore[attr-defined]
    _settle(loop)
    assert log == [("inner fired", True), ("shield caught", True)]


@pytest.mark.spec("cancel.shield.merge", "cancel.shield.exit")
def test_a_shield_keeps_the_widest_request_and_lowering_it_delivers() -> None:
    loop = Loop()
    log: list[object] = []
    shields: list[CancelScope] = []

    async def worker() -> None:
        with CancelScope():
            try:
                with CancelScope(shield=True) as shield:
                    shields.append(shield)
                    await sleep_forever()
            except Cancelled as err:
                log.append(("plain", err.scope is None))
                raise
        log.append("outer absorbed a plain cancel?")

    t = loop.spawn(worker())
    _settle(loop, 1)
    outer_scope = t._scopes[0]  # type: ignore[attr-defined]
    outer_scope.cancel()
    assert t.cancel()  # wider than the outer scope's request
    outer_scope.cancel()
    assert t.state == "waiting"
    shields[0].shield = False  # lowered: the plain request is made again
    _settle(loop)
    assert log == [("plain", True)] and t.cancelled()
    assert not outer_scope.cancelled_caught


@pytest.mark.spec("cancel.shield", "cancel.scope.group")
def test_a_shield_protects_a_task_group_inside_it() -> None:
    loop = Loop()
    log: list[str] = []

    async def child() -> None:
        await refloop.yield_now()
        await refloop.yield_now()
        log.append("child finished")

    async def owner() -> None:
        with CancelScope(shield=True):
            async with TaskGroup() as g:
                g.spawn(child())
        log.append("group done")

    t = loop.spawn(owner())
    _settle(loop, 1)
    assert t.cancel()
    _settle(loop)
    assert log == ["child finished", "group done"] and t.state == "done"


@pytest.mark.spec("cancel.scope.group-cancel", "cancel.scope.group")
def test_group_cancel_stops_every_child_and_the_block_quietly() -> None:
    loop = Loop()
    log: list[object] = []

    async def server(g: TaskGroup) -> None:
        for _ in range(3):
            g.spawn(sleep_forever())
        await sleep_forever()

    async def owner() -> None:
        async with TaskGroup() as g:
            g.spawn(server(g))
            await refloop.yield_now()
            await refloop.yield_now()
            g.cancel()
            late = g.spawn(sleep_forever())
            log.append("cancel() returned")
            await refloop.yield_now()
            log.append("not reached")
        log.append(("quiet", late.cancelled(), all(c.cancelled() for c in g._children)))
        g.cancel()  # after exit: nothing
        await refloop.yield_now()
        log.append("not cancelled again")

    t = loop.spawn(owner())
    _settle(loop, 20)
    assert log == [
        "cancel() returned",
        ("quiet", True, True),
        "not cancelled again",
    ]
    assert t.state == "done" and loop.tasks() == []


@pytest.mark.spec("cancel.scope.group-cancel")
def test_group_cancel_while_the_owner_waits_at_the_end() -> None:
    loop = Loop()
    groups: list[TaskGroup] = []

    async def owner() -> str:
        async with TaskGroup() as g:
            groups.append(g)
            g.spawn(sleep_forever())
        return "ended"

    t = loop.spawn(owner())
    _settle(loop, 2)

    async def stopper() -> None:
        groups[0].cancel()

    loop.spawn(stopper())
    _settle(loop)
    assert t.result() == "ended"
    with pytest.raises(LoopError, match="async with TaskGroup"):
        TaskGroup().cancel()


@pytest.mark.spec("cancel.scope.async", "cancel.scope.timeout")
def test_async_with_timeout_and_move_on_after() -> None:
    async def main() -> list[object]:
        seen: list[object] = []
        async with move_on_after(0.002) as quiet:
            await refloop.sleep(5)
        seen.append(quiet.fired)
        with pytest.raises(TimeoutError):
            async with timeout(0.002):
                await refloop.sleep(5)
        async with CancelScope() as scope:
            scope.cancel()
            await refloop.yield_now()
        seen.append(scope.cancelled_caught)
        return seen

    assert refloop.run(main()) == [True, True]


@pytest.mark.spec("cancel.sleep-forever")
def test_sleep_forever_alone_is_a_deadlock_and_needs_a_task() -> None:
    with pytest.raises(LoopError, match="deadlock"):
        refloop.run(sleep_forever())
    coro = sleep_forever()
    with pytest.raises(LoopError):
        coro.send(None)


@pytest.mark.spec("cancel.scope.cancel")
def test_scope_cancel_and_shield_from_another_thread_are_refused() -> None:
    loop = Loop()
    scopes: list[CancelScope] = []

    async def worker() -> None:
        with CancelScope() as scope:
            scopes.append(scope)
            await sleep_forever()

    t = loop.spawn(worker())
    _settle(loop, 1)
    errors: list[BaseException] = []

    def other() -> None:
        for act in (scopes[0].cancel, lambda: setattr(scopes[0], "shield", True)):
            try:
                act()
            except LoopError as err:
                errors.append(err)

    th = threading.Thread(target=other)
    th.start()
    th.join()
    assert len(errors) == 2 and t.state == "waiting"
    assert not scopes[0].cancel_called and not scopes[0].shield
    with pytest.raises(TypeError, match="bool"):
        CancelScope(shield=1)  # type: ignore[arg-type]
    loop.close()


@pytest.mark.spec("cancel.shield")
def test_a_subclass_of_cancel_scope_shields_too() -> None:
    """The loop asked `type(scope) is CancelScope`, so a user's subclass
    (the stateful test's broken scopes are subclasses) shielded nothing."""

    class Named(CancelScope):
        pass

    async def shielded() -> str:
        with Named(shield=True):
            await refloop.sleep(0.01)
        return "finished"

    async def main() -> str:
        t = refloop.spawn(shielded())
        await refloop.yield_now()
        t.cancel()
        await refloop.sleep(0.05)
        # Held through the sleep; made again at the shield's end, it goes
        # with the task, which finished without suspending again.
        return t.result()

    assert refloop.run(main()) == "finished"
