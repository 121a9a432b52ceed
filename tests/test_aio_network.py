"""asyncio's sockets, transports, streams, TLS, UDP, subprocesses and signals
over loopback, on refloop.aio (inherited code on refloop's primitives)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import sys
import threading

import pytest

import refloop
import refloop.aio

run = refloop.aio.run


@pytest.mark.spec("aio.watch.remove")
def test_sock_coroutines_over_loopback() -> None:
    async def main() -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        client = socket.socket()
        client.setblocking(False)
        with listener, client:
            accepting = asyncio.ensure_future(loop.sock_accept(listener))
            await loop.sock_connect(client, listener.getsockname())
            conn, _ = await accepting
            with conn:
                conn.setblocking(False)
                big = os.urandom(1 << 20)
                sender = asyncio.ensure_future(loop.sock_sendall(client, big))
                got = bytearray()
                while len(got) < len(big):
                    got += await loop.sock_recv(conn, 65536)
                await sender
                buffer = bytearray(5)
                await loop.sock_sendall(conn, b"hello")
                n = await loop.sock_recv_into(client, buffer)
                assert loop._core.watchers() == []  # every sock_* cleaned up
                return (bytes(got) == big and b"ok") or b"bad", bytes(buffer[:n])

    assert run(main()) == (b"ok", b"hello")


def test_getaddrinfo_and_getnameinfo() -> None:
    async def main() -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        host, _ = await loop.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST)
        return infos[0][4][1], host

    assert run(main()) == (80, "127.0.0.1")


@pytest.mark.spec("aio.watch.level")
def test_streams_echo_readline_readexactly_drain() -> None:
    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        line = await reader.readline()
        block = await reader.readexactly(100_000)
        writer.write(line.upper() + block)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main() -> tuple[bytes, bool]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            block = os.urandom(100_000)
            writer.write(b"hello\n" + block)
            await writer.drain()
            line = await reader.readline()
            echoed = await reader.readexactly(100_000)
            assert await reader.read() == b""
            writer.close()
            await writer.wait_closed()
        return line, echoed == block

    assert run(main()) == (b"HELLO\n", True)


def test_protocols_create_connection_and_create_server() -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)  # type: ignore[attr-defined]

    class Client(asyncio.Protocol):
        def __init__(self, done: asyncio.Future[bytes]) -> None:
            self.done = done
            self.got = b""

        def data_received(self, data: bytes) -> None:
            self.got += data
            if len(self.got) >= 5:
                self.done.set_result(self.got)

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        done: asyncio.Future[bytes] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: Client(done), "127.0.0.1", port
        )
        transport.write(b"ping!")
        got = await done
        transport.close()
        server.close()
        await server.wait_closed()
        return got

    assert run(main()) == b"ping!"


def test_tls_with_trustme_certificates() -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write((await reader.readline())[::-1])
        await writer.drain()
        writer.close()

    async def main() -> bytes:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_ctx, server_hostname="localhost"
            )
            writer.write(b"secret\n")
            got = await reader.read()
            writer.close()
            await writer.wait_closed()
            return got

    assert run(main()) == b"\nterces"


def test_udp_datagram_endpoint() -> None:
    class EchoUDP(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: object) -> None:
            self.transport.sendto(data * 2, addr)  # type: ignore[attr-defined]

    class Client(asyncio.DatagramProtocol):
        def __init__(self, done: asyncio.Future[bytes]) -> None:
            self.done = done

        def datagram_received(self, data: bytes, addr: object) -> None:
            self.done.set_result(data)

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(
            EchoUDP, local_addr=("127.0.0.1", 0)
        )
        addr = server.get_extra_info("sockname")
        done: asyncio.Future[bytes] = loop.create_future()
        client, _ = await loop.create_datagram_endpoint(
            lambda: Client(done), remote_addr=addr
        )
        client.sendto(b"ab")
        got = await asyncio.wait_for(done, 5)
        client.close()
        server.close()
        return got

    assert run(main()) == b"abab"


def test_subprocess_exec_and_shell() -> None:
    async def main() -> tuple[bytes, int, bytes]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate(b"shout")
        shell = await asyncio.create_subprocess_shell(
            "echo hi; exit 3", stdout=asyncio.subprocess.PIPE
        )
        shell_out, _ = await shell.communicate()
        return out, await shell.wait(), shell_out

    assert run(main()) == (b"SHOUT", 3, b"hi\n")


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="main thread only"
)
@pytest.mark.spec("aio.signals")
def test_add_signal_handler() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        assert loop._ssock is None  # type: ignore[attr-defined]
        got: asyncio.Future[str] = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "usr1")
        loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
        try:
            return await asyncio.wait_for(got, 5)
        finally:
            assert loop.remove_signal_handler(signal.SIGUSR1)

    assert run(main()) == "usr1"


@pytest.mark.spec("aio.native", "aio.watch.exclusive")
def test_a_native_task_and_an_asyncio_task_talk_over_a_socketpair() -> None:
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)

        async def native_echo() -> int:
            count = 0
            while True:
                data = await refloop.recv(a, 100)
                if not data:
                    return count
                count += 1
                await refloop.sendall(a, data.upper())

        task = loop.spawn(native_echo())  # type: ignore[attr-defined]
        replies = []
        for word in (b"one", b"two", b"three"):
            await loop.sock_sendall(b, word)
            replies.append(await loop.sock_recv(b, 100))
        b.shutdown(socket.SHUT_WR)
        replies.append(str(await loop.join(task)).encode())  # type: ignore[attr-defined]
        a.close()
        b.close()
        return replies

    assert run(main()) == [b"ONE", b"TWO", b"THREE", b"3"]
