"""Unit tests for the loop's iterations: what the selector is asked, the
drain of exactly the runnable tasks, the order ready waiters wake in,
descriptors reused behind the loop's back, and sockets closed while watched.

The stateful test (test_stateful.py) explores interleavings; these tests pin
the corners it reaches slowly or not at all.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
from collections.abc import Callable

import pytest
from _helpers import SpySelector, is_open, park, record

import refloop
from refloop import (
    ClosedError,
    Continuation,
    Loop,
    LoopError,
    recv,
    suspend,
    yield_now,
)

# ----------------------------------------------------------------- helpers


def reuse_descriptor(
    fd: int, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> tuple[socket.socket, socket.socket]:
    """A fresh connected pair whose first socket has descriptor number `fd`,
    which must be free. dup2 makes the reuse certain; the kernel's
    lowest-free-number rule would make it only likely."""
    spare, peer = make_pair()
    if spare.fileno() == fd:
        return spare, peer
    os.dup2(spare.fileno(), fd)
    spare.close()
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    return sock, peer


def stale_reader(
    loop: Loop,
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
    outcome: dict[str, object],
) -> tuple[int, socket.socket, socket.socket]:
    """A task parked reading a socket that is then closed behind the loop's
    back (its ClosedError goes to outcome["old"]), and a fresh pair whose
    first socket reuses the descriptor: (fd, new, its peer)."""
    old, _ = make_pair()

    async def old_reader() -> None:
        try:
            await recv(old, 10)
        except ClosedError as err:
            outcome["old"] = err

    loop.spawn(old_reader())
    loop.run_once(0)
    loop.run_once(0)  # the old registration reaches the selector
    fd = old.fileno()
    old.close()  # behind the loop's back
    new, peer = reuse_descriptor(fd, make_pair)
    return fd, new, peer


# ------------------------------------------------------------ iterations


@pytest.mark.spec("tick.poll-timeout")
def test_poll_does_not_wait_when_a_task_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()
    loop.spawn(refloop.recv(a, 1))
    loop.run_once(0)  # the reader parks
    spy.timeouts.clear()
    loop.spawn(record([], 1))
    loop.run_once(5.0)
    loop.spawn(record([], 2))
    loop.run_once(None)
    assert spy.timeouts == [0, 0]


@pytest.mark.spec("tick.poll-skip")
def test_no_poll_when_nothing_waits_and_a_task_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    log: list[object] = []
    loop.spawn(record(log, 1))
    loop.run_once(5.0)
    assert (spy.timeouts, log) == ([], [1])
    # A call posted from another thread is taken without a poll.
    loop.call_soon_threadsafe(log.append, "posted")
    loop.spawn(record(log, 2))
    loop.run_once(None)
    assert (spy.timeouts, log) == ([], [1, "posted", 2])
    # With a reader parked, the same iteration polls without waiting.
    a, _ = make_pair()
    loop.spawn(refloop.recv(a, 1))
    loop.run_once(0)
    spy.timeouts.clear()
    loop.spawn(record(log, 3))
    loop.run_once(5.0)
    assert spy.timeouts == [0]


@pytest.mark.spec("tick.poll-timeout")
def test_poll_uses_the_run_once_timeout_when_nothing_is_runnable(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()
    loop.spawn(recv(a, 1))
    loop.run_once(0.25)  # the task runs and parks
    spy.timeouts.clear()
    loop.run_once(0.25)
    loop.run_once(None)
    loop.run_once()
    assert spy.timeouts == [0.25, None, None]


@pytest.mark.spec("tick.poll-timeout", "tick.ready-snapshot")
def test_a_busy_task_cannot_starve_io(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, b = make_pair()
    spins: list[int] = []

    async def busy() -> None:
        for i in range(1000):
            spins.append(i)
            await yield_now()

    reader = loop.spawn(recv(a, 10))
    loop.spawn(busy())
    loop.run_once(None)  # the reader parks, busy is requeued
    b.send(b"data")
    loop.run_once(None)  # polled without waiting: the reader is woken
    loop.run_once(None)
    assert reader.result() == b"data"
    assert len(spins) == 3
    # Only the second iteration had a waiter to poll for (tick.poll-skip).
    assert spy.timeouts == [0]


@pytest.mark.spec("tick.ready-snapshot")
def test_run_once_runs_exactly_the_tasks_runnable_at_the_drain(loop: Loop) -> None:
    log: list[object] = []
    box: list[Continuation] = []

    async def a() -> None:
        log.append("a1")
        await yield_now()
        log.append("a2")

    async def b() -> None:
        log.append("b1")
        box[0]("woken by b")

    parked = loop.spawn(park(box))
    loop.run_once(0)
    loop.spawn(a())
    loop.spawn(b())
    loop.run_once(0)
    assert log == ["a1", "b1"]
    assert parked.state == "runnable"
    loop.run_once(0)
    assert log == ["a1", "b1", "a2"]
    assert parked.result() == "woken by b"


@pytest.mark.spec("op.yield", "tick.ready-snapshot")
def test_yield_now_goes_to_the_back_of_the_queue(loop: Loop) -> None:
    log: list[object] = []

    async def a() -> None:
        log.append("a1")
        await yield_now()
        log.append("a2")

    loop.spawn(a())
    loop.spawn(record(log, "b"))
    loop.spawn(record(log, "c"))
    loop.run_once(0)
    assert log == ["a1", "b", "c"]
    loop.run_once(0)
    assert log == ["a1", "b", "c", "a2"]


@pytest.mark.spec("op.yield")
def test_yield_now_outside_a_loop_raises_loop_error() -> None:
    coro = yield_now()
    with pytest.raises(LoopError, match="inside a refloop task"):
        coro.send(None)


@pytest.mark.spec("tick.wake-order", "io.ready")
@pytest.mark.parametrize("reverse", [False, True], ids=["kernel", "reversed"])
def test_ready_waiters_wake_oldest_registration_first(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
    reverse: bool,
) -> None:
    spy = SpySelector(reverse=reverse)
    loop = make_loop(selector=spy)
    a1, b1 = make_pair()
    a2, b2 = make_pair()
    woken: list[str] = []

    async def late() -> None:
        await yield_now()
        await recv(a1, 10)
        woken.append("late")

    async def early() -> None:
        await recv(a2, 10)
        woken.append("early")

    # spawned first, registers second
    loop.spawn(late(), name="late")
    loop.spawn(early(), name="early")
    loop.run_once(0)
    loop.run_once(0)
    assert [w.task.name for w in loop.waiters()] == ["early", "late"]
    b1.send(b"x")
    b2.send(b"y")
    loop.run_once(0)
    assert len(spy.events[-1]) == 2, "both sockets must be ready in one poll"
    assert woken == ["early", "late"]


@pytest.mark.spec("tick.wake-order")
def test_both_directions_of_one_socket_wake_oldest_first(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, b = make_pair()
    while True:  # fill a's send buffer so that a writer must wait
        try:
            a.send(b"f" * 65536)
        except BlockingIOError:
            break
    woken: list[str] = []

    async def writer() -> None:
        await refloop.send(a, b"w")
        woken.append("writer")

    async def reader() -> None:
        await recv(a, 10)
        woken.append("reader")

    loop.spawn(writer())
    loop.spawn(reader())
    loop.run_once(0)
    assert [w.direction for w in loop.waiters()] == ["write", "read"]
    while True:  # the peer drains the buffer and answers
        try:
            b.recv(1 << 20)
        except BlockingIOError:
            break
    b.send(b"r")
    loop.run_once(0)
    # one event carries both directions; the loop still orders them
    assert spy.events[-1][0][1] == selectors.EVENT_READ | selectors.EVENT_WRITE
    assert woken == ["writer", "reader"]


@pytest.mark.spec("io.stale-descriptor")
def test_a_descriptor_reused_behind_the_loops_back(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    outcome: dict[str, object] = {}

    async def new_reader(sock: socket.socket) -> None:
        outcome["new"] = await recv(sock, 10)

    _, new, peer = stale_reader(loop, make_pair, outcome)
    try:
        loop.spawn(new_reader(new))
        loop.run_once(0)
        assert [w.sock for w in loop.waiters()] == [new]
        peer.send(b"fresh")
        for _ in range(3):
            loop.run_once(0)
    finally:
        new.close()
    assert outcome["new"] == b"fresh"
    assert isinstance(outcome["old"], ClosedError)
    assert " was closed without refloop.close() while " in str(outcome["old"])
    assert loop.waiters() == []


@pytest.mark.spec("io.stale-descriptor", "io.interest")
def test_a_waiter_on_a_reused_descriptor_leaves_no_registration(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    """The fresh record made for a reused descriptor is kept under that
    descriptor: once its waiter is woken, the selector stops watching it."""
    spy = SpySelector()
    loop = make_loop(selector=spy)
    old, _ = make_pair()

    async def reader(sock: socket.socket) -> None:
        with contextlib.suppress(ClosedError):
            await recv(sock, 10)

    loop.spawn(reader(old))
    loop.run_once(0)
    loop.run_once(0)
    fd = old.fileno()
    old.close()  # behind the loop's back
    new, peer = reuse_descriptor(fd, make_pair)
    try:
        loop.spawn(reader(new))
        loop.run_once(0)
        loop.run_once(0)
        assert fd in {key.fd for key in spy.get_map().values()}
        peer.send(b"x")
        for _ in range(3):
            loop.run_once(0)
        assert loop.waiters() == []
        assert fd not in {key.fd for key in spy.get_map().values()}
    finally:
        new.close()


@pytest.mark.spec("io.stale-descriptor", "io.close.wakes")
def test_closing_a_socket_that_reuses_a_stale_descriptor(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    outcome: dict[str, object] = {}
    fd, new, _ = stale_reader(loop, make_pair, outcome)

    async def closer() -> None:
        refloop.close(new)
        outcome["closed"] = not is_open(fd)

    loop.spawn(closer())
    try:
        for _ in range(2):
            loop.run_once(0)
    finally:
        new.close()
    assert outcome["closed"] is True
    assert isinstance(outcome["old"], ClosedError)
    assert " was closed without refloop.close() while " in str(outcome["old"])
    assert loop.waiters() == []


@pytest.mark.spec("cont.one-shot")
def test_a_continuations_repr_names_its_task_and_whether_it_was_resumed(
    loop: Loop,
) -> None:
    """Found by mutation testing: nothing looked at this repr, which is what
    a ResumeError and a debugger show."""
    held: list[Continuation] = []

    async def parked() -> None:
        await suspend(held.append)

    task = loop.spawn(parked(), name="parked")
    loop.run_once(0)
    [k] = held
    assert repr(k) == f"<Continuation of {task!r} pending>"
    k()
    assert repr(k) == f"<Continuation of {task!r} resumed>"
    loop.run_once(0)


@pytest.mark.spec("io.close.unregister-first")
def test_closing_a_watched_socket_leaves_no_record_of_it(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Found by mutation testing: the loop kept the record of a socket closed
    through refloop until its descriptor number was reused. (White-box: the
    table is the waiters part's own, checked for its memory.)"""
    a, _ = make_pair()

    async def reader() -> None:
        with contextlib.suppress(ClosedError):
            await recv(a, 1)

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    for _ in range(3):
        loop.run_once(0)
    assert loop.waiters() == []
    assert loop._waiters._fdmap == {}


@pytest.mark.spec("io.close.wakes", "thread.post")
def test_a_posted_call_may_close_a_socket_the_same_poll_found_ready(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Posted calls run after the poll and before its wakeups: the waiter of
    a socket they close is woken with ClosedError once, and the poll's stale
    event for it is ignored (found by mutation testing)."""
    a, b = make_pair()
    outcome: list[object] = []

    async def reader() -> None:
        try:
            outcome.append(await recv(a, 1))
        except ClosedError as err:
            outcome.append(type(err))

    loop.spawn(reader())
    loop.run_once(0)
    b.send(b"x")
    loop.call_soon_threadsafe(refloop.close, a)
    for _ in range(3):
        loop.run_once(0)
    assert outcome == [ClosedError]
    assert loop.waiters() == []


@pytest.mark.spec("tick.poll-skip", "io.close.wakes")
def test_after_a_close_wakes_the_last_waiter_the_loop_skips_the_poll(
    make_loop: Callable[..., Loop],
    make_pair: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    """Closing counts the woken waiters out (found by mutation testing: a
    miscount made every later iteration poll for nothing)."""
    spy = SpySelector()
    loop = make_loop(selector=spy)
    a, _ = make_pair()

    async def reader() -> None:
        with contextlib.suppress(ClosedError):
            await recv(a, 1)

    async def closer() -> None:
        refloop.close(a)
        for _ in range(5):
            await yield_now()

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    loop.run_once(0)
    polls = len(spy.timeouts)
    for _ in range(3):
        loop.run_once(0)
    assert len(spy.timeouts) == polls


@pytest.mark.spec("io.close.wakes")
def test_a_waiter_woken_by_a_close_is_told_the_socket_was_closed(
    loop: Loop, make_pair: Callable[[], tuple[socket.socket, socket.socket]]
) -> None:
    """Found by mutation testing: nothing read the message, so a close taken
    for a stale descriptor went unnoticed."""
    a, _ = make_pair()
    name = repr(a)
    outcome: list[str] = []

    async def reader() -> None:
        try:
            await recv(a, 1)
        except ClosedError as err:
            outcome.append(str(err))

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(reader())
    loop.run_once(0)
    loop.run_once(0)
    loop.spawn(closer())
    for _ in range(3):
        loop.run_once(0)
    [message] = outcome
    assert message.startswith(f"{name} was closed while <Task ")
