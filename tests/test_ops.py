"""Unit tests for the socket operations: recv, send, sendall, accept and
connect over socket pairs and TCP on 127.0.0.1; each tries first, and the
budget makes a task that always finds data yield. The waiters they park are
tested in test_waiters.py.

Whether an operation suspended is read from the loop's trace (each "run" of
a task after its first is a resumption), never from timing.
"""

from __future__ import annotations

import array
import errno
import select
import socket
from collections.abc import Callable
from typing import Any

import pytest
from _helpers import Pair, RegistrationSpy, drain, fill

import refloop
from refloop import (
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

# ----------------------------------------------------------------- helpers


class Steps:
    """A loop tracer counting how many times each task was stepped."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}

    def __call__(self, event: str, task: Task[Any]) -> None:
        if event == "run":
            self.runs[task.name] = self.runs.get(task.name, 0) + 1


# --------------------------------------------------------------- try-first


@pytest.mark.spec("op.try-first")
def test_recv_with_data_ready_does_not_suspend(
    make_loop: Callable[..., Loop], pair: Pair
) -> None:
    a, b = pair
    steps = Steps()
    spy = RegistrationSpy()
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
    spy = RegistrationSpy()
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
