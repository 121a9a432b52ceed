"""The seed's example: a client sends two messages to a server over TCP."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ._framing import recv_message, send_message
from ._loop import Loop
from ._ops import accept, close, connect
from ._spawn import spawn

__all__ = ["demo"]

MESSAGES: list[object] = [[0, "héllo"], [42, "world"]]


async def _server(listener: socket.socket, say: Callable[[str], None]) -> list[object]:
    conn, _ = await accept(listener)
    received = []
    try:
        for _ in MESSAGES:
            message = await recv_message(conn)
            say(f"server received {message!r}")
            received.append(message)
    finally:
        close(conn)
    return received


async def _client(address: tuple[str, int]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await connect(sock, address)
        for message in MESSAGES:
            await send_message(sock, message)
    finally:
        close(sock)


async def _main(say: Callable[[str], None]) -> list[object]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setblocking(False)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = listener.getsockname()
        say(f"server listening on {address[0]}:{address[1]}")
        server = spawn(_server(listener, say), name="server")
        client = spawn(_client(address), name="client")
        await client.join()
        return await server.join()
    finally:
        close(listener)


def demo(say: Callable[[str], None] = print) -> list[object]:
    """Run the demo in a fresh loop; return the messages the server read."""
    loop = Loop()
    try:
        return loop.run(_main(say))
    finally:
        loop.close()
