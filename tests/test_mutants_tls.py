"""TLS streams, as mutation testing found them under-tested
(docs/mutation.md, refloop/_tls.py): the repr and the refusals word for
word, what unwrap() exchanges with the peer and what it hands on (the line
limit, the bytes already received), a send cancelled while it waits for
another task's flush, a close_notify after our own, and each handshake
failure explained."""

from __future__ import annotations

import socket
import ssl
import struct
import time
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


@pytest.mark.spec("tls.verify")
def test_bad_tls_arguments_are_refused_word_for_word(
    pair: Any, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[str]:
        messages = []
        for call in (
            refloop.wrap_tls(pair[0], server_side=True),
            refloop.wrap_tls(pair[0], client_ctx),
            refloop.wrap_tls(pair[0], "ctx", server_hostname="x"),  # type: ignore[arg-type]
        ):
            with pytest.raises((ValueError, TypeError)) as info:
                await call
            messages.append(str(info.value))
        return messages

    assert refloop.run(main()) == [
        "a TLS server needs a context with its certificate: "
        "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) and load_cert_chain()",
        "wrap_tls() needs server_hostname=... to verify the server's "
        "certificate (or a context with check_hostname=False)",
        "wrap_tls() needs an ssl.SSLContext, got 'ctx'",
    ]
    assert pair[0].fileno() >= 0


@pytest.mark.spec("tls.unwrap", "stream.closed")
def test_wrap_tls_refuses_a_stream_in_use_closed_or_already_tls(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    mine, _ = pair

    async def main() -> list[object]:
        plain = Stream(mine)
        got: list[object] = []
        # A task sending (none receiving): the stream is in use.
        sending = refloop.spawn(plain.send_all(b"y" * 10_000_000))
        await refloop.yield_now()
        with pytest.raises(refloop.BusyError) as busy:
            await refloop.wrap_tls(plain, client_ctx, server_hostname="localhost")
        got += [str(busy.value), plain.closed]
        plain.close()
        with pytest.raises(ClosedError):
            await sending.join()
        with pytest.raises(ClosedError) as closed:
            await refloop.wrap_tls(plain, client_ctx, server_hostname="localhost")
        got.append(str(closed.value))
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        server, client = await both((a, b), server_ctx, client_ctx)
        with pytest.raises(TypeError) as tls:
            await refloop.wrap_tls(server, server_ctx, server_side=True)
        got.append(str(tls.value))
        server.close()
        client.close()
        return got

    assert refloop.run(main()) == [
        "wrap_tls() on <Stream peer=''> while a task uses it",
        False,
        "wrap_tls() on <Stream peer='closed'>, which is closed",
        "<TLSStream peer='' tls server> already speaks TLS",
    ]


@pytest.mark.spec("tls.handshake.fails", "tls.verify")
def test_a_certificate_for_another_name_is_explained(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> refloop.HandshakeError:
        serving = refloop.spawn(refloop.wrap_tls(pair[0], server_ctx, server_side=True))
        with pytest.raises(refloop.HandshakeError) as info:
            await refloop.wrap_tls(pair[1], client_ctx, server_hostname="other.example")
        with pytest.raises(refloop.HandshakeError):
            await serving.join()
        return info.value

    err = refloop.run(main())
    cause = err.__cause__
    assert isinstance(cause, ssl.SSLCertVerificationError)
    assert str(err) == (
        f"the certificate of '' did not verify for 'other.example': "
        f"{cause.verify_message}; trust its CA in the context "
        "(context.load_verify_locations) or connect with the name it carries"
    )


@pytest.mark.spec("tls.handshake.fails")
def test_a_peer_that_closes_or_speaks_plain_text_is_explained(
    client_ctx: ssl.SSLContext,
) -> None:
    async def handshake(reply: bytes | None) -> refloop.HandshakeError:
        a, b = socket.socketpair()
        a.setblocking(False)
        with b:
            if reply is None:
                b.shutdown(socket.SHUT_WR)  # an end of stream, nothing else
            else:
                b.sendall(reply)
            with pytest.raises(refloop.HandshakeError) as info:
                await refloop.wrap_tls(a, client_ctx, server_hostname="localhost")
        assert a.fileno() == -1
        return info.value

    async def main() -> list[refloop.HandshakeError]:
        return [
            await handshake(None),
            await handshake(b"HTTP/1.0 400 Bad Request\r\n\r\n"),
        ]

    closed, plain = refloop.run(main())
    assert str(closed) == (
        "'' closed the connection during the TLS handshake: does it speak TLS "
        "on this port?"
    )
    cause = plain.__cause__
    assert isinstance(cause, ssl.SSLError) and cause.reason
    assert str(plain) == (
        f"TLS handshake with '' failed ({cause.reason}): does it speak TLS on "
        "this port, with a protocol version the context allows?"
    )


@pytest.mark.spec("tls.handshake.fails")
def test_a_socket_closed_under_the_handshake_is_explained(
    client_ctx: ssl.SSLContext,
) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)

    async def main() -> refloop.HandshakeError:
        shaking = refloop.spawn(
            refloop.wrap_tls(a, client_ctx, server_hostname="localhost")
        )
        await refloop.yield_now()
        refloop.close(a)
        with pytest.raises(refloop.HandshakeError) as info:
            await shaking.join()
        return info.value

    with b:
        err = refloop.run(main())
    assert isinstance(err.__cause__, ClosedError)
    assert str(err) == f"TLS handshake with '' failed: {err.__cause__}"


@pytest.mark.spec("tls.verify")
def test_open_tls_connection_passes_its_connection_options_on(
    monkeypatch: pytest.MonkeyPatch, client_ctx: ssl.SSLContext
) -> None:
    import refloop._tls

    seen: list[object] = []

    async def fake(host: str, port: int, **kwargs: object) -> Stream:
        seen.append((host, port, kwargs))
        raise ConnectionRefusedError("no")

    monkeypatch.setattr(refloop._tls, "open_tcp_connection", fake)

    async def main() -> None:
        for kwargs in ({}, {"happy_eyeballs_delay": None, "max_line": 7}):
            with pytest.raises(ConnectionRefusedError):
                await refloop.open_tls_connection(
                    "localhost", 1, ssl_context=client_ctx, **kwargs
                )

    refloop.run(main())
    assert seen == [
        ("localhost", 1, {"happy_eyeballs_delay": 0.25, "max_line": 64 * 1024}),
        ("localhost", 1, {"happy_eyeballs_delay": None, "max_line": 7}),
    ]


@pytest.mark.spec("tls.eof")
def test_a_close_notify_after_our_own_is_the_end_of_stream(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    # Our close_notify sent by hand (ssl_object.unwrap()), then the peer's:
    # the ssl module says SSLZeroReturnError there, which is b"" too.
    async def main() -> list[bytes]:
        server, client = await both(pair, server_ctx, client_ctx)
        with pytest.raises(ssl.SSLWantReadError):
            client.ssl_object.unwrap()
        reading = refloop.spawn(client.receive_some())  # flushes ours
        got = [await server.receive_some()]
        server.close()
        with refloop.timeout(5):
            got.append(await reading.join())
        got.append(await client.receive_some())
        client.close()
        return got

    assert refloop.run(main()) == [b"", b"", b""]


@pytest.mark.spec("tls.handshake.fails")
def test_a_handshake_on_a_reset_connection_names_the_socket(
    client_ctx: ssl.SSLContext,
) -> None:
    # The peer reset the connection before the handshake: the socket has no
    # peer name any more, so the explanation names the socket itself.
    with socket.create_server(("127.0.0.1", 0)) as server:
        mine = socket.create_connection(server.getsockname())
        theirs, _ = server.accept()
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    theirs.close()  # linger 0: a reset
    time.sleep(0.05)  # which arrives
    mine.setblocking(False)
    with pytest.raises(OSError):
        mine.getpeername()
    described = repr(mine)

    async def main() -> refloop.HandshakeError:
        with pytest.raises(refloop.HandshakeError) as info:
            await refloop.wrap_tls(mine, client_ctx, server_hostname="localhost")
        return info.value

    err = refloop.run(main())
    assert isinstance(err.__cause__, ConnectionError)
    assert str(err) == f"TLS handshake with {described} failed: {err.__cause__}"
    assert mine.fileno() == -1
