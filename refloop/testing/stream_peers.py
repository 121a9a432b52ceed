"""The far end of a stream under test, over real sockets, driven from the
test's thread between the loop's iterations (refloop/testing/stream_machine.py).

Three transports, each a pair (the `Stream` under test, its `Peer`):

- "plain": a `socketpair`; the peer is the raw socket.
- "tcp": `serve_tcp` on 127.0.0.1 port 0 and `open_tcp_connection` to it,
  both in the loop; the stream is the client's, the peer the raw socket of
  the server's stream, whose handler holds it until the end.
- "tls": a `socketpair` with `wrap_tls` on the stream's side and, on the
  peer's, an `ssl.SSLObject` over memory BIOs that the test pumps by hand
  (certificates from trustme, imported only here).

The stream's send buffer and the peer's receive buffer are small, so a
message of a few tens of kilobytes makes `send_all` wait and a second sender
queue; the other direction keeps the default buffers, so the peer's small
sends never fill the kernel while no read takes them.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from .._cancelscope import sleep_forever
from .._connect import open_tcp_connection
from .._loop import Loop
from .._serve import serve_tcp
from .._streams import Stream
from .._task import Task
from .._tls import wrap_tls

__all__ = ["TRANSPORTS", "Pair", "Peer", "drive", "plain", "settle"]

BUFFER = 8192  # the stream's SO_SNDBUF and the peer's SO_RCVBUF
QUIET = 3  # iterations with nothing runnable that end a settle


def settle(loop: Loop, limit: int = 2000) -> None:
    """Run iterations that do not wait until the loop has had nothing to
    run for QUIET of them in a row (every transport here delivers within
    the kernel, so what was sent is readable once `send` returns)."""
    quiet = 0
    for _ in range(limit):
        if loop.runnable():
            quiet = 0
        else:
            quiet += 1
            if quiet > QUIET:
                return
        loop.run_once(0)
    raise AssertionError(f"{loop!r} did not settle in {limit} iterations")


def drive(loop: Loop, coro: Coroutine[Any, Any, Any], limit: int = 5000) -> Any:
    """Run `coro` in a task of `loop` to its end (it may wait on threads)."""
    task = loop.spawn(coro)
    for _ in range(limit):
        if task.done():
            return task.result()
        loop.run_once(0.001)
    raise AssertionError(f"{task!r} did not finish")


def _nodelay(sock: socket.socket) -> None:
    """No Nagle on TCP: a piece of one byte leaves at once, not after the
    peer's delayed acknowledgement."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _stream_side(sock: socket.socket) -> socket.socket:
    """A small send buffer on the stream's socket: a message of a few tens of
    kilobytes makes send_all wait."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
    _nodelay(sock)
    return sock


def _peer_side(sock: socket.socket) -> socket.socket:
    """A small receive buffer on the peer's socket, and the default send
    buffer: the peer's many small sends (an AF_UNIX socket charges each a
    whole buffer's overhead) always fit while no read takes them."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    _nodelay(sock)
    return sock


class Peer:
    """The raw far end: sends and receives without blocking, letting the
    loop run whenever the kernel's buffer is full."""

    def __init__(self, loop: Loop, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.loop = loop
        self.sock = sock
        self.eof = False  # the stream's side was seen to close

    def _out(self, data: bytes) -> None:
        view = memoryview(data)
        for _ in range(10_000):
            if not view:
                return
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                settle(self.loop)
        raise AssertionError(f"{self.sock!r} took no bytes for too long")

    def _in(self) -> bytes:
        parts = []
        while not self.eof:
            try:
                chunk = self.sock.recv(65536)
            except BlockingIOError:
                break
            except ConnectionResetError:
                self.eof = True
                break
            if not chunk:
                self.eof = True
            parts.append(chunk)
        return b"".join(parts)

    def send(self, data: bytes) -> None:
        self._out(data)

    def shut(self) -> None:
        """End the peer's side of the stream (the stream reads b"")."""
        self.sock.shutdown(socket.SHUT_WR)

    def receive(self) -> bytes:
        """What has arrived from the stream since the last call."""
        return self._in()

    def close(self) -> None:
        self.sock.close()


class TLSPeer(Peer):
    """The far end of a TLS stream: an SSLObject the test pumps."""

    def __init__(self, loop: Loop, sock: socket.socket, ctx: ssl.SSLContext) -> None:
        super().__init__(loop, sock)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def _flush(self) -> None:
        self._out(self.outgoing.read())

    def _pump(self) -> None:
        data = super()._in()
        if data:
            self.incoming.write(data)
        if self.eof:
            self.incoming.write_eof()

    def handshake_step(self) -> bool:
        """One step of the server's handshake; True once it is done."""
        self._pump()
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        self._flush()
        return True

    def send(self, data: bytes) -> None:
        self.tls.write(data)
        self._flush()

    def shut(self) -> None:
        with contextlib.suppress(ssl.SSLWantReadError):
            self.tls.unwrap()
        self._flush()

    def receive(self) -> bytes:
        self._pump()
        parts = []
        while True:
            try:
                chunk = self.tls.read(65536)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not chunk:
                break
            parts.append(chunk)
        return b"".join(parts)


Pair = tuple[Stream, Peer, Callable[[], None]]  # the stream, its peer, a teardown


def plain(loop: Loop, stream_type: type[Stream] = Stream) -> Pair:
    """A socketpair; `stream_type` is the class of the stream under test (a
    broken one of refloop/testing/broken_streams.py, say)."""
    a, b = socket.socketpair()
    a.setblocking(False)
    return stream_type(_stream_side(a)), Peer(loop, _peer_side(b)), lambda: None


def tcp(loop: Loop) -> Pair:
    ports: list[int] = []
    held: list[Stream] = []

    async def handler(stream: Stream) -> None:
        _peer_side(stream.socket)
        held.append(stream)
        await sleep_forever()

    server: Task[None] = loop.spawn(
        serve_tcp(
            handler,
            "127.0.0.1",
            0,
            started=lambda ls: ports.append(ls[0].getsockname()[1]),
        )
    )
    for _ in range(5000):
        if ports or server.done():
            break
        loop.run_once(0.001)  # open_tcp_listeners resolves in a thread
    assert ports, f"{server!r} did not start"
    stream = drive(loop, open_tcp_connection("127.0.0.1", ports[0]))
    _stream_side(stream.socket)
    settle(loop)
    # The server's stream stays open in its handler; the peer uses its socket
    # raw, which nothing in the loop waits on.
    peer = Peer(loop, held[0].socket)

    def stop() -> None:
        server.cancel()
        settle(loop)
        assert server.done(), f"{server!r} did not stop when cancelled"

    return stream, peer, stop


def tls(loop: Loop) -> Pair:
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("refloop.test").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    a, b = socket.socketpair()
    a.setblocking(False)
    peer = TLSPeer(loop, _peer_side(b), server_ctx)
    task = loop.spawn(
        wrap_tls(_stream_side(a), client_ctx, server_hostname="refloop.test")
    )
    for _ in range(1000):
        settle(loop)
        peer_done = peer.handshake_step()
        if peer_done and task.done():
            return task.result(), peer, lambda: None
    raise AssertionError("the TLS handshake did not finish")


TRANSPORTS: dict[str, Callable[[Loop], Pair]] = {"plain": plain, "tcp": tcp, "tls": tls}
