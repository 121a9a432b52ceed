"""TLS over a non-blocking socket, with `ssl.MemoryBIO` and `ssl.SSLObject`
(spec: tls.*).

The SSLObject never touches the socket: what it wants to send is read from
the outgoing BIO and sent with `sendall`; what arrives from `recv` is written
to the incoming BIO. Rules this module keeps:

1. Certificates are verified by default: no context means
   `ssl.create_default_context()`, which checks the chain and the host name.
2. A failed or cancelled handshake closes the socket and raises
   HandshakeError (cancelled: Cancelled/TimeoutError) naming the peer.
3. Closing sends close_notify if the socket takes it without waiting, and
   never waits for the peer's; `unwrap()` does the full exchange.
4. One task at a time hands the outgoing BIO's bytes to the socket (the
   flusher), reading the BIO until it is empty. A send_all returns only once
   the bytes its writes made are handed over, waiting for another task's
   flush if one runs; a receive never waits for one (spec: tls.send.flushed).
   Bytes taken from the BIO and not yet sent are kept in `_unsent`, so a
   flush cancelled part-way never tears a record (spec: tls.flush.cancel).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections import deque
from typing import Final

from ._connect import open_tcp_connection
from ._errors import BusyError, ClosedError, RefloopError
from ._ops import close, recv, send
from ._streams import DEFAULT_MAX_LINE, RECEIVE_SIZE, Stream
from ._suspend import Continuation, suspend

__all__ = ["HandshakeError", "TLSStream", "open_tls_connection", "wrap_tls"]

_CHUNK: Final = 64 * 1024


class HandshakeError(RefloopError, OSError):
    """The TLS handshake failed; `__cause__` is the ssl module's error
    (spec: tls.handshake.fails)."""


class TLSStream(Stream):
    """A Stream whose bytes travel inside TLS. Made by `wrap_tls` or
    `open_tls_connection`, after a completed handshake."""

    def __init__(
        self,
        sock: socket.socket,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        max_line: int,
    ) -> None:
        super().__init__(sock, max_line=max_line)
        self.ssl_object = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        # Invariant: _flushing while one task runs _flush's loop; the tasks
        # in _flush_waiters wait for it to end (send_all's, never a receive).
        self._flushing = False
        self._flush_waiters: deque[Continuation] = deque()
        # Invariant: taken from _outgoing and not yet sent, in order; sent
        # before anything _outgoing still holds.
        self._unsent = memoryview(b"")
        self._shut = False  # close_notify was sent

    async def _pump_in(self) -> None:
        """Flush what the SSLObject wants sent, then receive once into it."""
        await self._flush(wait=False)
        data = await recv(self.socket, RECEIVE_SIZE)
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    async def _flush(self, *, wait: bool = True) -> None:
        """Hand the SSLObject's output to the socket. When another task is
        flushing, it sends these bytes too (its loop reads the BIO until it
        is empty): a receive (wait=False) leaves them to it and goes on; a
        send waits for that flush to end, then flushes what is left."""
        while self._flushing:
            if not wait:
                return
            # spec: tls.send.flushed
            await suspend(self._wait_flush)
        self._flushing = True
        try:
            while True:
                view = self._unsent
                if not view:
                    data = self._outgoing.read()
                    if not data:
                        return
                    view = self._unsent = memoryview(data)
                # spec: tls.flush.cancel
                self._unsent = view[await send(self.socket, view) :]
        finally:
            self._flushing = False
            waiters = self._flush_waiters
            while waiters:
                waiters.popleft()()

    def _wait_flush(self, k: Continuation) -> None:
        self._flush_waiters.append(k)
        k.on_cancel = lambda: self._flush_waiters.remove(k)

    async def _receive_raw(self, size: int) -> bytes:
        while True:
            try:
                return self.ssl_object.read(size)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                # spec: tls.eof
                return b""
            await self._pump_in()

    async def _send_raw(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view:
            written = self.ssl_object.write(view[:_CHUNK])
            view = view[written:]
            await self._flush()

    def _close_raw(self) -> None:
        if not self._shut and not self._flushing:
            self._shut = True
            # SSLWantReadError: our close_notify is out, theirs is not in.
            with contextlib.suppress(ssl.SSLError):
                self.ssl_object.unwrap()
            data = bytes(self._unsent) + self._outgoing.read()
            # OSError: the kernel would not take it now; close anyway.
            with contextlib.suppress(OSError):
                # spec: tls.close
                self.socket.send(data)
        close(self.socket)

    async def unwrap(self) -> Stream:
        """Exchange close_notify with the peer and return a plain Stream over
        the same socket, holding any bytes that followed (spec: tls.unwrap)."""
        if self._closed:
            raise ClosedError(f"unwrap() on {self!r}, which is closed")
        if self._receiver is not None or self._sender is not None:
            # spec: tls.unwrap
            raise BusyError(f"unwrap() on {self!r} while a task uses it")
        while True:
            try:
                self.ssl_object.unwrap()
                break
            except ssl.SSLWantReadError:
                pass
            await self._pump_in()
        self._shut = True
        await self._flush()
        sock, buffered = self._detach()
        plain = Stream(sock, max_line=self.max_line)
        # spec: stream.keeps-bytes
        plain._buffer += buffered + self._incoming.read()
        return plain

    def _detach(self) -> tuple[socket.socket, bytes]:
        self._closed = True
        buffered = bytes(self._buffer)
        self._buffer.clear()
        return self.socket, buffered

    def __repr__(self) -> str:
        name = self.ssl_object.server_hostname
        side = "server" if self.ssl_object.server_side else f"client of {name!r}"
        return f"{super().__repr__()[:-1]} tls {side}>"


def _explain(err: BaseException, peer: object, hostname: str | None) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        return (
            f"the certificate of {peer!r} did not verify for {hostname!r}: "
            f"{err.verify_message}; trust its CA in the context "
            "(context.load_verify_locations) or connect with the name it carries"
        )
    if isinstance(err, ssl.SSLEOFError):
        return (
            f"{peer!r} closed the connection during the TLS handshake: does it "
            "speak TLS on this port?"
        )
    if isinstance(err, ssl.SSLError):
        return (
            f"TLS handshake with {peer!r} failed ({err.reason or err}): does it "
            "speak TLS on this port, with a protocol version the context allows?"
        )
    return f"TLS handshake with {peer!r} failed: {err}"


def _check_context(
    context: ssl.SSLContext | None, server_side: bool, server_hostname: str | None
) -> ssl.SSLContext:
    if context is None:
        if server_side:
            raise ValueError(
                "a TLS server needs a context with its certificate: "
                "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) and "
                "load_cert_chain()"
            )
        # spec: tls.verify
        context = ssl.create_default_context()
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"wrap_tls() needs an ssl.SSLContext, got {context!r}")
    if not server_side and context.check_hostname and not server_hostname:
        raise ValueError(
            "wrap_tls() needs server_hostname=... to verify the server's "
            "certificate (or a context with check_hostname=False)"
        )
    return context


async def wrap_tls(
    transport: Stream | socket.socket,
    context: ssl.SSLContext | None = None,
    *,
    server_side: bool = False,
    server_hostname: str | None = None,
) -> TLSStream:
    """Run the TLS handshake over `transport` (a connected socket, or a plain
    Stream, whose buffered bytes are kept) and return a TLSStream. The client
    verifies the server's certificate against `server_hostname` (sent as SNI)
    unless `context` says otherwise (spec: tls.verify, tls.sni)."""
    if isinstance(transport, TLSStream):
        raise TypeError(f"{transport!r} already speaks TLS")
    context = _check_context(context, server_side, server_hostname)
    if isinstance(transport, Stream):
        if transport._receiver is not None or transport._sender is not None:
            raise BusyError(f"wrap_tls() on {transport!r} while a task uses it")
        if transport.closed:
            raise ClosedError(f"wrap_tls() on {transport!r}, which is closed")
        max_line = transport.max_line
        sock = transport.socket
        buffered = bytes(transport._buffer)
        transport._buffer.clear()
        transport._closed = True
    else:
        max_line, sock, buffered = DEFAULT_MAX_LINE, transport, b""
        Stream(sock)  # the same checks: a non-blocking socket
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    incoming.write(buffered)
    try:
        # spec: tls.sni
        ssl_object = context.wrap_bio(
            incoming, outgoing, server_side=server_side, server_hostname=server_hostname
        )
        stream = TLSStream(sock, ssl_object, incoming, outgoing, max_line)
        await _handshake(stream)
    except BaseException:
        # spec: tls.handshake.fails
        close(sock)
        raise
    return stream


async def _handshake(stream: TLSStream) -> None:
    try:
        peer: object = stream.socket.getpeername()
    except OSError:
        peer = stream.socket
    while True:
        try:
            stream.ssl_object.do_handshake()
            break
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as err:
            # spec: tls.handshake.fails
            raise HandshakeError(
                _explain(err, peer, stream.ssl_object.server_hostname)
            ) from err
        try:
            await stream._pump_in()
        except (ConnectionError, ClosedError) as err:
            raise HandshakeError(_explain(err, peer, None)) from err
    await stream._flush()


async def open_tls_connection(
    host: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    happy_eyeballs_delay: float | None = 0.25,
    max_line: int = DEFAULT_MAX_LINE,
) -> TLSStream:
    """`open_tcp_connection`, then a TLS handshake that verifies the server's
    certificate for `server_hostname` (default: `host`)."""
    context = _check_context(ssl_context, False, server_hostname or host)
    stream = await open_tcp_connection(
        host, port, happy_eyeballs_delay=happy_eyeballs_delay, max_line=max_line
    )
    return await wrap_tls(stream, context, server_hostname=server_hostname or host)
