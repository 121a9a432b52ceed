"""TLS streams, as mutation testing found them under-tested
(docs/mutation.md, refloop/_tls.py): the repr and the refusals word for
word, what unwrap() exchanges with the peer and what it hands on (the line
limit, the bytes already received), a send cancelled while it waits for
another task's flush, and a close_notify after our own."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import refloop
from refloop import ClosedError, Stream, TLSStream


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


async def both(
    pair: tuple[socket.socket | Stream, socket.socket | Stream],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
) -> tuple[TLSStream, TLSStream]:
    server = refloop.spawn(refloop.wrap_tls(pair[0], server_ctx, server_side=True))
    client = await refloop.wrap_tls(pair[1], client_ctx, server_hostname="localhost")
    return await server.join(), client


@pytest.mark.spec("tls.close")
def test_the_repr_says_which_side_of_tls_the_stream_is(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[str]:
        server, client = await both(pair, server_ctx, client_ctx)
        got = [repr(server), repr(client)]
        server.close()
        client.close()
        return [*got, repr(client)]

    assert refloop.run(main()) == [
        "<TLSStream peer='' tls server>",
        "<TLSStream peer='' tls client of 'localhost'>",
        "<TLSStream peer='closed' tls client of 'localhost'>",
    ]


@pytest.mark.spec("tls.unwrap")
def test_unwrap_of_a_closed_stream_names_it(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> str:
        server, client = await both(pair, server_ctx, client_ctx)
        server.close()
        with pytest.raises(ClosedError) as info:
            await server.unwrap()
        client.close()
        return str(info.value)

    assert refloop.run(main()) == (
        "unwrap() on <TLSStream peer='closed' tls server>, which is closed"
    )


@pytest.mark.spec("tls.unwrap", "tls.close", "tls.eof")
def test_unwrap_sends_close_notify_and_waits_for_the_peers(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # The peer, which is not unwrapping, sees our close_notify as its end of
    # stream; our unwrap() ends only when its close_notify comes back.
    async def main() -> list[object]:
        server, client = await both(pair, server_ctx, client_ctx)
        unwrapping = refloop.spawn(client.unwrap())
        with refloop.timeout(5):
            eof = await server.receive_some()
        await refloop.yield_now()
        waiting = not unwrapping.done()
        with refloop.timeout(5):
            plain_server = await server.unwrap()
            plain_client = await unwrapping.join()
        await plain_server.send_all(b"plain\n")
        line = await plain_client.readline()
        plain_server.close()
        plain_client.close()
        return [eof, waiting, line]

    assert refloop.run(main()) == [b"", True, b"plain\n"]


@pytest.mark.spec("tls.unwrap", "stream.keeps-bytes")
def test_unwrap_hands_on_the_line_limit_and_every_byte_received(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # Bytes that came inside TLS and were not read yet, then the plain bytes
    # that followed the close_notify: the plain stream holds both, in order.
    async def main() -> list[object]:
        mine = Stream(pair[0], max_line=10)
        server, client = await both((mine, pair[1]), server_ctx, client_ctx)
        await client.send_all(b"line\nsec")
        assert await server.readline() == b"line\n"  # b"sec" stays buffered
        unwrapping = refloop.spawn(client.unwrap())
        plain_server = await server.unwrap()
        plain_client = await unwrapping.join()
        await plain_client.send_all(b"-pl\n")
        got: list[object] = [plain_server.max_line, await plain_server.readline()]
        plain_server.close()
        plain_client.close()
        return got

    assert refloop.run(main()) == [10, b"sec-pl\n"]


class GatedSocket(socket.socket):
    """A real socket whose `send` stops taking bytes when `room` runs out
    (as tests/test_tls_flush.py's)."""

    room: int | None = None

    def send(self, data: Any, flags: int = 0) -> int:
        if self.room is None:
            return super().send(data, flags)
        if self.room == 0:
            raise BlockingIOError("the gate is shut")
        count = super().send(memoryview(data)[: self.room], flags)
        self.room -= count
        return count


@pytest.fixture(scope="module")
def asking_server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    """A server that asks for the client's certificate after the handshake:
    the client's SSLObject then writes its answer while it reads."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(ctx)
    ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.post_handshake_auth = True
    return ctx


@pytest.fixture(scope="module")
def answering_client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    ca.issue_cert("client.example").configure_cert(ctx)
    ctx.post_handshake_auth = True
    return ctx


@pytest.mark.spec("tls.send.flushed", "tls.flush.cancel")
def test_a_send_cancelled_while_a_receive_flushes_leaves_no_trace(
    pair: Any,
    asking_server_ctx: ssl.SSLContext,
    answering_client_ctx: ssl.SSLContext,
) -> None:
    # The client's reader is stopped inside the flush of its answer to the
    # certificate request (the socket full); a send waits for that flush and
    # is cancelled there. When the flush ends, the reader goes on; the
    # cancelled send's record, written before it waited, goes out whole with
    # that flush (tls.flush.cancel), and the session holds.
    a, b = pair
    gated = GatedSocket(b.family, b.type, b.proto, fileno=b.detach())
    gated.setblocking(False)

    async def main() -> list[object]:
        server, client = await both((a, gated), asking_server_ctx, answering_client_ctx)
        server.ssl_object.verify_client_post_handshake()
        await server.send_all(b"ping\n")
        assert await client.readline() == b"ping\n"  # the answer is made
        gated.room = 0
        reader = refloop.spawn(client.readline())
        for _ in range(3):
            await refloop.yield_now()
        sender = refloop.spawn(client.send_all(b"never\n"))
        for _ in range(3):
            await refloop.yield_now()
        assert not reader.done() and not sender.done()
        sender.cancel()
        for _ in range(3):
            await refloop.yield_now()
        got: list[object] = [sender.cancelled()]
        gated.room = None
        await server.send_all(b"pong\n")
        with refloop.timeout(5):
            got.append(await reader.join())
            await client.send_all(b"after\n")
            got.append(await server.readline())
            got.append(await server.readline())
        server.close()
        client.close()
        return got

    try:
        assert refloop.run(main()) == [True, b"pong\n", b"never\n", b"after\n"]
    finally:
        gated.close()
