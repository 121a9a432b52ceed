"""Unit tests for the socket operations and the waiters they park: recv,
send, sendall, accept and connect over socket pairs and TCP on 127.0.0.1.

Whether an operation suspended is read from the loop's trace (each "run" of
a task after its first is a resumption), never from timing.
"""

from __future__ import annotations

import array
import errno
import os
import select
import selectors
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import refloop
from refloop import (
    BusyError,
    ClosedError,
    Loop,
    LoopError,
    Task,
    accept,
    connect,
    recv,
    send,
    sendall,
    yield_now,
)

Pair = tuple[socket.socket, socket.socket]

# ----------------------------------------------------------------- helpers


class Steps:
    """A loop tracer counting how many times each task was stepped."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}

    def __call__(self, event: str, task: Task[Any]) -> None:
        if event == "run":
            self.runs[task.name] = self.runs.get(task.name, 0) + 1


class SpySelector(selectors.DefaultSelector):
    """The real selector, recording registrations and whether a descriptor
    was still open when it was unregistered."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: list[int] = []
        self.unregistered: list[tuple[int, bool]] = []

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        key = super().register(fileobj, events, data)
        if data is not None:  # not the loop's own wakeup socket
            self.registered.append(key.fd)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        try:
            os.fstat(fd)
            still_open = True
        except OSError:
            still_open = False
        key = super().unregister(fileobj)
        if key.data is not None:  # not the loop's own wakeup socket
            self.unregistered.append((fd, still_open))
        return key


@pytest.fixture
def make_loop() -> Iterator[Callable[..., Loop]]:
    loops: list[Loop] = []

    def make(**kwargs: Any) -> Loop:
        loop = Loop(**kwargs)
        loops.append(loop)
        return loop

    yield make
    for loop in loops:
        loop.close()


@pytest.fixture
def loop(make_loop: Callable[..., Loop]) -> Loop:
    return make_loop()


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test made; closed when it ends."""
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


@pytest.fixture
def make_pair(sockets: list[socket.socket]) -> Callable[[], Pair]:
    def make() -> Pair:
        a, b = socket.socketpair()
        sockets.extend((a, b))
        a.setblocking(False)
        b.setblocking(False)
        return a, b

    return make


@pytest.fixture
def pair(make_pair: Callable[[], Pair]) -> Pair:
    return make_pair()


@pytest.fixture
def tcp(sockets: list[socket.socket]) -> Callable[[], socket.socket]:
    """A factory of non-blocking IPv4 TCP sockets."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sockets.append(sock)
        sock.setblocking(False)
        return sock

    return make


@pytest.fixture
def listener(tcp: Callable[[], socket.socket]) -> socket.socket:
    sock = tcp()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def fill(sock: socket.socket) -> None:
    """Send until the kernel will take no more, so a writer must wait."""
    chunk = b"f" * 65536
    while True:
        try:
            sock.send(chunk)
        except BlockingIOError:
            return


def drain(sock: socket.socket) -> int:
    """Receive everything waiting; return how many bytes."""
    total = 0
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return total
        if not data:
            return total
        total += len(data)


# --------------------------------------------------------------- try-first


@pytest.mark.spec("op.try-first")
def test_recv_with_data_ready_does_not_suspend(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    spy = SpySelector()
    loop = make_loop(trace=steps, selector=spy)
    b.send(b"ready")

    async def main() -> bytes:
        return await recv(a, 100)

    assert loop.run(main()) == b"ready"
    assert steps.runs == {"main": 1}
    assert spy.registered == []


@pytest.mark.spec("op.try-first", "io.wait")
def test_recv_without_data_suspends_and_tries_again(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    spy = SpySelector()
    loop = make_loop(trace=steps, selector=spy)
    reader = loop.spawn(recv(a, 100), name="reader")
    loop.run_once(0)
    assert reader.state == "waiting"
    (waiter,) = loop.waiters()
    assert (waiter.sock, waiter.direction, waiter.task) == (a, "read", reader)
    loop.run_once(0)
    assert spy.registered == [a.fileno()]
    assert reader.state == "waiting"
    b.send(b"late")
    loop.run_once(0)
    assert reader.result() == b"late"
    assert steps.runs == {"reader": 2}
    assert loop.waiters() == []


@pytest.mark.spec("op.try-first")
def test_send_with_room_does_not_suspend(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    loop = make_loop(trace=steps)

    async def main() -> int:
        return await send(a, b"hello")

    assert loop.run(main()) == 5
    assert b.recv(100) == b"hello"
    assert steps.runs == {"main": 1}


@pytest.mark.spec("op.try-first", "op.accept")
def test_accept_with_a_pending_connection_does_not_suspend(
    make_loop: Callable[..., Loop],
    listener: socket.socket,
    sockets: list[socket.socket],
) -> None:
    steps = Steps()
    loop = make_loop(trace=steps)
    client = socket.create_connection(listener.getsockname())
    sockets.append(client)
    # make sure the connection has reached the accept queue
    assert select.select([listener], [], [], 10)[0] == [listener]

    async def main() -> tuple[socket.socket, Any]:
        return await accept(listener)

    conn, address = loop.run(main())
    sockets.append(conn)
    assert steps.runs == {"main": 1}
    assert address == client.getsockname()
    assert conn.gettimeout() == 0.0


# ------------------------------------------------------------------ budget


@pytest.mark.spec("op.budget")
def test_the_budget_makes_a_task_that_always_finds_data_yield(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    loop = make_loop(budget=3)
    b.send(bytes(range(10)))
    log: list[object] = []

    async def greedy() -> None:
        for _ in range(10):
            log.append(await recv(a, 1))

    async def other() -> None:
        log.append("other")

    async def main() -> None:
        first = refloop.spawn(greedy())
        second = refloop.spawn(other())
        await first.join()
        await second.join()

    loop.run(main())
    # three receives, then greedy yields and other runs
    assert log.index("other") == 3
    assert b"".join(x for x in log if isinstance(x, bytes)) == bytes(range(10))


@pytest.mark.spec("op.budget")
@pytest.mark.parametrize("budget", [1, 3, 4, 10])
def test_a_task_yields_once_per_budget_of_operations(
    make_loop: Callable[..., Loop], pair: Pair, budget: int
) -> None:
    a, b = pair
    steps = Steps()
    loop = make_loop(budget=budget, trace=steps)
    b.send(b"x" * 12)

    async def main() -> None:
        for _ in range(12):
            assert await recv(a, 1) == b"x"

    loop.run(main())
    # the first step, then one more each time the count reaches the budget
    # with operations still to do
    assert steps.runs["main"] == 1 + (12 - 1) // budget


@pytest.mark.spec("op.budget")
def test_any_suspension_restarts_the_count(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    loop = make_loop(budget=3, trace=steps)
    b.send(b"x" * 5)

    async def main() -> None:
        await recv(a, 1)
        await recv(a, 1)
        await yield_now()  # the count restarts here
        for _ in range(3):
            await recv(a, 1)

    loop.run(main())
    assert steps.runs["main"] == 2


@pytest.mark.spec("op.budget", "op.sendall")
def test_every_send_of_a_sendall_counts(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    loop = make_loop(budget=2, trace=steps)

    async def main() -> None:
        for _ in range(4):
            await sendall(a, b"ab")

    loop.run(main())
    assert b.recv(100) == b"ab" * 4
    assert steps.runs["main"] == 2


@pytest.mark.spec("op.budget")
@pytest.mark.parametrize("budget", [0, -1, 1.5, True, None])
def test_the_budget_must_be_a_positive_int(budget: Any) -> None:
    with pytest.raises(ValueError, match="budget must be a positive int"):
        Loop(budget=budget)


# ---------------------------------------------------------- one per direction


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_second_reader_gets_busy_error_naming_socket_and_holder(
    loop: Loop, pair: Pair
) -> None:
    a, b = pair
    errors: list[BusyError] = []

    async def second() -> None:
        with pytest.raises(BusyError) as info:
            await recv(a, 10)
        errors.append(info.value)

    first = loop.spawn(recv(a, 10), name="first-reader")
    loop.spawn(second(), name="second-reader")
    loop.run_once(0)
    (error,) = errors
    message = str(error)
    assert repr(a) in message
    assert repr(first) in message
    assert "'first-reader'" in message
    # the holder keeps its place
    assert [(w.task, w.direction) for w in loop.waiters()] == [(first, "read")]
    b.send(b"for first")
    loop.run_once(0)
    assert first.result() == b"for first"


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_second_writer_gets_busy_error(loop: Loop, pair: Pair) -> None:
    a, b = pair
    fill(a)
    errors: list[BusyError] = []

    async def second() -> None:
        with pytest.raises(BusyError, match="already has a writer") as info:
            await send(a, b"2")
        errors.append(info.value)

    first = loop.spawn(send(a, b"1"), name="first-writer")
    loop.spawn(second())
    loop.run_once(0)
    (error,) = errors
    assert repr(a) in str(error)
    assert "'first-writer'" in str(error)
    drain(b)
    loop.run_once(0)
    assert first.result() == 1


@pytest.mark.spec("io.wait.one-per-direction")
def test_a_reader_and_a_writer_may_share_a_socket(loop: Loop, pair: Pair) -> None:
    a, b = pair
    fill(a)
    reader = loop.spawn(recv(a, 10))
    writer = loop.spawn(send(a, b"w"))
    loop.run_once(0)
    assert [w.direction for w in loop.waiters()] == ["read", "write"]
    drain(b)
    b.send(b"r")
    loop.run_once(0)
    assert reader.result() == b"r"
    assert writer.result() == 1


@pytest.mark.spec("io.wait.one-per-direction", "io.wait")
def test_the_direction_is_free_again_once_the_waiter_is_woken(
    loop: Loop, pair: Pair
) -> None:
    a, b = pair
    first = loop.spawn(recv(a, 10))
    loop.run_once(0)
    b.send(b"one")
    loop.run_once(0)
    assert first.result() == b"one"
    second = loop.spawn(recv(a, 10))
    loop.run_once(0)
    assert [w.task for w in loop.waiters()] == [second]
    b.send(b"two")
    loop.run_once(0)
    assert second.result() == b"two"


# ------------------------------------------------------------------ closing


@pytest.mark.spec("io.closed.rejects")
@pytest.mark.parametrize("op", ["recv", "send", "sendall", "accept", "connect"])
def test_an_operation_on_a_socket_closed_through_refloop(
    loop: Loop, tcp: Callable[[], socket.socket], op: str
) -> None:
    sock = tcp()

    async def main() -> None:
        refloop.close(sock)
        if op == "recv":
            await recv(sock, 1)
        elif op == "send":
            await send(sock, b"x")
        elif op == "sendall":
            await sendall(sock, b"x")
        elif op == "accept":
            await accept(sock)
        else:
            await connect(sock, ("127.0.0.1", 9))

    with pytest.raises(ClosedError, match="closed") as info:
        loop.run(main())
    assert isinstance(info.value, OSError)
    assert repr(sock) in str(info.value)


@pytest.mark.spec("io.close.wakes", "io.wait")
def test_closing_wakes_every_waiter_oldest_first(loop: Loop, pair: Pair) -> None:
    a, _ = pair
    fill(a)
    log: list[str] = []
    messages: list[str] = []

    async def waiter(name: str, op: Any) -> None:
        try:
            await op
        except ClosedError as err:
            log.append(name)
            messages.append(str(err))

    async def closer() -> None:
        refloop.close(a)
        log.append("closer goes on")

    loop.spawn(waiter("writer", send(a, b"w")))
    loop.spawn(waiter("reader", recv(a, 1)))
    loop.run_once(0)
    assert len(loop.waiters()) == 2
    description = repr(a)
    loop.spawn(closer())
    loop.run_once(0)
    assert log == ["closer goes on"]
    assert loop.waiters() == []
    loop.run_once(0)
    assert log == ["closer goes on", "writer", "reader"]
    for message in messages:
        assert f"{description} was closed" in message
    assert a.fileno() == -1


@pytest.mark.spec("io.close.unregister-first")
def test_close_unregisters_before_closing_the_descriptor(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, _ = pair
    spy = SpySelector()
    loop = make_loop(selector=spy)
    fd = a.fileno()
    reader = loop.spawn(recv(a, 1))
    loop.run_once(0)
    loop.run_once(0)  # the registration reaches the selector
    assert spy.registered == [fd]

    async def closer() -> None:
        refloop.close(a)

    loop.spawn(closer())
    loop.run_once(0)
    loop.run_once(0)
    assert spy.unregistered == [(fd, True)]
    assert a.fileno() == -1
    assert isinstance(reader.exception(), ClosedError)


@pytest.mark.spec("io.close.wakes")
def test_closing_twice_and_outside_a_loop_is_harmless(pair: Pair) -> None:
    a, _ = pair
    refloop.close(a)
    refloop.close(a)
    assert a.fileno() == -1

    async def main() -> None:
        refloop.close(a)

    refloop.run(main())


# -------------------------------------------------------------- validation


@pytest.mark.spec("op.nonblocking")
@pytest.mark.parametrize("timeout", [None, 1.0], ids=["blocking", "timeout"])
def test_a_blocking_socket_is_refused(
    loop: Loop, tcp: Callable[[], socket.socket], timeout: float | None
) -> None:
    sock = tcp()
    sock.settimeout(timeout)

    async def main() -> None:
        await recv(sock, 1)

    with pytest.raises(ValueError, match=r"setblocking\(False\)") as info:
        loop.run(main())
    assert repr(sock) in str(info.value)


@pytest.mark.spec("op.nonblocking")
@pytest.mark.parametrize("op", ["recv", "send", "accept", "connect"])
def test_a_non_socket_is_refused(loop: Loop, op: str) -> None:
    async def main() -> None:
        if op == "recv":
            await recv("not a socket", 1)  # type: ignore[arg-type]
        elif op == "send":
            await send("not a socket", b"x")  # type: ignore[arg-type]
        elif op == "accept":
            await accept("not a socket")  # type: ignore[arg-type]
        else:
            await connect("not a socket", ("127.0.0.1", 9))  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="needs a socket"):
        loop.run(main())


@pytest.mark.spec("op.nonblocking")
def test_operations_outside_a_task_raise_loop_error(pair: Pair) -> None:
    a, _ = pair
    coro = recv(a, 1)
    with pytest.raises(LoopError, match="inside a refloop task"):
        coro.send(None)


# ------------------------------------------------------------------- recv


@pytest.mark.spec("op.recv.eof")
def test_recv_returns_empty_at_eof_already_there(loop: Loop, pair: Pair) -> None:
    a, b = pair
    b.send(b"last")
    b.close()

    async def main() -> list[bytes]:
        return [await recv(a, 100), await recv(a, 100), await recv(a, 100)]

    assert loop.run(main()) == [b"last", b"", b""]


@pytest.mark.spec("op.recv.eof", "io.ready")
def test_recv_wakes_with_empty_when_the_peer_closes(loop: Loop, pair: Pair) -> None:
    a, b = pair
    reader = loop.spawn(recv(a, 100))
    loop.run_once(0)
    assert reader.state == "waiting"
    b.close()
    loop.run_once(0)
    assert reader.result() == b""


@pytest.mark.spec("op.recv.eof")
def test_recv_returns_at_most_n_bytes(loop: Loop, pair: Pair) -> None:
    a, b = pair
    b.send(b"abcdef")

    async def main() -> list[bytes]:
        return [await recv(a, 4), await recv(a, 4)]

    assert loop.run(main()) == [b"abcd", b"ef"]


@pytest.mark.spec("op.recv.eof")
@pytest.mark.parametrize("nbytes", [0, -1, 1.0, None])
def test_recv_needs_a_positive_count(loop: Loop, pair: Pair, nbytes: Any) -> None:
    a, b = pair
    b.send(b"data")

    async def main() -> bytes:
        return await recv(a, nbytes)

    with pytest.raises(ValueError, match="nbytes"):
        loop.run(main())
    assert a.recv(10) == b"data", "nothing was consumed"


# ------------------------------------------------------------------- send


@pytest.mark.spec("op.sendall")
def test_sendall_delivers_more_than_the_kernel_buffers(loop: Loop, pair: Pair) -> None:
    a, b = pair
    payload = bytes(range(256)) * 4096  # 1 MiB, several kernel buffers

    async def reader() -> bytes:
        parts: list[bytes] = []
        while True:
            chunk = await recv(b, 65536)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    async def main() -> bytes:
        task = refloop.spawn(reader())
        await sendall(a, payload)
        a.shutdown(socket.SHUT_WR)
        return await task.join()

    assert loop.run(main()) == payload


@pytest.mark.spec("op.sendall")
def test_sendall_sends_the_bytes_of_any_buffer(loop: Loop, pair: Pair) -> None:
    a, b = pair
    numbers = array.array("H", [1, 2, 0xFFFF])

    async def main() -> None:
        await sendall(a, memoryview(numbers))
        await sendall(a, memoryview(b"!"))
        await sendall(a, b"")

    loop.run(main())
    assert b.recv(100) == numbers.tobytes() + b"!"


@pytest.mark.spec("op.sendall", "io.ready")
def test_send_waits_for_room_and_then_sends(loop: Loop, pair: Pair) -> None:
    a, b = pair
    fill(a)
    writer = loop.spawn(send(a, b"after"))
    loop.run_once(0)
    assert writer.state == "waiting"
    assert [w.direction for w in loop.waiters()] == ["write"]
    drain(b)
    loop.run_once(0)
    assert writer.result() >= 1
    assert b.recv(100) == b"after"[: writer.result()]


# -------------------------------------------------------- accept and connect


@pytest.mark.spec("op.accept", "op.connect.error", "io.ready")
def test_accept_and_connect_over_tcp(
    loop: Loop, listener: socket.socket, tcp: Callable[[], socket.socket]
) -> None:
    client = tcp()
    address = listener.getsockname()

    async def server() -> tuple[bytes, float | None, Any]:
        conn, peer = await accept(listener)
        try:
            data = await recv(conn, 100)
            await sendall(conn, data.upper())
            return data, conn.gettimeout(), peer
        finally:
            refloop.close(conn)

    async def main() -> tuple[Any, bytes]:
        task = refloop.spawn(server())
        await yield_now()  # the server is now waiting in accept
        assert [w.sock for w in loop.waiters()] == [listener]
        await connect(client, address)
        await sendall(client, b"ping")
        reply = await recv(client, 100)
        return await task.join(), reply

    (data, timeout, peer), reply = loop.run(main())
    assert data == b"ping"
    assert reply == b"PING"
    assert timeout == 0.0
    assert peer == client.getsockname()


@pytest.mark.spec("op.accept")
def test_accept_takes_the_oldest_pending_connection(
    loop: Loop, listener: socket.socket, sockets: list[socket.socket]
) -> None:
    first = socket.create_connection(listener.getsockname())
    second = socket.create_connection(listener.getsockname())
    sockets.extend((first, second))

    async def main() -> list[Any]:
        conns = [await accept(listener), await accept(listener)]
        sockets.extend(conn for conn, _ in conns)
        return [address for _, address in conns]

    assert loop.run(main()) == [first.getsockname(), second.getsockname()]


@pytest.mark.spec("op.connect.error")
def test_connect_to_a_closed_port_is_refused(
    loop: Loop, tcp: Callable[[], socket.socket]
) -> None:
    # A bound socket that does not listen refuses connections, and holds the
    # port so no other process can take it during the test.
    closed_port = tcp()
    closed_port.bind(("127.0.0.1", 0))
    client = tcp()

    async def main() -> None:
        await connect(client, closed_port.getsockname())

    with pytest.raises(ConnectionRefusedError) as info:
        loop.run(main())
    assert info.value.errno == errno.ECONNREFUSED


@pytest.mark.spec("op.connect.resolved")
@pytest.mark.parametrize("host", ["localhost", "example.invalid", ""])
def test_connect_with_a_host_name_raises_value_error(
    loop: Loop, tcp: Callable[[], socket.socket], host: str
) -> None:
    client = tcp()

    async def main() -> None:
        await connect(client, (host, 80))

    with pytest.raises(ValueError, match="numeric address"):
        loop.run(main())
    with pytest.raises(OSError):
        client.getpeername()  # no connection was attempted


@pytest.mark.spec("op.connect.resolved")
def test_connect_accepts_a_numeric_address_and_non_ip_sockets(
    loop: Loop,
    listener: socket.socket,
    tcp: Callable[[], socket.socket],
    tmp_path: Any,
    sockets: list[socket.socket],
) -> None:
    client = tcp()
    path = str(tmp_path / "sock")
    unix_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sockets.extend((unix_listener, unix_client))
    unix_listener.bind(path)
    unix_listener.listen(1)
    unix_client.setblocking(False)

    async def main() -> None:
        await connect(client, listener.getsockname())
        await connect(unix_client, path)

    loop.run(main())
    assert client.getpeername() == listener.getsockname()
    assert unix_client.getpeername() == path
