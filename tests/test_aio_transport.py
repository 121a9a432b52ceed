"""refloop.aio's plain socket transport (refloop/aio/_transport.py): which
connections get it, and that each path it replaces behaves as asyncio's own
transport does. Every scenario runs on asyncio's default loop and on
refloop.aio over real loopback sockets and must give the same trace.
(CPython's own unit tests of the transport run against it in
tests/test_aio_conformance.py.)"""

from __future__ import annotations

import asyncio
import ctypes.util
import socket
import subprocess
import sys
from asyncio import selector_events
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import refloop.aio
from refloop.aio._transport import SocketTransport

Scenario = Callable[[], Coroutine[Any, Any, list[object]]]


def on_both(scenario: Scenario) -> list[object]:
    """The scenario's trace on asyncio's loop, checked equal on refloop.aio."""
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        expected = runner.run(asyncio.wait_for(scenario(), 10))
    with asyncio.Runner(loop_factory=refloop.aio.new_event_loop) as runner:
        got = runner.run(asyncio.wait_for(scenario(), 10))
    assert got == expected, f"refloop.aio: {got}\nasyncio:     {expected}"
    return got


class Recorder(asyncio.Protocol):
    def __init__(self, keep_open: bool = False) -> None:
        self.trace: list[object] = []
        self.keep_open = keep_open
        self.lost = asyncio.get_running_loop().create_future()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.trace.append("made")

    def data_received(self, data: bytes) -> None:
        self.trace.append(("data", bytes(data)))

    def eof_received(self) -> bool:
        self.trace.append("eof")
        return self.keep_open

    def pause_writing(self) -> None:
        self.trace.append("pause_writing")

    def resume_writing(self) -> None:
        self.trace.append("resume_writing")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.trace.append(("lost", type(exc).__name__ if exc else None))
        self.lost.set_result(None)


async def pair(protocol: asyncio.BaseProtocol) -> tuple[Any, socket.socket]:
    """A transport for `protocol` on one end of a connected pair (through
    connect_accepted_socket) and the blocking other end."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
    return transport, theirs


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.spec("aio.transport")
def test_plain_connections_get_refloops_transport_and_tls_keeps_asyncios() -> None:
    async def main() -> list[type]:
        loop = asyncio.get_running_loop()
        accepted: list[Any] = []

        def serve() -> asyncio.Protocol:
            proto = Recorder()
            accepted.append(proto)
            return proto

        server = await loop.create_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        other, peer = await pair(asyncio.Protocol())
        await settle()
        kinds = [type(client), type(accepted[0].transport), type(other)]
        for transport in (client, accepted[0].transport, other):
            transport.close()
        peer.close()
        server.close()
        await server.wait_closed()
        return kinds

    with asyncio.Runner(loop_factory=refloop.aio.new_event_loop) as runner:
        assert runner.run(main()) == [SocketTransport] * 3
    base = selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
    assert issubclass(SocketTransport, base)
    # TLS makes its raw transport itself, asyncio's way, not through
    # _make_socket_transport.
    tls = selector_events.BaseSelectorEventLoop._make_ssl_transport  # type: ignore[attr-defined]
    assert refloop.aio.RefloopEventLoop._make_ssl_transport is tls  # type: ignore[attr-defined]


@pytest.mark.spec("aio.transport.read")
def test_data_then_eof_closes_unless_the_protocol_keeps_it_open() -> None:
    async def scenario(keep_open: bool) -> list[object]:
        proto = Recorder(keep_open)
        transport, peer = await pair(proto)
        with peer:
            peer.sendall(b"hello")
            await settle()
            peer.shutdown(socket.SHUT_WR)
            await settle()
            proto.trace.append(("closing", transport.is_closing()))
            if keep_open:
                transport.write(b"after eof")
                proto.trace.append(("peer got", peer.recv(100)))
                transport.close()
            await proto.lost
        return proto.trace

    assert on_both(lambda: scenario(False)) == [
        "made",
        ("data", b"hello"),
        "eof",
        ("lost", None),
        ("closing", True),
    ]
    assert ("peer got", b"after eof") in on_both(lambda: scenario(True))


@pytest.mark.spec("aio.transport.read")
def test_a_protocol_that_raises_is_a_fatal_error_reported_to_the_handler() -> None:
    async def scenario() -> list[object]:
        loop = asyncio.get_running_loop()
        reported: list[object] = []
        loop.set_exception_handler(lambda _, ctx: reported.append(ctx["message"]))
        proto = Recorder()
        proto.data_received = lambda data: 1 / 0  # type: ignore[assignment,method-assign]
        _, peer = await pair(proto)
        with peer:
            peer.sendall(b"x")
            await proto.lost
        return [*proto.trace, *reported]

    assert on_both(scenario) == [
        "made",
        ("lost", "ZeroDivisionError"),
        "Fatal error: protocol.data_received() call failed.",
    ]


@pytest.mark.spec("aio.transport.read")
def test_a_buffered_protocol_is_read_into_its_buffer() -> None:
    class Buffered(asyncio.BufferedProtocol):
        def __init__(self) -> None:
            self.buf = bytearray(4)
            self.got: list[object] = []

        def get_buffer(self, sizehint: int) -> bytearray:
            return self.buf

        def buffer_updated(self, nbytes: int) -> None:
            self.got.append(bytes(self.buf[:nbytes]))

    async def scenario() -> list[object]:
        proto = Buffered()
        transport, peer = await pair(proto)
        with peer:
            peer.sendall(b"abcdefghij")
            await settle()
            # Switching to a plain protocol switches the read path.
            plain = Recorder()
            transport.set_protocol(plain)
            peer.sendall(b"plain")
            await settle()
            transport.close()
        return [*proto.got, *plain.trace]

    assert on_both(scenario) == [b"abcd", b"efgh", b"ij", ("data", b"plain")]


@pytest.mark.spec("aio.transport.write")
def test_what_the_socket_does_not_take_is_buffered_with_flow_control() -> None:
    async def scenario() -> list[object]:
        proto = Recorder()
        transport, peer = await pair(proto)
        transport.set_write_buffer_limits(high=64 * 1024)
        chunk = b"y" * (1 << 20)
        with peer:
            transport.write(chunk)  # more than the socket buffers
            proto.trace.append(("buffered", transport.get_write_buffer_size() > 0))
            received = 0
            peer.setblocking(False)
            while received < len(chunk):
                await asyncio.sleep(0.001)
                try:
                    while data := peer.recv(1 << 20):
                        received += len(data)
                except BlockingIOError:
                    pass
            await settle()
            proto.trace.append(("empty", transport.get_write_buffer_size()))
            transport.write_eof()
            proto.trace.append(("eof", peer.recv(10) if _wait(peer) else None))
            transport.close()
            await proto.lost
        return proto.trace

    assert on_both(scenario) == [
        "made",
        "pause_writing",
        ("buffered", True),
        "resume_writing",
        ("empty", 0),
        ("eof", b""),
        ("lost", None),
    ]


def _wait(sock: socket.socket) -> bool:
    sock.setblocking(True)
    sock.settimeout(5)
    return True


@pytest.mark.spec("aio.transport.write")
def test_writes_asyncio_refuses_are_refused_the_same() -> None:
    async def scenario() -> list[object]:
        proto = Recorder()
        transport, peer = await pair(proto)
        seen: list[object] = []
        for data in ("text", None, memoryview(b"mv"), b"", bytearray(b"ba"), b"b"):
            try:
                transport.write(data)
                seen.append(("ok", data if not isinstance(data, memoryview) else "mv"))
            except (TypeError, RuntimeError) as exc:
                seen.append(type(exc).__name__)
        transport.write_eof()
        try:
            transport.write(b"late")
        except RuntimeError:
            seen.append("RuntimeError after write_eof")
        with peer:
            seen.append(peer.recv(100))
        transport.abort()
        await proto.lost
        other = Recorder()
        lost, peer = await pair(other)
        with peer:
            lost.abort()
            await other.lost
            lost.write(b"lost")  # counted, not sent, not raised
        return [*seen, *proto.trace, *other.trace]

    assert on_both(scenario) == [
        "TypeError",
        "TypeError",
        ("ok", "mv"),
        ("ok", b""),
        ("ok", bytearray(b"ba")),
        ("ok", b"b"),
        "RuntimeError after write_eof",
        b"mvbab",
        "made",
        ("lost", None),
        "made",
        ("lost", None),
    ]


@pytest.mark.spec("aio.transport.write")
def test_a_send_error_is_a_fatal_error() -> None:
    async def scenario() -> list[object]:
        proto = Recorder()
        transport, peer = await pair(proto)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        peer.close()  # a reset: the next send fails
        await settle()
        for _ in range(3):
            if transport.is_closing():
                break
            transport.write(b"z" * 100)
            await settle()
        await proto.lost
        return proto.trace

    trace = on_both(scenario)
    assert trace[0] == "made" and trace[-1][0] == "lost"


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="glibc's mallinfo2 is Linux-only",
)
@pytest.mark.spec("aio.transport.read")
def test_importing_refloop_aio_serves_a_reads_buffer_from_the_heap() -> None:
    # In a fresh interpreter: a read's 256 KiB buffer is its own mapping
    # before the import (glibc's threshold is 128 KiB) and not after.
    program = """
import ctypes, sys
libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print("skip"); sys.exit()
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks "
        "keepcost").split()]
libc.mallinfo2.restype = Info
kept = []
def mapped_by_a_read():
    before = libc.mallinfo2().hblks
    kept.append(bytes(256 * 1024))  # kept: freeing it would raise the threshold
    return libc.mallinfo2().hblks - before
first = mapped_by_a_read()
if sys.argv[1] == "import":
    import refloop.aio
print(first, mapped_by_a_read())
"""

    def run(what: str) -> str:
        cmd = [sys.executable, "-c", program, what]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    without, with_refloop = run("control"), run("import")
    if without.strip() == "skip":
        pytest.skip("this libc has no mallinfo2 (glibc 2.33+)")
    # Without the import each read is a mapping of its own; with it, neither
    # the next read nor any after it is.
    assert without.split() == ["1", "1"], without
    assert with_refloop.split() == ["1", "0"], with_refloop
