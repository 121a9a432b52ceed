"""Who hands a TLS stream's bytes to the socket, and when send_all returns
(spec: tls.send.flushed, tls.flush.cancel), over loopback with trustme
certificates.

The race needs a receive that must answer the peer while the socket is full.
TLS 1.3 post-handshake authentication makes the answer: the server asks for
the client's certificate, and the client's SSLObject writes its Certificate,
CertificateVerify and Finished while it reads. A full socket is a
`GatedSocket` whose `send` takes at most `room` bytes and then raises
BlockingIOError, as a full send buffer does.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import refloop
from refloop import TLSStream


class GatedSocket(socket.socket):
    """A real socket whose `send` stops taking bytes when `room` runs out."""

    room: int | None = None  # None: as much as the kernel takes

    def send(self, data: Any, flags: int = 0) -> int:
        if self.room is None:
            return super().send(data, flags)
        if self.room == 0:
            raise BlockingIOError("the gate is shut")
        count = super().send(memoryview(data)[: self.room], flags)
        self.room -= count
        return count


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    ca.configure_trust(ctx)
    # The client's certificate is asked for after the handshake.
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.post_handshake_auth = True
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    ca.issue_cert("client.example").configure_cert(ctx)
    ctx.post_handshake_auth = True
    return ctx


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, GatedSocket]]:
    a, b = socket.socketpair()
    gated = GatedSocket(b.family, b.type, b.proto, fileno=b.detach())
    a.setblocking(False)
    gated.setblocking(False)
    yield a, gated
    a.close()
    gated.close()


async def answering_reader(
    pair: tuple[socket.socket, GatedSocket],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    room: int,
) -> tuple[TLSStream, TLSStream, refloop.Task[bytes]]:
    """A server, a client, and the client's reader stopped inside the flush
    of its answer to the certificate request, after `room` of its bytes."""
    serving = refloop.spawn(refloop.wrap_tls(pair[0], server_ctx, server_side=True))
    client = await refloop.wrap_tls(pair[1], client_ctx, server_hostname="localhost")
    server = await serving.join()
    server.ssl_object.verify_client_post_handshake()
    await server.send_all(b"ping\n")
    assert await client.readline() == b"ping\n"  # the answer is made, not sent
    pair[1].room = room
    reader = refloop.spawn(client.readline())
    for _ in range(3):
        await refloop.yield_now()
    assert not reader.done()
    return server, client, reader


@pytest.mark.spec("tls.send.flushed")
def test_send_all_returns_only_when_its_bytes_are_handed_over(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    """send_all, then close at once: the peer reads the message and a clean
    end of stream. Before the fix, send_all returned while the reader still
    held the socket, and close() dropped the message."""

    async def main() -> list[Any]:
        server, client, reader = await answering_reader(
            pair, server_ctx, client_ctx, room=0
        )

        async def send_then_close() -> None:
            await client.send_all(b"payload\n")
            client.close()

        sender = refloop.spawn(send_then_close())
        for _ in range(3):
            await refloop.yield_now()
        early = sender.done()
        pair[1].room = None  # the socket takes bytes again
        await sender.join()
        got = [early, await server.readline(), await server.readline()]
        got.append(server.ssl_object.getpeercert() is not None)
        with pytest.raises(refloop.ClosedError):
            await reader.join()
        server.close()
        return got

    assert refloop.run(main()) == [False, b"payload\n", b"", True]


@pytest.mark.spec("tls.flush.cancel")
@pytest.mark.parametrize("room", [0, 1, 700])
def test_a_receive_cancelled_inside_its_flush_tears_no_record(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, room: int
) -> None:
    """The reader is cancelled after the socket took `room` bytes of its
    answer; the next send sends the rest first, and the TLS session holds."""

    async def main() -> list[Any]:
        server, client, reader = await answering_reader(
            pair, server_ctx, client_ctx, room
        )
        reader.cancel()
        with pytest.raises(refloop.Cancelled):
            await reader.join()
        pair[1].room = None
        await client.send_all(b"after\n")
        with refloop.timeout(2):  # a torn record leaves the server waiting
            got: list[Any] = [await server.readline()]
        got.append(server.ssl_object.getpeercert() is not None)
        await server.send_all(b"back\n")
        got.append(await client.readline())
        client.close()
        server.close()
        return got

    assert refloop.run(main()) == [b"after\n", True, b"back\n"]


@pytest.mark.spec("tls.send.flushed")
def test_a_receive_does_not_wait_for_a_send_that_holds_the_socket(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    """The other way round: a send blocked on a full socket does not hold up
    a receive, which reads what has arrived (else two peers each sending
    more than the buffers hold, each with a reader, would deadlock)."""

    async def main() -> list[Any]:
        serving = refloop.spawn(refloop.wrap_tls(pair[0], server_ctx, server_side=True))
        client = await refloop.wrap_tls(
            pair[1], client_ctx, server_hostname="localhost"
        )
        server = await serving.join()
        pair[1].room = 0
        sender = refloop.spawn(client.send_all(b"big\n" * 1000))
        await refloop.yield_now()
        await server.send_all(b"news\n")
        with refloop.timeout(2):  # the gate opens only after this read
            got: list[Any] = [await client.readline(), sender.done()]
        pair[1].room = None
        await sender.join()
        got.append(len(await server.receive_until(b"big\n" * 1000, 5000)))
        client.close()
        server.close()
        return got

    assert refloop.run(main()) == [b"news\n", False, 4000]
