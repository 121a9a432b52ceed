"""TLS streams over loopback, with certificates made by trustme at test time
(spec: tls.*, serve.tls)."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from _helpers import open_fds

import refloop
from refloop import HandshakeError, Stream, TLSStream


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_ctx(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
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
    pair: tuple[socket.socket, socket.socket],
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    hostname: str = "localhost",
) -> tuple[TLSStream, TLSStream]:
    server = refloop.spawn(refloop.wrap_tls(pair[0], server_ctx, server_side=True))
    client = await refloop.wrap_tls(pair[1], client_ctx, server_hostname=hostname)
    return await server.join(), client


async def echo(stream: Stream) -> None:
    while line := await stream.readline():
        await stream.send_all(line)


async def start(handler: Any, **kwargs: Any) -> tuple[refloop.Task[None], int]:
    listeners: list[socket.socket] = []
    server = refloop.spawn(
        refloop.serve_tcp(handler, "127.0.0.1", 0, started=listeners.extend, **kwargs)
    )
    while not listeners:
        await refloop.sleep(0.001)
    return server, listeners[0].getsockname()[1]


async def stop(server: refloop.Task[None]) -> None:
    server.cancel()
    with pytest.raises(refloop.Cancelled):
        await server.join()


@pytest.mark.spec("tls.verify", "serve.tls", "stream.until")
def test_a_tls_echo_server_and_client(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[Any]:
        server, port = await start(echo, ssl_context=server_ctx, max_line=400_000)
        s = await refloop.open_tls_connection(
            "localhost", port, ssl_context=client_ctx, max_line=400_000
        )
        await s.send_all(b"secret\n" + b"x" * 300_000 + b"\n")
        got = [await s.readline(), len(await s.readline(max_line=400_000))]
        got.append(s.ssl_object.version())
        got.append("tls client of 'localhost'" in repr(s))
        await s.aclose()
        await stop(server)
        return got

    assert refloop.run(main()) == [b"secret\n", 300_001, "TLSv1.3", True]


@pytest.mark.spec("tls.sni")
def test_the_server_hostname_is_sent_as_sni(
    ca: trustme.CA, client_ctx: ssl.SSLContext, pair: Any
) -> None:
    seen: list[str | None] = []
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("chat.example").configure_cert(ctx)
    ctx.sni_callback = lambda obj, name, c: seen.append(name)  # type: ignore[assignment,misc]

    async def main() -> str | None:
        server, client = await both(pair, ctx, client_ctx, "chat.example")
        name = client.ssl_object.server_hostname
        server.close()
        client.close()
        return name

    assert refloop.run(main()) == "chat.example"
    assert seen == ["chat.example"]


@pytest.mark.spec("tls.verify", "tls.handshake.fails")
def test_verification_is_on_by_default(server_ctx: ssl.SSLContext) -> None:
    async def main() -> HandshakeError:
        before = open_fds()
        server, port = await start(echo, ssl_context=server_ctx)
        with pytest.raises(HandshakeError) as info:
            await refloop.open_tls_connection("localhost", port)
        await stop(server)
        assert open_fds() == before
        return info.value

    err = refloop.run(main())
    assert "did not verify for 'localhost'" in str(err)
    assert "load_verify_locations" in str(err)
    assert isinstance(err.__cause__, ssl.SSLCertVerificationError)


@pytest.mark.spec("tls.handshake.fails", "tls.sni")
def test_a_wrong_hostname_fails_the_handshake(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> str:
        server, port = await start(echo, ssl_context=server_ctx)
        with pytest.raises(HandshakeError) as info:
            await refloop.open_tls_connection(
                "127.0.0.1",
                port,
                ssl_context=client_ctx,
                server_hostname="other.example",
            )
        await stop(server)
        return str(info.value)

    message = refloop.run(main())
    assert "did not verify for 'other.example'" in message
    assert "Hostname mismatch" in message


async def plain_server(reply: bytes | None) -> tuple[refloop.Task[None], int]:
    """A server without TLS: it answers `reply` to anything, or closes."""

    async def handler(stream: Stream) -> None:
        if reply is not None:
            await stream.receive_some()
            await stream.send_all(reply)
            await stream.receive_some()

    return await start(handler)


@pytest.mark.spec("tls.handshake.fails")
@pytest.mark.parametrize(
    ("reply", "complaint"),
    [
        (b"HTTP/1.0 400 Bad Request\r\n\r\n", "does it speak TLS on this port"),
        (None, "closed the connection during the TLS handshake"),
    ],
)
def test_a_handshake_against_a_plain_server(
    client_ctx: ssl.SSLContext, reply: bytes | None, complaint: str
) -> None:
    async def main() -> str:
        before = open_fds()
        server, port = await plain_server(reply)
        with pytest.raises(HandshakeError) as info:
            await refloop.open_tls_connection("localhost", port, ssl_context=client_ctx)
        await stop(server)
        assert open_fds() == before
        return str(info.value)

    message = refloop.run(main())
    assert complaint in message and "127.0.0.1" in message


@pytest.mark.spec("tls.handshake.fails")
def test_a_handshake_timeout_closes_the_socket(client_ctx: ssl.SSLContext) -> None:
    async def silent(stream: Stream) -> None:
        await stream.receive_some()
        await refloop.sleep(60)

    async def main() -> list[refloop.Waiter]:
        before = open_fds()
        server, port = await start(silent)
        with pytest.raises(TimeoutError), refloop.timeout(0.1):
            await refloop.open_tls_connection("localhost", port, ssl_context=client_ctx)
        await stop(server)
        assert open_fds() == before
        return refloop.current_loop().waiters()

    assert refloop.run(main()) == []


@pytest.mark.spec("serve.tls")
def test_a_tls_server_drops_plain_and_silent_clients_and_goes_on(
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> bytes:
        server, port = await start(echo, ssl_context=server_ctx, handshake_timeout=0.1)
        plain = await refloop.open_tcp_connection("127.0.0.1", port)
        await plain.send_all(b"GET / HTTP/1.0\r\n\r\n")
        assert await plain.receive_some() in (b"", b"\x15\x03\x03\x00\x02\x02\x32")
        silent = await refloop.open_tcp_connection("127.0.0.1", port)
        assert await silent.receive_some() == b""  # dropped after 0.1 s
        good = await refloop.open_tls_connection(
            "localhost", port, ssl_context=client_ctx
        )
        await good.send_all(b"still here\n")
        line = await good.readline()
        for s in (plain, silent, good):
            s.close()
        await stop(server)
        return line

    with caplog.at_level(logging.WARNING, logger="refloop.serve"):
        assert refloop.run(main()) == b"still here\n"
    messages = [r.getMessage() for r in caplog.records if r.name == "refloop.serve"]
    assert len(messages) == 2
    assert all("TLS handshake with ('127.0.0.1'" in m for m in messages)


@pytest.mark.spec("tls.eof", "tls.close")
def test_close_sends_close_notify_and_a_bare_eof_is_an_error(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[Any]:
        got: list[Any] = []
        for polite in (True, False):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            server, client = await both((a, b), server_ctx, client_ctx)
            # The client reads what the server sent (TLS 1.3 session tickets
            # among it): closing with unread input would reset the connection
            # (io.close.keeps-sent).
            await server.send_all(b"hi\n")
            assert await client.readline() == b"hi\n"
            if polite:
                client.close()
            else:
                refloop.close(client.socket)  # TCP EOF, no close_notify
            try:
                got.append(await server.receive_some())
            except ssl.SSLEOFError:
                got.append("SSLEOFError")
            server.close()
        return got

    assert refloop.run(main()) == [b"", "SSLEOFError"]


@pytest.mark.spec("tls.unwrap", "tls.close")
def test_unwrap_hands_back_a_plain_stream(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[bytes]:
        server, client = await both(pair, server_ctx, client_ctx)
        await client.send_all(b"inside\n")
        assert await server.readline() == b"inside\n"
        unwrapping = refloop.spawn(server.unwrap())
        plain_client = await client.unwrap()
        plain_server = await unwrapping.join()
        await plain_client.send_all(b"outside\n")
        line = await plain_server.readline()
        with pytest.raises(refloop.ClosedError):
            await client.receive_some()
        plain_server.close()
        plain_client.close()
        return [line]

    assert refloop.run(main()) == [b"outside\n"]


@pytest.mark.spec("tls.unwrap")
def test_unwrap_while_a_task_reads_is_refused(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> str:
        server, client = await both(pair, server_ctx, client_ctx)
        reading = refloop.spawn(server.readline())
        await refloop.yield_now()
        with pytest.raises(refloop.BusyError) as info:
            await server.unwrap()
        await client.send_all(b"ok\n")
        assert await reading.join() == b"ok\n"
        server.close()
        client.close()
        return str(info.value)

    assert "while a task uses it" in refloop.run(main())


@pytest.mark.spec("tls.verify")
def test_bad_tls_arguments_are_refused_before_anything_is_sent(
    pair: Any, client_ctx: ssl.SSLContext
) -> None:
    async def main() -> list[str]:
        messages = []
        for call, kind in (
            (refloop.wrap_tls(pair[0], server_side=True), ValueError),
            (refloop.wrap_tls(pair[0], client_ctx), ValueError),
            (refloop.wrap_tls(pair[0], "ctx", server_hostname="x"), TypeError),  # type: ignore[arg-type]
        ):
            with pytest.raises(kind) as info:
                await call
            messages.append(str(info.value))
        return messages

    messages = refloop.run(main())
    assert "load_cert_chain" in messages[0]
    assert "server_hostname=" in messages[1]
    assert "SSLContext" in messages[2]
    assert pair[0].fileno() >= 0  # refused: the socket is untouched


@pytest.mark.spec("tls.handshake.fails")
def test_a_plain_stream_keeps_its_buffered_bytes_into_tls(
    pair: Any, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> None:
    """STARTTLS: the client's first TLS record may already sit in the plain
    stream's buffer when the server switches."""

    async def main() -> bytes:
        plain = Stream(pair[0])

        async def server_side() -> bytes:
            assert await plain.readline() == b"STARTTLS\n"
            tls = await refloop.wrap_tls(plain, server_ctx, server_side=True)
            line = await tls.readline()
            tls.close()
            return line

        serving = refloop.spawn(server_side())
        await refloop.sendall(pair[1], b"STARTTLS\n")
        client = await refloop.wrap_tls(
            pair[1], client_ctx, server_hostname="localhost"
        )
        await client.send_all(b"hello\n")
        line = await serving.join()
        client.close()
        assert plain.closed
        return line

    assert refloop.run(main()) == b"hello\n"
