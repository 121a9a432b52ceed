"""Persistent readers and writers on refloop's table of waiters
(spec/13-asyncio.md, aio.watch.*)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator

import pytest

import refloop
import refloop.aio
from refloop import BusyError
from refloop.aio import RefloopEventLoop


@pytest.fixture
def loop() -> Iterator[RefloopEventLoop]:
    made = refloop.aio.new_event_loop()
    yield made
    made.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def one_iteration(loop: asyncio.AbstractEventLoop) -> None:
    loop.stop()
    loop.run_forever()


@pytest.mark.spec("aio.watch.level")
def test_a_reader_is_persistent_and_level_triggered(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[int] = []
    loop.add_reader(a, calls.append, 1)
    one_iteration(loop)
    assert calls == []  # not ready yet
    b.send(b"xy")
    one_iteration(loop)
    one_iteration(loop)
    assert calls == [1, 1]  # still ready, not read: runs again
    a.recv(10)
    one_iteration(loop)
    assert calls == [1, 1]
    assert loop.remove_reader(a) is True
    assert loop.remove_reader(a) is False
    assert loop._core.watchers() == [] and a.fileno() not in loop._core._waiters.fds()


@pytest.mark.spec("aio.watch.replace")
def test_add_reader_replaces_silently_and_cancels_the_old_handle(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    seen: list[str] = []
    first = loop._add_reader(a.fileno(), seen.append, "first")
    second = loop._add_reader(a.fileno(), seen.append, "second")
    assert first.cancelled() and not second.cancelled()
    b.send(b"x")
    one_iteration(loop)
    assert seen == ["second"]
    assert [w[2] for w in loop._core.watchers()] == [second]


@pytest.mark.spec("aio.watch.remove", "aio.cancelled-skip")
def test_a_reader_removed_by_an_earlier_callback_does_not_run(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    seen: list[str] = []
    # The writer is older, so it runs first in the iteration where both are
    # ready, and removes the reader that is already queued behind it.
    loop.add_writer(a, lambda: (seen.append("writer"), loop.remove_reader(a)))
    loop.add_reader(a, seen.append, "reader")
    b.send(b"x")
    one_iteration(loop)
    assert seen == ["writer"]


@pytest.mark.spec("aio.watch.order")
def test_ready_watchers_run_oldest_registration_first(
    loop: RefloopEventLoop,
) -> None:
    pairs = [socket.socketpair() for _ in range(4)]
    try:
        seen: list[int] = []
        order = [2, 0, 3, 1]
        for n in order:
            loop.add_reader(pairs[n][0], seen.append, n)
        for n in range(4):  # made ready in another order
            pairs[n][1].send(b"x")
        one_iteration(loop)
        assert seen == order
        # A replacement is a new registration: it goes last.
        loop.add_reader(pairs[2][0], seen.append, 22)
        seen.clear()
        one_iteration(loop)
        assert seen == [0, 3, 1, 22]
    finally:
        for x, y in pairs:
            loop.remove_reader(x)
            x.close()
            y.close()


@pytest.mark.spec("aio.watch.validate", "aio.not-callable")
def test_a_bad_descriptor_is_refused_and_changes_nothing(
    loop: RefloopEventLoop,
) -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        loop.add_reader(r, print)
    with pytest.raises(ValueError):
        loop.add_reader(-1, print)
    with pytest.raises(ValueError):
        loop.add_writer("not a file", print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="add_reader"):
        loop.add_reader(0, "not callable")  # type: ignore[arg-type]
    assert loop._core.watchers() == [] and loop._core._waiters.fds() == set()


@pytest.mark.spec("aio.watch.exclusive")
def test_a_native_waiter_and_a_watcher_do_not_share_a_direction(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair

    async def native_reader() -> bytes:
        return await refloop.recv(a, 10)

    task = loop.spawn(native_reader())
    one_iteration(loop)  # the task now waits on a for reading
    with pytest.raises(BusyError, match="native refloop waiter"):
        loop.add_reader(a, print)
    assert loop._core.watchers() == []
    # The other direction is free, and shares the slot.
    writable: list[str] = []
    loop.add_writer(a, lambda: (writable.append("w"), loop.remove_writer(a)))
    b.send(b"data")
    one_iteration(loop)
    one_iteration(loop)
    assert writable == ["w"] and task.result() == b"data"


@pytest.mark.spec("aio.watch.exclusive")
def test_a_native_task_cannot_wait_where_a_watcher_is(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    loop.add_reader(a, print)

    async def native_reader() -> bytes:
        return await refloop.recv(a, 10)

    task = loop.spawn(native_reader())
    one_iteration(loop)
    with pytest.raises(BusyError, match="asyncio reader callback"):
        task.result()
    assert len(loop._core.watchers()) == 1


@pytest.mark.spec("aio.watch.level")
def test_writer_runs_while_writable(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    calls: list[str] = []
    handle = loop.add_writer(a, calls.append, "w")
    one_iteration(loop)
    one_iteration(loop)
    assert calls == ["w", "w"]
    assert loop.remove_writer(a)
    assert handle is None or handle.cancelled()
    one_iteration(loop)
    assert calls == ["w", "w"]


@pytest.mark.spec("aio.close")
def test_close_forgets_watchers_and_unregisters(
    loop: RefloopEventLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    loop.add_reader(a, print)
    loop.add_writer(b, print)
    selector = loop._core._selector
    loop.close()
    assert loop._core._waiters.fds() == set()
    assert loop.remove_reader(a) is False
    assert selector.get_map() is None  # closed


@pytest.mark.spec("aio.watch.order")
@pytest.mark.parametrize("reader_first", [True, False])
def test_a_reader_and_a_writer_of_one_descriptor_run_in_registration_order(
    loop: RefloopEventLoop,
    pair: tuple[socket.socket, socket.socket],
    reader_first: bool,
) -> None:
    a, b = pair
    seen: list[str] = []
    adds = [
        lambda: loop.add_reader(a, seen.append, "reader"),
        lambda: loop.add_writer(a, seen.append, "writer"),
    ]
    for add in adds if reader_first else adds[::-1]:
        add()
    b.send(b"x")
    one_iteration(loop)
    expected = ["reader", "writer"] if reader_first else ["writer", "reader"]
    assert seen == expected
    loop.remove_reader(a)
    loop.remove_writer(a)
