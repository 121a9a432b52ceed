"""The waiters' table as mutation testing found it under-tested
(docs/mutation.md, fourth run; refloop/_waiters.py): `refloop.close(sock)`
finding the loop that knows the socket (io.close.anywhere), and the sockets
Ctrl-C closes (loop.sigint: those a task waits on, in either direction)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from _helpers import SpySelector

import refloop
from refloop import ClosedError, Loop, LoopError


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for a, b in made:
        a.close()
        b.close()


def _pair(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    pairs.append((a, b))
    return a, b


def _fill(sock: socket.socket) -> None:
    """Fill `sock`'s send buffer, so that the next send must wait."""
    try:
        while True:
            sock.send(b"x" * 65536)
    except BlockingIOError:
        pass


async def _recv(sock: socket.socket) -> bytes:
    return await refloop.recv(sock, 1)


@pytest.mark.spec("io.close.anywhere", "io.close.wakes")
def test_refloop_close_between_iterations_goes_to_the_loop_that_knows_the_socket(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    a, _ = _pair(pairs)
    reader = loop.spawn(_recv(a))
    loop.run_once(timeout=0)
    assert [w.sock for w in loop.waiters()] == [a]
    refloop.close(a)  # no loop runs: found among the open loops
    assert a.fileno() == -1
    assert loop.waiters() == []
    loop.run_once(timeout=0)
    assert isinstance(reader.exception(), ClosedError)


@pytest.mark.spec("io.close.anywhere", "thread.owner")
def test_refloop_close_from_another_thread_is_refused_and_the_socket_stays_open(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    a, b = _pair(pairs)
    reader = loop.spawn(_recv(a))
    loop.run_once(timeout=0)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            refloop.close(a)
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target, name="intruder")
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], LoopError)
    # Refused: the socket is open and the reader still waits on it.
    assert a.fileno() != -1
    assert [(w.sock, w.task) for w in loop.waiters()] == [(a, reader)]
    b.send(b"z")
    loop.run_once(timeout=1)
    loop.run_once(timeout=0)
    assert reader.result() == b"z"


@pytest.mark.spec("io.close.anywhere")
def test_refloop_close_of_a_socket_no_loop_knows_just_closes_it(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    a, _ = _pair(pairs)
    c, _ = _pair(pairs)
    reader = loop.spawn(_recv(a))
    loop.run_once(timeout=0)
    refloop.close(c)
    assert c.fileno() == -1
    # The other socket's waiter is untouched.
    assert [(w.sock, w.task) for w in loop.waiters()] == [(a, reader)]


@pytest.mark.spec("loop.sigint")
def test_the_sockets_ctrl_c_closes_are_those_a_task_waits_on_either_way(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    """White-box: the list `run()` closes after Ctrl-C's wind-down
    (refloop/_lifecycle.py), asked for directly."""
    reading, _ = _pair(pairs)
    writing, _ = _pair(pairs)
    woken, woken_peer = _pair(pairs)
    _fill(writing)

    async def send() -> None:
        await refloop.send(writing, b"y" * 65536)

    loop.spawn(_recv(reading))
    loop.spawn(send())
    done = loop.spawn(_recv(woken))
    loop.run_once(timeout=0)
    assert [(w.sock, w.direction) for w in loop.waiters()] == [
        (reading, "read"),
        (writing, "write"),
        (woken, "read"),
    ]
    woken_peer.send(b"!")
    loop.run_once(timeout=1)  # its reader is woken; its slot keeps the mask
    assert done.result() == b"!"
    assert woken.fileno() in loop._waiters._fdmap  # not yet brought in line
    # A reader's socket and a writer's socket, not the one nobody waits on.
    assert set(loop._waiters.sockets()) == {reading, writing}
    assert len(loop._waiters.sockets()) == 2


def _park_readers(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]], n: int
) -> tuple[list[tuple[socket.socket, socket.socket]], list[refloop.Task[bytes]]]:
    made = [_pair(pairs) for _ in range(n)]
    readers = [loop.spawn(_recv(a)) for a, _ in made]
    loop.run_once(timeout=0)  # they park; the selector is told at the next poll
    assert len(loop.waiters()) == n
    assert loop._waiters.count == n  # what decides whether to poll
    return made, readers


def _last_synced(loop: Loop, made: list[tuple[socket.socket, socket.socket]]) -> int:
    """Which pair's descriptor the next sync() comes to last (white-box: the
    order of the set of changed descriptors)."""
    order = list(loop._waiters.changed)
    return max(range(len(made)), key=lambda i: order.index(made[i][0].fileno()))


@pytest.mark.spec("io.interest", "io.close.wakes")
def test_a_socket_closed_before_the_poll_does_not_keep_the_others_from_being_watched(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    made, readers = _park_readers(loop, pairs, 4)
    keep = _last_synced(loop, made)
    for i, (a, _) in enumerate(made):
        if i != keep:
            refloop.close(a)  # between iterations: its slot leaves the table
    made[keep][1].send(b"k")
    for _ in range(5):
        if all(reader.done() for reader in readers):
            break
        loop.run_once(timeout=1)
    assert readers[keep].result() == b"k"
    for i, reader in enumerate(readers):
        if i != keep:
            assert isinstance(reader.exception(), ClosedError)


@pytest.mark.spec("io.stale-descriptor", "io.interest")
def test_a_socket_closed_behind_the_loops_back_does_not_keep_the_others_watched(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    made, readers = _park_readers(loop, pairs, 4)
    keep = _last_synced(loop, made)
    for i, (a, _) in enumerate(made):
        if i != keep:
            a.close()  # not through refloop: the selector refuses the fd
    made[keep][1].send(b"k")
    for _ in range(5):
        if all(reader.done() for reader in readers):
            break
        loop.run_once(timeout=1)
    assert readers[keep].result() == b"k"
    for i, reader in enumerate(readers):
        if i != keep:
            error = reader.exception()
            assert isinstance(error, ClosedError)
            assert "was closed without refloop.close() while " in str(error)
    assert [w.sock for w in loop.waiters()] == []


@pytest.mark.spec("cancel.waiting", "io.wait.one-per-direction", "io.interest")
def test_a_cancelled_reader_leaves_its_place_to_the_next_one(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    a, b = _pair(pairs)
    first = loop.spawn(_recv(a))
    loop.run_once(timeout=0)
    first.cancel()
    loop.run_once(timeout=0)
    assert first.cancelled()
    assert loop.waiters() == []
    assert loop._waiters.count == 0
    # The direction is free again: another task may wait there, and is woken.
    second = loop.spawn(_recv(a))
    loop.run_once(timeout=0)
    assert [(w.sock, w.task) for w in loop.waiters()] == [(a, second)]
    b.send(b"2")
    for _ in range(3):
        if second.done():
            break
        loop.run_once(timeout=1)
    assert second.result() == b"2"


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_second_waiter_in_either_direction_is_refused_with_the_rule(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    a, _ = _pair(pairs)
    _fill(a)

    async def send() -> None:
        await refloop.send(a, b"y" * 65536)

    reader = loop.spawn(_recv(a))
    writer = loop.spawn(send())
    loop.run_once(timeout=0)
    second_reader = loop.spawn(_recv(a))
    second_writer = loop.spawn(send())
    loop.run_once(timeout=0)
    rule = "at most one task may wait per socket and direction"
    for refused, holder, role in (
        (second_reader, reader, "reader"),
        (second_writer, writer, "writer"),
    ):
        error = refused.exception()
        assert isinstance(error, refloop.BusyError)
        assert str(error) == f"{a!r} already has a {role}, {holder!r}; {rule}"
    assert [(w.direction, w.task) for w in loop.waiters()] == [
        ("read", reader),
        ("write", writer),
    ]


@pytest.mark.spec("io.wait")
def test_a_socket_ready_to_read_wakes_its_reader_not_its_writer(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    woken: list[object] = []

    def trace(event: str, task: object) -> None:
        if event == "wake":
            woken.append(task)

    loop = Loop(trace=trace)
    try:
        a, b = _pair(pairs)
        _fill(a)

        async def send() -> None:
            await refloop.send(a, b"y" * 65536)

        reader = loop.spawn(_recv(a))
        writer = loop.spawn(send())
        loop.run_once(timeout=0)
        b.send(b"r")  # readable; the send buffer stays full
        loop.run_once(timeout=1)
        assert woken == [reader]
        assert reader.result() == b"r"
        assert [(w.direction, w.task) for w in loop.waiters()] == [("write", writer)]
    finally:
        loop.close()


@pytest.mark.spec("io.interest", "cancel.waiting")
def test_waiters_cancelled_before_the_poll_do_not_keep_the_others_from_being_watched(
    loop: Loop, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    made, readers = _park_readers(loop, pairs, 4)
    keep = _last_synced(loop, made)
    for i, reader in enumerate(readers):
        if i != keep:
            reader.cancel()  # unparked before the selector was ever told
    made[keep][1].send(b"k")
    for _ in range(5):
        if all(reader.done() for reader in readers):
            break
        loop.run_once(timeout=1)
    assert readers[keep].result() == b"k"
    assert all(r.cancelled() for i, r in enumerate(readers) if i != keep)


@pytest.mark.spec("tick.wake-order")
def test_several_waiters_woken_in_one_iteration_run_oldest_registration_first(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    woken: list[object] = []

    def trace(event: str, task: object) -> None:
        if event == "wake":
            woken.append(task)

    # The kernel's events in reverse order: the loop must sort them.
    loop = Loop(trace=trace, selector=SpySelector(reverse=True))
    try:
        made, readers = _park_readers(loop, pairs, 4)
        loop.run_once(timeout=0)  # registered
        for _, b in made:
            b.send(b"w")
        loop.run_once(timeout=1)
        assert woken == readers
        assert [r.result() for r in readers] == [b"w"] * 4
    finally:
        loop.close()


def _drain_peer(sock: socket.socket) -> None:
    """Read what `sock` holds, so that its peer becomes writable again."""
    try:
        while sock.recv(1 << 16):
            pass
    except BlockingIOError:
        pass


@pytest.mark.spec("tick.wake-order", "io.ready")
def test_only_the_writer_wakes_when_its_socket_is_only_writable(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    # Waiters.ready 7: a reader and a writer on one socket, and only the
    # write side ready: the reader must not be woken.
    a, b = _pair(pairs)
    _fill(a)
    woken: list[str] = []
    loop = Loop(
        trace=lambda what, task: woken.append(task.name) if what == "wake" else None
    )
    try:
        loop.spawn(refloop.recv(a, 1), name="reader")
        loop.spawn(refloop.send(a, b"x"), name="writer")
        loop.run_once(0)
        assert woken == []
        _drain_peer(b)
        loop.run_once(0)
        assert woken == ["writer"]
        assert [w.direction for w in loop.snapshot().waiters] == ["read"]
    finally:
        loop.close()


@pytest.mark.spec("io.interest")
def test_a_woken_writers_interest_is_withdrawn_at_the_next_poll(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> None:
    # Waiters.ready 17: the woken writer's descriptor must be marked changed,
    # or its write interest stays registered and every poll returns at once.
    a, b = _pair(pairs)
    _fill(a)
    loop = Loop()
    try:
        writer = loop.spawn(refloop.send(a, b"x"))
        loop.run_once(0)  # it parks
        loop.run_once(0)  # its interest is registered before the poll
        assert a.fileno() in loop._selector.get_map()
        _drain_peer(b)
        loop.run_once(0)  # the writer wakes and sends
        assert writer.done() and writer.result() == 1
        loop.run_once(0)  # the next iteration syncs the interest set
        assert a.fileno() not in loop._selector.get_map()
    finally:
        loop.close()
