"""Every public call made from another thread: it works as thread.owner says,
or it is refused with a clear error and nothing changed. Written against the
public API only."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import refloop
from refloop import ClosedError, Continuation, Loop, LoopError, VirtualClock


def in_thread(fn: Callable[[], object]) -> BaseException | object:
    """Run `fn` in a new thread; return what it returned or raised."""
    out: list[BaseException | object] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as err:
            out.append(err)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out[0]


class World:
    """A loop with one of everything: a reader on a socket, a sleeper, a task
    parked on a held continuation, a runnable task, a timer, an idle call."""

    def __init__(self, loop_class: type[Loop] = Loop) -> None:
        self.loop = loop_class(clock=VirtualClock())
        self.a, self.b = socket.socketpair()
        self.a.setblocking(False)
        self.held: list[Continuation] = []
        self.reader = self.loop.spawn(self._read(), name="reader")
        self.sleeper = self.loop.spawn(refloop.sleep(5), name="sleeper")
        self.parked = self.loop.spawn(self._park(), name="held")
        self.loop.run_once(timeout=0)
        self.runnable = self.loop.spawn(self._yield(), name="runnable")
        self.timer = self.loop.call_later(3, print)
        self.idle = self.loop.call_when_idle(print)

    async def _read(self) -> bytes:
        return await refloop.recv(self.a, 10)

    async def _park(self) -> object:
        return await refloop.suspend(self.held.append)

    async def _yield(self) -> None:
        await refloop.yield_now()

    def snapshot(self) -> tuple[Any, ...]:
        loop = self.loop
        return (
            loop.tasks(),
            loop.runnable(),
            loop.waiters(),
            loop.timers(),
            [t.state for t in (self.reader, self.sleeper, self.parked)],
            self.held[0].resumed,
            self.a.fileno(),
            loop.is_closed(),
            loop.snapshot(),
        )

    def close(self) -> None:
        self.loop.close()
        self.a.close()
        self.b.close()


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    yield w
    w.close()


async def _nothing() -> None:
    pass


REFUSED: dict[str, Callable[[World], object]] = {
    "spawn": lambda w: w.loop.spawn(_nothing()),
    "call_at": lambda w: w.loop.call_at(1, print),
    "call_later": lambda w: w.loop.call_later(1, print),
    "call_when_idle": lambda w: w.loop.call_when_idle(print),
    "run_once": lambda w: w.loop.run_once(timeout=0),
    "run_forever": lambda w: w.loop.run_forever(),
    "run": lambda w: w.loop.run(_nothing()),
    "stop": lambda w: w.loop.stop(),
    "close": lambda w: w.loop.close(),
    "close_socket": lambda w: w.loop.close_socket(w.a),
    "refloop.close": lambda w: refloop.close(w.a),
    "tasks": lambda w: w.loop.tasks(),
    "runnable": lambda w: w.loop.runnable(),
    "waiters": lambda w: w.loop.waiters(),
    "timers": lambda w: w.loop.timers(),
    "snapshot": lambda w: w.loop.snapshot(),
    "shutdown": lambda w: w.loop.shutdown(0),
    "cancel-waiting-reader": lambda w: w.reader.cancel(),
    "cancel-sleeper": lambda w: w.sleeper.cancel(),
    "cancel-held": lambda w: w.parked.cancel(),
    "cancel-runnable": lambda w: w.runnable.cancel(),
    "resume": lambda w: w.held[0]("x"),
    "throw": lambda w: w.held[0].throw(ValueError("x")),
    "timer-cancel": lambda w: w.timer.cancel(),
    "idle-cancel": lambda w: w.idle.cancel(),
}


# The refusals of the loop's own methods, which name the method.
NAMED = {name for name in REFUSED if hasattr(refloop.Loop, name)}


@pytest.mark.spec("thread.owner", "thread.refused-unchanged")
@pytest.mark.parametrize("call", sorted(REFUSED))
def test_a_refused_call_from_another_thread_changes_nothing(
    call: str, world: World
) -> None:
    before = world.snapshot()
    outcome = in_thread(lambda: REFUSED[call](world))
    assert isinstance(outcome, LoopError), outcome
    assert "call_soon_threadsafe" in str(outcome)
    if call in NAMED:  # the refusal names the method the user called
        assert str(outcome).startswith(f"{call}()"), outcome
    assert world.snapshot() == before
    # The loop still works: the runnable task runs, data wakes the reader.
    world.b.send(b"hi")
    world.loop.run_once(timeout=0)
    world.loop.run_once(timeout=0)
    assert world.reader.result() == b"hi"


@pytest.mark.spec("thread.owner")
def test_allowed_calls_from_another_thread(world: World) -> None:
    def reads() -> object:
        loop = world.loop
        return (
            loop.time(),
            loop.is_running(),
            loop.is_closed(),
            world.reader.state,
            world.reader.done(),
            world.held[0].resumed,
            world.held[0].task is world.parked,
        )

    assert in_thread(reads) == (0.0, False, False, "waiting", False, False, True)
    world.loop.run_once(timeout=0)
    world.loop.run_once(timeout=0)
    assert world.runnable.done()
    assert in_thread(world.runnable.cancel) is False
    assert in_thread(world.runnable.result) is None
    assert in_thread(lambda: world.loop.call_soon_threadsafe(world.held[0], 7)) is None
    world.loop.run_once(timeout=0)
    world.loop.run_once(timeout=0)
    assert world.parked.result() == 7


@pytest.mark.spec("io.close.anywhere", "io.close.wakes")
def test_refloop_close_between_iterations_wakes_the_waiter(world: World) -> None:
    refloop.close(world.a)  # no loop is running in this thread
    assert world.a.fileno() == -1
    assert [w.task for w in world.loop.waiters()] == []
    world.loop.run_once(timeout=0)
    with pytest.raises(ClosedError):
        world.reader.result()


@pytest.mark.spec("io.close.anywhere", "thread.post")
def test_refloop_close_posted_from_another_thread_wakes_the_waiter(
    world: World,
) -> None:
    refused = in_thread(lambda: refloop.close(world.a))
    assert isinstance(refused, LoopError) and world.a.fileno() >= 0
    in_thread(lambda: world.loop.call_soon_threadsafe(refloop.close, world.a))
    world.loop.run_once(timeout=0)
    world.loop.run_once(timeout=0)
    with pytest.raises(ClosedError):
        world.reader.result()


@pytest.mark.spec("io.close.anywhere", "thread.refused-unchanged")
def test_a_refused_close_from_another_thread_leaves_the_socket_open(
    loop_class: type[Loop] = Loop,
) -> None:
    w = World(loop_class)
    try:
        refused = in_thread(lambda: w.loop.close_socket(w.a))
        assert isinstance(refused, LoopError)
        assert w.a.fileno() >= 0
        assert [x.task for x in w.loop.waiters()] == [w.reader]
    finally:
        w.close()


@pytest.mark.spec("io.close.anywhere")
def test_refloop_close_inside_one_loop_finds_the_socket_of_another(
    world: World,
) -> None:
    async def main() -> None:
        refloop.close(world.a)  # registered with world.loop, not this one

    refloop.run(main())
    assert world.a.fileno() == -1
    world.loop.run_once(timeout=0)
    with pytest.raises(ClosedError):
        world.reader.result()


@pytest.mark.spec("io.close.anywhere")
def test_refloop_close_of_an_unregistered_socket_from_anywhere() -> None:
    a, b = socket.socketpair()
    assert in_thread(lambda: refloop.close(a)) is None
    assert a.fileno() == -1
    refloop.close(b)
    assert b.fileno() == -1


@pytest.mark.spec("thread.owner", "thread.refused-unchanged")
def test_joining_a_task_of_another_loop_is_refused(world: World) -> None:
    async def main() -> object:
        with pytest.raises(LoopError, match="another loop"):
            await world.sleeper.join()
        return "refused"

    assert refloop.run(main()) == "refused"
    world.loop.run_once(timeout=0)
    world.loop.run_once(timeout=0)
    assert world.sleeper.state == "waiting" and world.runnable.done()


@pytest.mark.spec("thread.post", "cancel.waiting")
def test_posted_calls_that_cancel_a_task_and_post_again(world: World) -> None:
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        world.reader.cancel()
        world.loop.call_soon_threadsafe(ran.append, "posted by a post")

    in_thread(lambda: world.loop.call_soon_threadsafe(first))
    world.loop.run_once(timeout=0)
    assert ran == ["first"]
    assert world.loop.waiters() == []
    world.loop.run_once(timeout=0)
    assert ran == ["first", "posted by a post"]
    assert world.reader.cancelled()
