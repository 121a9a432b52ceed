"""A request to a service whose reply comes back over a socket.

The reply is written one loop turn after the request, so the caller waits
on the socket's readiness: how long that takes is the network's timing,
which the explorer decides (a poll, or a few polls held back)."""

import asyncio
import socket


async def network_call(reply: bytes = b"ok") -> bytes:
    loop = asyncio.get_running_loop()
    mine, theirs = socket.socketpair()
    mine.setblocking(False)
    try:
        loop.call_soon(theirs.send, reply)
        return await loop.sock_recv(mine, 100)
    finally:
        mine.close()
        theirs.close()
