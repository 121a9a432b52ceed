"""The simulated network: asyncio streams and refloop's own socket code on
in-memory sockets whose delivery the strategy decides (spec: explore.net.*)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

import refloop
from refloop.explore import OutsideWorld, explore, run_one
from refloop.explore._decide import Decider, FixedDecider, Point
from refloop.explore._run import Settings
from refloop.explore._sim_socket import SimSocket


class Always(Decider):
    """Chooses `pick` (clamped) at every point of the given kinds."""

    def __init__(self, kinds: set[str], pick: int = 1) -> None:
        super().__init__()
        self.kinds, self.value = kinds, pick

    def pick(self, index: int, point: Point) -> int:
        if point.kind in self.kinds:
            return min(self.value, point.options - 1)
        return 0


async def echo_upper(got: list[bytes], payload: bytes = b"hello world\n") -> None:
    """A stream server and client: the server echoes one line in capitals."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        got.append(type(writer.get_extra_info("socket")._sock).__name__.encode())
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "localhost", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("localhost", port)
    writer.write(payload)
    got.append(await reader.readline())
    assert await reader.read() == b""  # the server closed: end of stream
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


@pytest.mark.spec("explore.net.door")
def test_asyncio_streams_run_unchanged_on_the_simulated_network() -> None:
    got: list[bytes] = []
    result = explore(lambda: echo_upper(got), strategy="random", runs=30)
    assert result.failure is None, result.message()
    assert set(got) == {b"SimSocket", b"HELLO WORLD\n"}
    got.clear()
    loopback = explore(lambda: echo_upper(got), strategy="default", network="loopback")
    assert loopback.failure is None
    assert got == [b"socket", b"HELLO WORLD\n"]  # the kernel's sockets


@pytest.mark.spec("explore.net.door")
def test_native_socket_code_runs_unchanged_on_the_simulated_network() -> None:
    kinds: list[str] = []

    async def test() -> None:
        listeners = await refloop.open_tcp_listeners(0, host="localhost")
        kinds.append(type(listeners[0]).__name__)
        port = listeners[0].getsockname()[1]

        async def serve() -> None:
            conn, _ = await refloop.accept(listeners[0])
            data = b""
            while not data.endswith(b"\n"):
                data += await refloop.recv(conn, 100)
            await refloop.sendall(conn, data.upper())
            refloop.close(conn)

        async with refloop.TaskGroup() as group:
            group.spawn(serve())
            async with await refloop.open_tcp_connection("localhost", port) as conn:
                await conn.send_all(b"abc\n")
                assert await conn.readline() == b"ABC\n"
        refloop.close(listeners[0])

    result = explore(test, strategy="random", runs=30)
    assert result.failure is None, result.message()
    assert set(kinds) == {"SimSocket"}
    assert explore(test, strategy="default", network="loopback").failure is None
    with pytest.raises(ValueError, match="network must be one of"):
        explore(test, network="wifi")
    with pytest.raises(TypeError, match="resets must be True or False"):
        explore(test, resets="yes")  # type: ignore[arg-type]


@pytest.mark.spec("explore.net.closed")
def test_leaving_the_simulated_world_is_reported_even_if_caught() -> None:
    async def resolves_elsewhere() -> None:
        with contextlib.suppress(OSError):  # swallowed; still reported
            await asyncio.open_connection("example.com", 80)

    async def real_socket() -> None:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", 9))
        finally:
            sock.close()

    for test, words in ((resolves_elsewhere, "example.com"), (real_socket, "real")):
        result = explore(test, strategy="default")
        assert result.failure is not None
        assert isinstance(result.failure.error, OutsideWorld)
        assert words in str(result.failure.error)


@pytest.mark.spec("explore.net.closed")
def test_a_port_nobody_serves_is_refused_as_on_loopback() -> None:
    async def aio_test() -> None:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", 1)

    async def native_test() -> None:
        with pytest.raises(ConnectionRefusedError):
            await refloop.open_tcp_connection("localhost", 1)

    for test in (aio_test, native_test):
        result = explore(test, strategy="default")
        assert result.failure is None, result.message()


@pytest.mark.spec("explore.net.partial-send")
def test_a_short_write_leaves_the_rest_with_the_caller() -> None:
    sizes: list[int] = []

    async def test() -> None:
        got: list[bytes] = []
        await echo_upper(got, b"x" * 40 + b"\n")
        assert got[-1] == b"X" * 40 + b"\n"  # asyncio's transport sends the rest

    async def raw() -> None:
        a, b = _connected()
        sizes.append(await refloop.send(a, b"abcdef"))
        a.close()
        b.close()

    outcome = run_one(test, Always({"send"}))
    assert outcome.error is None
    assert {d.kind for d in outcome.decider.log} == {"send"}
    assert run_one(raw, Always({"send"}), kind="native").error is None
    assert run_one(raw, FixedDecider(), kind="native").error is None
    assert sizes == [1, 6]  # one byte, then (option 0) all of them


@pytest.mark.spec("explore.net.partial-recv")
def test_a_short_read_returns_part_of_what_arrived() -> None:
    reads: list[bytes] = []

    async def test() -> None:
        a, b = _connected()
        b.send(b"abcdef")
        while sum(map(len, reads)) < 6:
            reads.append(a.recv(100))

    assert run_one(test, Always({"recv"}, pick=2), kind="native").error is None
    assert reads == [b"abc", b"d", b"e", b"f"]  # half, then a byte of 3, of 2
    reads.clear()
    assert run_one(test, FixedDecider(), kind="native").error is None
    assert reads == [b"abcdef"]  # option 0: all that arrived


def _connected() -> tuple[SimSocket, SimSocket]:
    """A connected pair on the running run's simulated network."""
    from refloop._network import network

    net = network()
    assert net is not None
    listener = net.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = net.socket()
    client.setblocking(False)
    with pytest.raises(BlockingIOError):
        client.connect(listener.getsockname())
    server, _ = listener.accept()
    assert isinstance(client, SimSocket) and isinstance(server, SimSocket)
    return client, server


@pytest.mark.spec("explore.net.delay")
def test_bytes_in_flight_arrive_later_and_in_order() -> None:
    seen: list[bytes] = []

    async def test() -> None:
        a, b = _connected()
        b.setblocking(False)
        a.send(b"first ")  # in flight for 2 polls
        with pytest.raises(BlockingIOError):
            b.recv(100)  # not arrived yet
        a.send(b"second")
        data = b""
        while len(data) < 12:
            await refloop.sleep(0)  # polls pass; the bytes land
            try:
                data += b.recv(100)
            except BlockingIOError:
                continue
        seen.append(data)

    assert run_one(test, Always({"delay"}, pick=2), kind="native").error is None
    assert seen == [b"first second"]  # never overtaken


@pytest.mark.spec("explore.net.reset")
def test_a_reset_is_a_decision_only_when_asked_for() -> None:
    async def test() -> None:
        got: list[bytes] = []
        await echo_upper(got)

    plain = run_one(test, Always({"reset"}))
    assert plain.error is None and not plain.decider.log  # resets are off
    reset = run_one(test, Always({"reset"}), Settings(resets=True))
    assert isinstance(reset.error, ConnectionResetError)
    assert [d.kind for d in reset.decider.log] == ["reset"]
    assert explore(test, strategy="delay", runs=20, resets=True).failure is not None
