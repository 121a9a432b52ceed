"""A graceful shutdown that misses a request in flight (over a socket).

The server counts a connection as active only once it has read the request;
shutdown, 50 ms in, waits for the active ones and closes the database. When
the request's bytes arrive late, shutdown sees nothing active, closes the
database, and the request is then served against a closed database."""

import asyncio
import socket


async def run(register_early: bool) -> None:
    active: set[asyncio.Task[None]] = set()
    state = {"db": "open"}
    client_sock, server_sock = socket.socketpair()
    server_r, server_w = await asyncio.open_connection(sock=server_sock)
    _client_r, client_w = await asyncio.open_connection(sock=client_sock)

    async def handle() -> None:
        me = asyncio.current_task()
        assert me is not None
        if register_early:
            active.add(me)
        line = await server_r.readline()
        active.add(me)
        await asyncio.sleep(0.01)  # the query
        assert state["db"] == "open", f"served {line!r} with the database closed"
        server_w.write(b"ok\n")
        active.discard(me)

    async def shutdown() -> None:
        await asyncio.sleep(0.05)
        await asyncio.gather(*active)
        state["db"] = "closed"

    handler = asyncio.create_task(handle())
    client_w.write(b"GET /\n")
    await asyncio.gather(shutdown(), handler)
    for w in (client_w, server_w):
        w.close()


async def buggy() -> None:
    await run(register_early=False)


async def fixed() -> None:
    await run(register_early=True)
